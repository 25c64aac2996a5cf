// The scenario (test/scenario/scenario.ts) on the FreeRTOS simulator: the
// real FreeRTOS kernel (V11.2.0, POSIX port) as a Linux process, the agent
// under WAMR inside a FreeRTOS task, over real UDP on [::1] in real time
// against the simulated NMS. Same configuration text, same prepared state
// directory and the same steps as the Node and WAMR hosts, all of them: host
// events and configuration updates through the simulator's --event-file
// (csmp_freertos_host_event / csmp_freertos_config_update), the restart as a
// new process, and the firmware load through the simulator's boot loader
// (pal/freertos/sim/slots.c) at the agent's reboot.
import { existsSync } from "node:fs";
import { freertosDevices } from "./scenario/freertos-device.ts";
import { defineScenario } from "./scenario/scenario.ts";
import { AGENT_WASM } from "./scenario/wamr-device.ts";
import { buildCHost } from "./support/c-host.ts";

defineScenario("FreeRTOS simulator (POSIX port)", () => {
  if (!existsSync(AGENT_WASM)) throw new Error(`${AGENT_WASM} is missing: run npm run build first`);
  buildCHost("the FreeRTOS simulator", "build-freertos.mjs");
  return freertosDevices();
});
