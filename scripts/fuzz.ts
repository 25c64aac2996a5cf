// npm run fuzz -- --count N [--seed S] [--episode E] [--out DIR] [--no-save] [--paths] [--trace]
// A long fuzzing campaign against build/agent.wasm (see host/fuzz/). Every
// failing input is saved under test/fuzz-regressions/ (or --out), where
// test/fuzz.test.ts replays it on every test run. Exit code 1 on failures.
// --paths lists the distinct agent log lines the inputs caused (numbers
// masked): a rough picture of which code paths the campaign reached.
import { readFileSync, writeSync } from "node:fs";
import { compileAgent } from "../host/agent.ts";
import { runCampaign, type Step } from "../host/fuzz/campaign.ts";
import { saveRegression } from "../host/fuzz/regressions.ts";
import { loadVectors } from "../host/fuzz/vectors.ts";
import type { LogEntry } from "../host/log.ts";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const count = Number(option("count", "10000"));
const seed = Number(option("seed", String(Date.now() % 1_000_000)));
const episode = Number(option("episode", "250"));
const out = option("out", "test/fuzz-regressions");
const save = !process.argv.includes("--no-save");
// --trace: every step on stderr before it runs (synchronously, so a hang shows its input).
const onStep = process.argv.includes("--trace")
  ? (step: Step, i: number) => { writeSync(2, `${i} ${step.atMs} ${step.to} ${step.from}:${step.srcPort} ${step.note} ${step.hex}\n`); }
  : undefined;
const paths = new Map<string, number>();
const onLog = process.argv.includes("--paths")
  ? (e: LogEntry) => { if (e.source === "agent") { const k = e.text.replace(/\d+/g, "#"); paths.set(k, (paths.get(k) ?? 0) + 1); } }
  : undefined;
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed) || !Number.isInteger(episode) || episode < 1) {
  console.error("usage: npm run fuzz -- --count N [--seed S] [--episode E] [--out DIR] [--no-save]");
  process.exit(2);
}

const wasm = compileAgent(readFileSync(process.env.AGENT_WASM ?? "build/agent.wasm"));
const vectors = loadVectors();
console.log(`fuzzing build/agent.wasm: ${count} inputs, seed ${seed}, ${vectors.captured.length} captured datagrams, images ${vectors.images ? "yes" : "no"}`);
const t0 = performance.now();
let lastReport = t0;
const result = runCampaign({
  wasm, seed, count, episode, images: vectors.images, captured: vectors.captured, maxFailures: 50, onLog, onStep,
  progress: (done, failures) => {
    if (performance.now() - lastReport < 5000) return;
    lastReport = performance.now();
    console.log(`  ${done} inputs, ${failures} failures, ${Math.round(done / ((lastReport - t0) / 1000))} inputs/s`);
  },
});
const s = (performance.now() - t0) / 1000;
console.log(`${result.inputs} inputs in ${s.toFixed(1)} s (${Math.round(result.inputs / s)}/s); ${result.stateChanges} changed device state; ${result.failures.length} failures`);
for (const [kind, n] of Object.entries(result.kinds).sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(7)}  ${kind}`);
if (onLog) {
  console.log(`${paths.size} distinct agent log lines:`);
  for (const [line, n] of [...paths].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(7)}  ${line}`);
}
for (const f of result.failures) {
  console.log(`FAIL input ${f.index} (seed ${f.seed}, ${f.steps.length} step(s) to reproduce):`);
  for (const v of f.violations) console.log(`  - ${v}`);
  console.log(`  last step: ${f.steps[f.steps.length - 1].note ?? ""}`);
  if (save) console.log(`  saved ${saveRegression(out, f, vectors.images !== undefined)}`);
}
process.exit(result.failures.length ? 1 : 0);
