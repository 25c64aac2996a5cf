// Bench section: the 30-day soak (host/netsim/soak.ts) once, with its
// figures: wall time for a virtual month, and the agent's memory and timers
// at the end of it (they must equal day 2's; test/soak.test.ts asserts that).
import { readFileSync } from "node:fs";
import { compileAgent } from "../../host/agent.ts";
import { runSoak } from "../../host/netsim/soak.ts";
import type { AddFigure } from "../bench.ts";

const VECTORS = new URL("../../../shared/vectors/", import.meta.url).pathname;

export async function run(add: AddFigure): Promise<void> {
  const r = await runSoak({
    wasm: compileAgent(readFileSync(process.env.AGENT_WASM ?? "build/agent.wasm")), days: 30, seed: 30,
    running: readFileSync(`${VECTORS}opencsmp-node-6.8-sample-image.bin`),
    upload: readFileSync(`${VECTORS}opencsmp-node-6.9-sample-image.bin`),
  });
  const last = r.samples[r.samples.length - 1];
  add("soak: 30 virtual days (registration, 15-min metrics, hourly GET, firmware), wall", Math.round(r.wallMs / 100) / 10, "s");
  add("soak: linear memory after 30 days", last.memory, "bytes");
  add("soak: high-water mark after 30 days (highest non-zero byte)", last.highWater, "bytes");
  add("soak: high-water mark growth, day 2 to day 30", last.highWater - r.samples[1].highWater, "bytes");
  add("soak: armed timers after 30 days", last.timers, "count");
}
