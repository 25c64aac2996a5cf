// npm run build: generate the TLV codec tables from proto/, compile the agent
// (release and test targets) and print the module size against its budget.
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { generate } from "./gen-tlv-codec.mjs";

const BUDGET = 32 * 1024;

generate();
function run(cmd, args, opts) {
  try { execFileSync(cmd, args, opts); } catch { console.error(`build failed: ${cmd} ${args.join(" ")}`); process.exit(1); }
}
const entries = { release: "assembly/index.ts", test: "assembly/test-entry.ts" };
for (const [target, entry] of Object.entries(entries)) {
  run("npx", ["asc", entry, "--config", "asconfig.json", "--target", target,
    // A("...") texts become counted ASCII bytes (see the transform).
    "--transform", new URL("./ascii-transform.mjs", import.meta.url).pathname], { stdio: "inherit" });
}
const size = statSync("build/agent.wasm").size;
console.log(`build/agent.wasm: ${size} bytes (budget ${BUDGET}, ${size <= BUDGET ? "within" : "OVER"} budget)`);
