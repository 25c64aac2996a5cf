// Thirty days of one device's life in virtual time (host/netsim/soak.ts):
// registration, metrics (ReportSubscribe every 15 min plus an hourly
// heartbeat), the NMS polling it with a GET every hour, and one firmware
// transfer. The agent runs on static memory only, so nothing may creep: the
// linear memory size, the highest byte ever written in it (the high-water
// mark) and the number of armed timers must be the same on day 30 as on day 2.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { compileAgent } from "../host/agent.ts";
import { runSoak } from "../host/netsim/soak.ts";

const WASM = compileAgent(readFileSync(process.env.AGENT_WASM ?? "build/agent.wasm"));
const VECTORS = new URL("../../shared/vectors/", import.meta.url).pathname;
const DAYS = 30;

describe("soak: 30 days in virtual time", () => {
  it("registration, 15-minute metrics, hourly polling and a firmware transfer leave memory and timers flat", async () => {
    const r = await runSoak({
      wasm: WASM, days: DAYS, seed: 30,
      running: readFileSync(`${VECTORS}opencsmp-node-6.8-sample-image.bin`),
      upload: readFileSync(`${VECTORS}opencsmp-node-6.9-sample-image.bin`),
    });
    const first = r.samples[1], last = r.samples[r.samples.length - 1];
    console.log(`soak: ${DAYS} days in ${(r.wallMs / 1000).toFixed(1)} s wall; ${r.polls} polls, ${r.reports} reports, ${r.heartbeats} heartbeats, boots ${r.boots}`);
    console.log(`soak: linear memory ${first.memory} -> ${last.memory} bytes; high-water mark ${first.highWater} -> ${last.highWater} bytes; ` +
      `armed timers ${first.timers} -> ${last.timers}; host clock callbacks ${first.clockCallbacks} -> ${last.clockCallbacks}`);
    console.log(`soak: daily high-water marks ${r.samples.map((s) => s.highWater).join(" ")}`);
    console.log(`soak: daily armed timers ${r.samples.map((s) => s.timers).join(" ")}`);

    expect(r.transferVerified).toBe(true);
    // Flat from day 2 on: one page, the same highest byte, the same timers, no host-side pile-up.
    for (const s of r.samples.slice(1)) {
      expect(s.memory).toBe(65536);
      expect(s.highWater, `day ${s.day}`).toBe(first.highWater);
      expect(s.timers, `day ${s.day}`).toBe(first.timers);
      expect(s.clockCallbacks, `day ${s.day}`).toBeLessThanOrEqual(first.clockCallbacks + 2);
    }
    expect(r.boots).toBe(1);
    expect(r.fatal).toBeNull();
    // 96 reports and 24 heartbeats a day, on jittered periods; 24 polls a day.
    expect(r.polls).toBe(24 * DAYS);
    expect(r.reports).toBeGreaterThanOrEqual(0.95 * 96 * DAYS);
    expect(r.heartbeats).toBeGreaterThanOrEqual(0.95 * 24 * DAYS);
    expect(r.wallMs).toBeLessThan(60_000);
  });
});
