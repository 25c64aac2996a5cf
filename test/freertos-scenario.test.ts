// The scenario (test/scenario/scenario.ts) on the FreeRTOS simulator: the
// real FreeRTOS kernel (V11.2.0, POSIX port) as a Linux process, the agent
// under WAMR inside a FreeRTOS task, over real UDP on [::1] in real time
// against the simulated NMS. Same configuration text, same prepared state
// directory and the same step functions as the Node and WAMR hosts; this
// runs the registration + configuration + metrics + GET part (firstStepsOnly:
// the rest of the scenario needs host events and configuration updates,
// which the simulator cannot deliver yet; see test/scenario/freertos-device.ts).
import { existsSync } from "node:fs";
import { freertosDevices } from "./scenario/freertos-device.ts";
import { defineScenario } from "./scenario/scenario.ts";
import { AGENT_WASM } from "./scenario/wamr-device.ts";
import { buildCHost } from "./support/c-host.ts";

defineScenario("FreeRTOS simulator (POSIX port)", () => {
  if (!existsSync(AGENT_WASM)) throw new Error(`${AGENT_WASM} is missing: run npm run build first`);
  buildCHost("the FreeRTOS simulator", "build-freertos.mjs");
  return freertosDevices();
}, { firstStepsOnly: true });
