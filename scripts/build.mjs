// npm run build: generate the TLV codec tables from proto/, compile the agent
// (release and test targets) and print the module size against its budget.
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { generate } from "./gen-tlv-codec.mjs";

const BUDGET = 32 * 1024;

generate();
for (const target of ["release", "test"]) {
  execFileSync("npx", ["asc", "--config", "asconfig.json", "--target", target], { stdio: "inherit" });
}
const size = statSync("build/agent.wasm").size;
console.log(`build/agent.wasm: ${size} bytes (budget ${BUDGET}, ${size <= BUDGET ? "within" : "OVER"} budget)`);
