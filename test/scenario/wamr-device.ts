// The scenario's device as a csmp-agent process (the POSIX WAMR host, pal/;
// the process lifecycle is process-device.ts's). Host events and
// configuration updates go in the host's way: a line in the --event-file,
// then SIGUSR1 (pal/posix/events.c); the host logs the outcome with source
// "events".
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
  protected readonly events = { path: join(this.setup.root, "events"), signal: "SIGUSR1", source: "events" } as const;

  constructor(setup: DeviceSetup, private readonly o: WamrDeviceOptions) {
    super(setup, / host: agent started$/gm, o.startTimeoutMs ?? 10_000, STOP_GRACE_MS);
  }

  protected command() {
    return { binary: this.o.binary ?? CSMP_AGENT, args: [...this.commonArgs(AGENT_WASM), "--event-file", this.events.path], env: this.o.env };
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
