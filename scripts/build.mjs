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
// asc's own binaryen pipeline stops at -O3 with shrinking; a final size pass
// (-Oz to a fixed point) takes about 1 % more off the release module. Only the
// features WAMR's interpreter runs are enabled, so the pass cannot add others.
const FEATURES = ["--mvp-features", "--enable-bulk-memory", "--enable-sign-ext",
  "--enable-nontrapping-float-to-int", "--enable-mutable-globals"];
run("npx", ["wasm-opt", "build/agent.wasm", "-Oz", "--converge", ...FEATURES, "-o", "build/agent.wasm"], { stdio: "inherit" });
run("npx", ["wasm-dis", "build/agent.wasm", ...FEATURES, "-o", "build/agent.wat"], { stdio: "inherit" });
const size = statSync("build/agent.wasm").size;
console.log(`build/agent.wasm: ${size} bytes (budget ${BUDGET}, ${size <= BUDGET ? "within" : "OVER"} budget)`);
