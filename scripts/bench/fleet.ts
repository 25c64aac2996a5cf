// Bench section: a fleet of 10,000 agents in this one process (one compiled
// module, one instance and one 64 KiB page each) registering with one
// simulated NMS over the LoopNetwork in virtual time. Figures: memory per
// agent (process RSS growth / N, and its linear memory), agents per GiB, and
// datagrams per second through the whole stack (agent, host PAL, switch,
// NMS codec) during the registration storm. The NMS answers unsigned so the
// figure measures the stack, not the Node host's BigInt P-256 verify (about
// 4 ms per registration; FLEET_SIGNED=1 includes it). FLEET_N overrides N.
import { readFileSync } from "node:fs";
import { compileAgent } from "../../host/agent.ts";
import { Fleet } from "../../host/netsim/fleet.ts";
import type { AddFigure } from "../bench.ts";

const GIB = 1024 ** 3;

export async function run(add: AddFigure): Promise<void> {
  const n = Number(process.env.FLEET_N ?? 10_000);
  const signed = process.env.FLEET_SIGNED === "1";
  const wasm = compileAgent(readFileSync(process.env.AGENT_WASM ?? "build/agent.wasm"));
  const label = `fleet of ${n}${signed ? ", signed" : ""}`;

  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const fleet = new Fleet({ wasm, n, seed: 10_000, signed });
  fleet.boot();
  const t1 = performance.now();
  const sent0 = fleet.net.stats.sent;
  const done = fleet.runUntilRegistered(3 * 3600_000);
  const t2 = performance.now();
  const rss1 = process.memoryUsage().rss;
  if (!done) throw new Error(`fleet bench: only ${fleet.registered.size} of ${n} registered`);
  if (fleet.unhealthy()) throw new Error(`fleet bench: ${fleet.unhealthy()} agents died or restarted`);

  const perAgent = (rss1 - rss0) / n;
  const datagrams = fleet.net.stats.sent - sent0;
  add(`${label}: boot time per agent`, Math.round(((t1 - t0) * 1000) / n), "µs");
  add(`${label}: registration storm, wall`, Math.round((t2 - t1) / 100) / 10, "s");
  add(`${label}: datagrams per second (registration storm)`, Math.round(datagrams / ((t2 - t1) / 1000)), "datagrams/s");
  add(`${label}: memory per agent (process RSS growth / N)`, Math.round(perAgent), "bytes");
  add(`${label}: linear memory per agent`, fleet.linearMemory() / n, "bytes");
  add(`${label}: agents per GiB (by RSS growth)`, Math.floor(GIB / perAgent), "agents");
  fleet.stop();
}
