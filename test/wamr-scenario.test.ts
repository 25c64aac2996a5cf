// The scenario (test/scenario/scenario.ts) against the POSIX WAMR host: the
// csmp-agent process over real UDP on [::1] in real time, with the same
// assertions as the Node host's run (test/scenario/node-host.test.ts).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { defineScenario } from "./scenario/scenario.ts";
import { ROOT, wamrDevices } from "./scenario/wamr-device.ts";

defineScenario("WAMR POSIX host", () => {
  try {
    execFileSync(process.execPath, [join(ROOT, "scripts", "build-pal.mjs")], { cwd: ROOT, stdio: "pipe" });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the C host failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
  return wamrDevices();
});
