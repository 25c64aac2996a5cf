// The scenario's device as a csmp-agent process (the POSIX WAMR host, pal/;
// the process lifecycle is process-device.ts's). Host events and
// configuration updates go in the host's way: a line in the --event-file,
// then SIGUSR1 (pal/posix/events.c).
import { appendFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CSMP_AGENT, ROOT } from "../support/c-host.ts";
import type { DeviceFactory, DeviceHandle, DeviceSetup } from "./device.ts";
import { ProcessDevice, type ProcessDeviceHandle } from "./process-device.ts";

export { ROOT };
/** The module both hosts run; AGENT_WASM overrides it, as for test/support/testbed.ts. */
export const AGENT_WASM = resolve(process.env.AGENT_WASM ?? join(ROOT, "build", "agent.wasm"));

export interface WamrDeviceOptions {
  /** The csmp-agent binary (default pal/out/csmp-agent). */
  binary?: string;
  /** Extra environment (sanitizer options). */
  env?: Record<string, string>;
  /** How long a start may take, ms (sanitizer builds are slower). */
  startTimeoutMs?: number;
}

const STOP_GRACE_MS = 10_000;

class WamrDevice extends ProcessDevice {
  readonly hostName = "WAMR POSIX host";
  private readonly eventPath: string;

  constructor(setup: DeviceSetup, private readonly o: WamrDeviceOptions) {
    super(setup, / host: agent started$/gm, o.startTimeoutMs ?? 10_000, STOP_GRACE_MS);
    this.eventPath = join(setup.root, "events");
  }

  protected command() {
    return { binary: this.o.binary ?? CSMP_AGENT, args: [...this.commonArgs(AGENT_WASM), "--event-file", this.eventPath], env: this.o.env };
  }

  /** The host's way (pal/posix/events.c): a line in the event file, then SIGUSR1; resolves once it was handled. */
  private async signalLine(line: string, handled: string, applied: string): Promise<void> {
    if (!this.proc) throw new Error("csmp-agent is not running");
    const seen = this.stderr.length;
    appendFileSync(this.eventPath, `${line}\n`);
    this.proc.kill("SIGUSR1");
    const end = Date.now() + 5_000;
    while (!this.stderr.slice(seen).includes(handled)) {
      if (Date.now() > end || !this.proc) throw new Error(`"${line}" not handled within 5 s:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!this.stderr.slice(seen).includes(applied)) throw new Error(`the agent refused "${line}":\n${this.log()}`);
  }

  raiseEvent(code: number, relatedTlv: number): Promise<void> {
    return this.signalLine(`${code} ${relatedTlv}`, `events: host event ${code}`, `events: host event ${code} raised`);
  }

  async updateConfig(lines: string): Promise<void> {
    for (const line of lines.split("\n").filter((l) => l !== "")) {
      await this.signalLine(line, `events: configuration update ${line}`, `events: configuration update ${line} applied`);
    }
  }
}

/** Devices run as csmp-agent processes; build the binary before using it. */
export function wamrDevices(o: WamrDeviceOptions = {}): DeviceFactory {
  return async (setup) => {
    const device = new WamrDevice(setup, o);
    await device.start();
    return device;
  };
}

/** The process handle type, for tests that inspect finished runs. */
export function asWamr(device: DeviceHandle): ProcessDeviceHandle {
  if (!("runs" in device)) throw new Error(`${device.hostName} is not a csmp-agent process`);
  return device as ProcessDeviceHandle;
}
