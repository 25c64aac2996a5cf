// The scenario's device as the FreeRTOS simulator (pal/freertos/sim): the
// real FreeRTOS kernel on its POSIX port as a Linux process, the agent under
// WAMR in a FreeRTOS task, UDP on [::1] and the state directory through the
// simulator's vendor hooks. Same configuration text and prepared state
// directory (slot-0.bin = the 6.8 sample image) as the other hosts. A
// restart is a power cycle: SIGTERM, then a new process over the same state
// directory and port.
//
// The simulator has no channel for host events or configuration updates yet
// (its main.c takes no event file, and the FreeRTOS PAL drops host events
// until pal/wamr/agent.c provides csmp_agent_event), so raiseEvent() and
// updateConfig() reject with a message saying so.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DeviceFactory, DeviceHandle, DeviceSetup } from "./device.ts";
import { AGENT_WASM, ROOT } from "./wamr-device.ts";

export const FREERTOS_SIM = join(ROOT, "pal", "freertos", "out", "csmp-agent-freertos");

export interface FreertosDeviceOptions {
  /** The simulator binary (default pal/freertos/out/csmp-agent-freertos). */
  binary?: string;
  /** How long a start may take, ms. */
  startTimeoutMs?: number;
}

/** One finished simulator process: how it ended and what it logged. */
export interface FreertosRun {
  exit: number | string;
  log: string;
}

const STOP_GRACE_MS = 5_000;
/** One line per agent instance (pal/freertos/agent_task.c), first boot and every in-place restart. */
const STARTED = / pal: agent started$/gm;

class FreertosDevice implements DeviceHandle {
  readonly hostName = "FreeRTOS simulator (POSIX port)";
  readonly address = "::1";
  port = 0;
  readonly runs: FreertosRun[] = [];
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** stderr and stdout of the running process, in arrival order. */
  private output = "";
  private earlierLog = "";
  private earlierBoots = 0;
  private readonly configPath: string;

  constructor(private readonly setup: DeviceSetup, private readonly o: FreertosDeviceOptions) {
    this.configPath = join(setup.root, "device.conf");
    writeFileSync(this.configPath, setup.config);
  }

  get eui64(): string {
    return this.setup.eui64;
  }

  boots(): number {
    return this.earlierBoots + (this.output.match(STARTED)?.length ?? 0);
  }

  log(): string {
    return this.earlierLog + this.output;
  }

  /** Spawns the simulator and resolves once it listens and the agent has started. */
  start(): Promise<void> {
    const args = ["--module", AGENT_WASM, "--config", this.configPath, "--bind", this.address,
      "--port", String(this.port), "--state", this.setup.stateDir, "--trust-system-time"];
    const proc = spawn(this.o.binary ?? FREERTOS_SIM, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    this.output = "";
    this.exited = new Promise((done) => proc.on("exit", (code, signal) => {
      this.runs.push({ exit: code ?? signal ?? -1, log: this.output });
      this.proc = null;
      done();
    }));
    const timeoutMs = this.o.startTimeoutMs ?? 15_000;
    return new Promise((started, failed) => {
      const timer = setTimeout(() => failed(new Error(`the FreeRTOS simulator did not start within ${timeoutMs} ms:\n${this.log()}`)), timeoutMs);
      const onData = (b: Buffer) => {
        this.output += b.toString("utf8");
        const listening = this.output.match(/net: listening on \[::1\]:(\d+)/);
        if (listening && this.output.match(STARTED)) {
          clearTimeout(timer);
          this.port = Number(listening[1]);
          started();
        }
      };
      proc.stderr!.on("data", onData);
      proc.stdout!.on("data", onData);
      void this.exited.then(() => {
        clearTimeout(timer);
        failed(new Error(`the FreeRTOS simulator exited before its agent started:\n${this.log()}`));
      });
    });
  }

  raiseEvent(code: number): Promise<void> {
    return Promise.reject(new Error(`${this.hostName}: no host event channel (event ${code}); see freertos-device.ts`));
  }

  updateConfig(): Promise<void> {
    return Promise.reject(new Error(`${this.hostName}: no configuration update channel; see freertos-device.ts`));
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc) {
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
      await this.exited;
      clearTimeout(killer);
    }
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.earlierBoots = this.boots();
    this.earlierLog = this.log();
    this.output = "";
    await this.start();
  }
}

/** Devices run as FreeRTOS simulator processes; build it (scripts/build-freertos.mjs) before using it. */
export function freertosDevices(o: FreertosDeviceOptions = {}): DeviceFactory {
  return async (setup) => {
    const device = new FreertosDevice(setup, o);
    await device.start();
    return device;
  };
}
