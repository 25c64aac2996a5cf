// The scenario's device as the FreeRTOS simulator (pal/freertos/sim): the
// real FreeRTOS kernel on its POSIX port as a Linux process, the agent under
// WAMR in a FreeRTOS task, UDP on [::1] and the state directory through the
// simulator's vendor hooks (the process lifecycle is process-device.ts's).
// Same configuration text and prepared state directory (slot-0.bin = the
// 6.8 sample image) as the other hosts.
//
// Host events and configuration updates go in as on the WAMR host, a line in
// the --event-file and a signal, but the signal is SIGUSR2: the kernel's
// POSIX port keeps SIGUSR1 (pal/freertos/sim/events.c). The simulator hands
// each line to the PAL (csmp_freertos_host_event,
// csmp_freertos_config_update) and the agent task logs the outcome, with
// source "pal".
import { join } from "node:path";
import { FREERTOS_SIM } from "../support/c-host.ts";
import type { DeviceFactory, DeviceSetup } from "./device.ts";
import { ProcessDevice } from "./process-device.ts";
import { AGENT_WASM } from "./wamr-device.ts";

export interface FreertosDeviceOptions {
  /** The simulator binary (default pal/freertos/out/csmp-agent-freertos). */
  binary?: string;
  /** How long a start may take, ms. */
  startTimeoutMs?: number;
}

const STOP_GRACE_MS = 5_000;
/** One line per agent instance (pal/freertos/agent_task.c), first boot and every in-place restart. */
const STARTED = / pal: agent started$/gm;

class FreertosDevice extends ProcessDevice {
  readonly hostName = "FreeRTOS simulator (POSIX port)";
  protected readonly events = { path: join(this.setup.root, "events"), signal: "SIGUSR2", source: "pal" } as const;

  constructor(setup: DeviceSetup, private readonly o: FreertosDeviceOptions) {
    super(setup, STARTED, o.startTimeoutMs ?? 15_000, STOP_GRACE_MS);
  }

  protected command() {
    return { binary: this.o.binary ?? FREERTOS_SIM, args: [...this.commonArgs(AGENT_WASM), "--event-file", this.events.path] };
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
