// The scenario's device in the Node host (host/agent.ts AgentHost): real UDP
// on [::1] (UdpNetwork), real time (RealClock, trusting the system clock as
// the WAMR host's --trust-system-time does) and the state directory through
// FileStorage, so it starts from the same files as the csmp-agent process.
// A restart stops the AgentHost and boots a new one over the same directory
// and socket, as the process restart does with its port.
import { readFileSync } from "node:fs";
import { AgentHost, compileAgent } from "../../host/agent.ts";
import { RealClock } from "../../host/clock.ts";
import { FileStorage } from "../../host/file-storage.ts";
import { formatLogLine, type LogEntry } from "../../host/log.ts";
import type { Endpoint } from "../../host/network.ts";
import { systemRandom } from "../../host/random.ts";
import { UdpNetwork } from "../../host/udp-network.ts";
import type { DeviceFactory, DeviceHandle, DeviceSetup } from "./device.ts";
import { AGENT_WASM } from "./wamr-device.ts";

class NodeDevice implements DeviceHandle {
  readonly hostName = "Node host";
  readonly address = "::1";
  private readonly clock = new RealClock({ trustSystemTime: true });
  private readonly lines: string[] = [];
  private host: AgentHost | null = null;
  private bootCount = 0;

  constructor(private readonly setup: DeviceSetup, private readonly endpoint: Endpoint, private readonly wasm: WebAssembly.Module) {}

  get eui64(): string {
    return this.setup.eui64;
  }

  get port(): number {
    return this.endpoint.port;
  }

  boots(): number {
    return this.bootCount;
  }

  log(): string {
    return this.lines.join("\n");
  }

  start(): void {
    const host = new AgentHost({
      wasm: this.wasm,
      config: this.setup.config,
      clock: this.clock,
      storage: new FileStorage(this.setup.stateDir),
      endpoint: this.endpoint,
      random: systemRandom,
      log: (e: LogEntry) => { this.lines.push(formatLogLine(e)); },
      onEvent: (e) => { if (e.kind === "started") this.bootCount++; },
    });
    host.start();
    this.host = host;
  }

  private agentHost(): AgentHost {
    if (!this.host) throw new Error("no agent running");
    return this.host;
  }

  async raiseEvent(code: number, relatedTlv: number): Promise<void> {
    const rc = this.agentHost().raiseEvent(code, relatedTlv);
    if (rc !== 0) throw new Error(`agent_event(${code}, ${relatedTlv}) returned ${rc}`);
  }

  async updateConfig(lines: string): Promise<void> {
    const rc = this.agentHost().updateConfig(lines);
    if (rc !== 0) throw new Error(`agent_config_update returned ${rc}:\n${this.log()}`);
  }

  /** Ends the agent instance; the socket stays for the next boot. */
  private halt(): void {
    this.host?.stop();
    this.host = null;
  }

  async restart(): Promise<void> {
    this.halt();
    this.start();
  }

  /** Stops the agent and releases the socket and timers. */
  async stop(): Promise<void> {
    this.halt();
    await this.endpoint.close();
    this.clock.cancelAll();
  }
}

/** Devices run in this process as AgentHosts on a real [::1] socket. */
export function nodeDevices(): DeviceFactory {
  const wasm = compileAgent(readFileSync(AGENT_WASM));
  return async (setup: DeviceSetup) => {
    const device = new NodeDevice(setup, await new UdpNetwork().bind("::1", 0), wasm);
    device.start();
    return device;
  };
}
