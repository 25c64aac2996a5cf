// A thousand agents in one process against one simulated NMS, on one
// LoopNetwork and one virtual clock, sharing one compiled module: the
// registration storm of a fleet powering up at once completes, every device
// registered, none died, each still on its single 64 KiB page.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { compileAgent } from "../host/agent.ts";
import { Fleet } from "../host/netsim/fleet.ts";

const WASM = compileAgent(readFileSync(process.env.AGENT_WASM ?? "build/agent.wasm"));
const N = 1000;
const H = 3600_000;

describe(`fleet of ${N} agents`, () => {
  it("the registration storm completes: every device registered with signed answers", () => {
    const t0 = performance.now();
    const fleet = new Fleet({ wasm: WASM, n: N, seed: 1000 });
    fleet.boot();
    const booted = performance.now();
    // Devices wait a random lead-in of up to tIntervalMin (300 s) before their first POST /r.
    const done = fleet.runUntilRegistered(H);
    const t1 = performance.now();
    const virtualS = fleet.clock.nowMs() / 1000;
    console.log(`fleet: ${N} agents booted in ${((booted - t0) / 1000).toFixed(1)} s, registered in ${virtualS.toFixed(0)} s virtual / ${((t1 - booted) / 1000).toFixed(1)} s wall; ` +
      `${fleet.net.stats.sent} datagrams (${Math.round(fleet.net.stats.sent / ((t1 - booted) / 1000))}/s); warnings ${JSON.stringify([...fleet.warnings])}`);
    expect(done, `${fleet.registered.size} of ${N} registered`).toBe(true);
    expect(fleet.unhealthy()).toBe(0);
    expect(fleet.linearMemory()).toBe(N * 65536);
    expect(fleet.nms.devices.filter((d) => d.registered)).toHaveLength(N);
    fleet.stop();
    expect(t1 - t0).toBeLessThan(60_000);
  });
});
