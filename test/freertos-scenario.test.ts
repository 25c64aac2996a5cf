// The scenario (test/scenario/scenario.ts) on the FreeRTOS simulator: the
// real FreeRTOS kernel (V11.2.0, POSIX port) as a Linux process, the agent
// under WAMR inside a FreeRTOS task, over real UDP on [::1] in real time
// against the simulated NMS. Same configuration text, same prepared state
// directory and the same step functions as the Node and WAMR hosts; this
// runs the registration + configuration + metrics + GET part. (The rest of
// the scenario needs host events and configuration updates, which the
// simulator cannot deliver yet: see test/scenario/freertos-device.ts.)
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { IMAGE_68, prepareDeviceDir, scenarioConfig, type DeviceHandle } from "./scenario/device.ts";
import { freertosDevices } from "./scenario/freertos-device.ts";
import { answersCoapClient, getsConfigured, registers, reportsMetrics, startNms, type ScenarioNms } from "./scenario/scenario.ts";
import { AGENT_WASM, ROOT } from "./scenario/wamr-device.ts";

describe("scenario on the FreeRTOS simulator (POSIX port)", () => {
  let s: ScenarioNms;
  let d: DeviceHandle;
  let root = "";

  beforeAll(async () => {
    if (!existsSync(AGENT_WASM)) throw new Error(`${AGENT_WASM} is missing: run npm run build first`);
    try {
      execFileSync(process.execPath, [join(ROOT, "scripts", "build-freertos.mjs")], { cwd: ROOT, stdio: "pipe" });
    } catch (e) {
      const err = e as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`building the FreeRTOS simulator failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
    }
    s = await startNms();
    // The same device as defineScenario() sets up for the other hosts.
    const eui64 = "00173BAB5C000001";
    const dir = prepareDeviceDir(readFileSync(IMAGE_68));
    root = dir.root;
    d = await freertosDevices()({ eui64, root, stateDir: dir.stateDir,
      config: scenarioConfig(eui64, { address: s.address, port: s.port, publicKeyHex: s.nms.publicKeyHex }) });
  }, 600_000); // includes building the simulator from scratch

  afterAll(async () => {
    await d?.stop();
    await s?.close();
    // CSMP_SCENARIO_LOG=1 shows what the device logged, passing or not.
    if (d && process.env.CSMP_SCENARIO_LOG) console.log(`---- ${d.hostName} log ----\n${d.log()}`);
    if (root) rmSync(root, { recursive: true, force: true });
  }, 30_000);

  it("registers with the simulated NMS (signed 2.03)", () => registers(s, d));
  it("gets configured by a signed POST ReportSubscribe", () => getsConfigured(s, d));
  it("reports its metrics every 2 s", () => reportsMetrics(s, d));
  it("answers GET /c?q=11 from coap-client-notls", () => answersCoapClient(s, d, root));
});
