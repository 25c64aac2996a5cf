import { describe, expect, it } from "vitest";
import { RealClock, VirtualClock } from "../host/clock.ts";

describe("VirtualClock", () => {
  it("moves only when advanced", () => {
    const c = new VirtualClock();
    expect(c.nowMs()).toBe(0);
    let fired = 0;
    c.schedule(100, () => fired++);
    expect(fired).toBe(0);
    c.advance(99);
    expect(fired).toBe(0);
    expect(c.nowMs()).toBe(99);
    c.advance(1);
    expect(fired).toBe(1);
    expect(c.nowMs()).toBe(100);
  });

  it("fires in due order, ties in scheduling order, each at its own time", () => {
    const c = new VirtualClock();
    const seen: string[] = [];
    c.schedule(30, () => seen.push(`c@${c.nowMs()}`));
    c.schedule(10, () => seen.push(`a@${c.nowMs()}`));
    c.schedule(20, () => seen.push(`b1@${c.nowMs()}`));
    c.schedule(20, () => seen.push(`b2@${c.nowMs()}`));
    c.advance(1000);
    expect(seen).toEqual(["a@10", "b1@20", "b2@20", "c@30"]);
    expect(c.nowMs()).toBe(1000);
  });

  it("fires callbacks scheduled during advance when they fall inside the window", () => {
    const c = new VirtualClock();
    const seen: number[] = [];
    c.schedule(10, () => {
      seen.push(c.nowMs());
      c.schedule(0, () => seen.push(c.nowMs())); // zero delay: same instant
      c.schedule(50, () => seen.push(c.nowMs())); // inside the window
      c.schedule(500, () => seen.push(c.nowMs())); // beyond it
    });
    c.advance(100);
    expect(seen).toEqual([10, 10, 60]);
    expect(c.pending()).toBe(1);
    c.advance(410);
    expect(seen).toEqual([10, 10, 60, 510]);
  });

  it("cancels, and ignores unknown handles", () => {
    const c = new VirtualClock();
    let fired = 0;
    const h = c.schedule(5, () => fired++);
    c.cancel(h);
    c.cancel(h);
    c.cancel(12345);
    c.advance(10);
    expect(fired).toBe(0);
  });

  it("runUntil stops as soon as the predicate holds", () => {
    const c = new VirtualClock();
    let n = 0;
    const tick = () => { n++; c.schedule(1000, tick); };
    c.schedule(1000, tick);
    expect(c.runUntil(() => n === 5, 60_000)).toBe(true);
    expect(c.nowMs()).toBe(5000);
    expect(c.runUntil(() => n === 1000, 10_000)).toBe(false);
    expect(c.nowMs()).toBe(15_000);
    expect(n).toBe(15);
  });

  it("runUntil checks the predicate before moving", () => {
    const c = new VirtualClock();
    c.schedule(1, () => { throw new Error("must not fire"); });
    expect(c.runUntil(() => true, 100)).toBe(true);
    expect(c.nowMs()).toBe(0);
  });

  it("runs hours of timers in milliseconds, deterministically", () => {
    const run = () => {
      const c = new VirtualClock();
      const log: number[] = [];
      // A registration-like back-off: 300 s doubling to 3600 s.
      let interval = 300_000;
      const attempt = () => {
        log.push(c.nowMs());
        interval = Math.min(interval * 2, 3_600_000);
        c.schedule(interval, attempt);
      };
      c.schedule(interval, attempt);
      const started = performance.now();
      c.advance(48 * 3_600_000);
      return { log, wallMs: performance.now() - started };
    };
    const a = run(), b = run();
    expect(a.log).toEqual(b.log);
    expect(a.log.slice(0, 4)).toEqual([300_000, 900_000, 2_100_000, 4_500_000]);
    expect(a.log.length).toBeGreaterThan(45);
    expect(a.wallMs).toBeLessThan(1000);
  });

  it("keeps wall time unsynchronised until set, then follows monotonic time", () => {
    const c = new VirtualClock({ wallStartMs: Date.UTC(2030, 0, 1) });
    expect(c.isWallTimeSynchronised()).toBe(false);
    expect(c.wallTimeMs()).toBe(Date.UTC(2030, 0, 1));
    c.advance(5000);
    c.setWallTimeMs(1_700_000_000_000);
    expect(c.isWallTimeSynchronised()).toBe(true);
    c.advance(2500);
    expect(c.wallTimeMs()).toBe(1_700_000_002_500);
    expect(c.nowMs()).toBe(7500);
  });

  it("leaves the clock at the failing callback's time when one throws", () => {
    const c = new VirtualClock();
    c.schedule(10, () => { throw new Error("boom"); });
    c.schedule(20, () => undefined);
    expect(() => c.advance(100)).toThrow("boom");
    expect(c.nowMs()).toBe(10);
    expect(c.pending()).toBe(1);
  });

  it("rejects negative advances", () => {
    expect(() => new VirtualClock().advance(-1)).toThrow(RangeError);
  });
});

describe("RealClock", () => {
  it("is monotonic and fires one-shot callbacks", async () => {
    const c = new RealClock();
    const t0 = c.nowMs();
    const firedAt = await new Promise<number>((resolve) => c.schedule(20, () => resolve(c.nowMs())));
    expect(firedAt - t0).toBeGreaterThanOrEqual(19);
    expect(c.pending()).toBe(0);
  });

  it("cancels", async () => {
    const c = new RealClock();
    let fired = false;
    const h = c.schedule(10, () => { fired = true; });
    c.cancel(h);
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(false);
  });

  it("starts untrusted unless asked, and keeps a set wall time", () => {
    const c = new RealClock();
    expect(c.isWallTimeSynchronised()).toBe(false);
    expect(Math.abs(c.wallTimeMs() - Date.now())).toBeLessThan(50);
    c.setWallTimeMs(1_000_000_000_000);
    expect(c.isWallTimeSynchronised()).toBe(true);
    expect(c.wallTimeMs() - 1_000_000_000_000).toBeLessThan(50);
    expect(new RealClock({ trustSystemTime: true }).isWallTimeSynchronised()).toBe(true);
  });

  it("accepts delays beyond setTimeout's 32-bit limit", () => {
    const c = new RealClock();
    const h = c.schedule(2 ** 32 - 1, () => { throw new Error("must not fire"); });
    expect(c.pending()).toBe(1);
    c.cancel(h);
    expect(c.pending()).toBe(0);
  });
});
