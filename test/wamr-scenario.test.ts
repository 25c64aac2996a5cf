// The scenario (test/scenario/scenario.ts) against the POSIX WAMR host: the
// csmp-agent process over real UDP on [::1] in real time, with the same
// assertions as the Node host's run (test/scenario/node-host.test.ts).
import { defineScenario } from "./scenario/scenario.ts";
import { wamrDevices } from "./scenario/wamr-device.ts";
import { buildCHost } from "./support/c-host.ts";

defineScenario("WAMR POSIX host", () => {
  buildCHost("the C host", "build-pal.mjs");
  return wamrDevices();
});
