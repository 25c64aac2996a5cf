// The scenario (scenario.ts) on the Node host: AgentHost over real UDP on
// [::1] in real time. test/wamr-scenario.test.ts runs the same steps against
// the csmp-agent process.
import { defineScenario } from "./scenario.ts";
import { nodeDevices } from "./node-device.ts";

defineScenario("Node host", () => nodeDevices());
