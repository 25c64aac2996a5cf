import { describe, expect, it } from "vitest";
import { RealClock, VirtualClock } from "../host/clock.ts";
import { formatAddress, parseAddress } from "../host/ipv6.ts";
import { LoopNetwork } from "../host/loop-network.ts";
import type { Datagram } from "../host/network.ts";
import { AgentFatal, createPal } from "../host/pal.ts";
import { MemoryStorage } from "../host/storage.ts";

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

// The PAL's timers and clocks ride on the Clock; so does the in-process network.

function palOnVirtualTime() {
  const clock = new VirtualClock();
  const net = new LoopNetwork({ clock, latencyMs: 5 });
  const endpoint = net.bindSync("2001:db8::1", 61628);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const fired: [number, number][] = [];
  const logs: string[] = [];
  const sent: Datagram[] = [];
  const binding = createPal({
    clock, storage: new MemoryStorage(), endpoint,
    log: (e) => logs.push(`${e.source}: ${e.text}`),
    onSend: (d) => sent.push(d),
  });
  binding.setInstance({ memory, agent_timer: (id) => fired.push([id, clock.nowMs()]) });
  return { clock, net, endpoint, memory, pal: binding.imports, binding, fired, logs, sent };
}

describe("PAL timers and time on a VirtualClock", () => {
  it("fires agent_timer(id) after ms; re-arming restarts; cancel stops", () => {
    const t = palOnVirtualTime();
    t.pal.timer_arm(3, 1000);
    t.pal.timer_arm(7, 500);
    t.clock.advance(400);
    t.pal.timer_arm(7, 500); // restarts: now due at 900
    t.pal.timer_arm(15, 100);
    t.pal.timer_cancel(15);
    t.pal.timer_cancel(9); // not armed: fine
    expect(t.binding.armedTimers()).toEqual([3, 7]);
    t.clock.advance(2000);
    expect(t.fired).toEqual([[7, 900], [3, 1000]]);
    expect(t.binding.armedTimers()).toEqual([]);
  });

  it("ms 0 fires at the next turn of the clock, not inside the call", () => {
    const t = palOnVirtualTime();
    t.pal.timer_arm(0, 0);
    expect(t.fired).toEqual([]);
    t.clock.advance(0);
    expect(t.fired).toEqual([[0, 0]]);
  });

  it("treats ms as unsigned 32-bit and ignores ids outside 0..15", () => {
    const t = palOnVirtualTime();
    t.pal.timer_arm(1, -1); // 0xffffffff as the agent's u32
    t.pal.timer_arm(16, 10);
    t.pal.timer_arm(-1, 10);
    t.clock.advance(2 ** 32 - 2);
    expect(t.fired).toEqual([]);
    t.clock.advance(1);
    expect(t.fired).toEqual([[1, 2 ** 32 - 1]]);
    expect(t.logs.filter((l) => l.includes("outside 0..15"))).toHaveLength(2);
  });

  it("stops every timer at shutdown", () => {
    const t = palOnVirtualTime();
    t.pal.timer_arm(2, 10);
    t.binding.shutdown();
    t.pal.timer_arm(3, 10); // a dead instance cannot arm more
    t.clock.advance(100);
    expect(t.fired).toEqual([]);
  });

  it("reports monotonic ms as i64 and wall time as -1 until set", () => {
    const t = palOnVirtualTime();
    t.clock.advance(1234);
    expect(t.pal.clock_ms()).toBe(1234n);
    expect(t.pal.wall_time()).toBe(-1n);
    expect(t.pal.wall_time_set(1_700_000_000n)).toBe(0);
    t.clock.advance(5000);
    expect(t.pal.wall_time()).toBe(1_700_000_005n);
    expect(t.pal.wall_time_set(-5n)).toBeLessThan(0);
    expect(t.pal.wall_time()).toBe(1_700_000_005n);
  });

  it("logs agent lines with their level, and fatal records then unwinds", () => {
    const t = palOnVirtualTime();
    const mem = new Uint8Array(t.memory.buffer);
    mem.set(new TextEncoder().encode("registration sent"), 100);
    t.pal.log(2, 100, 17);
    expect(t.logs).toContain("agent: registration sent");
    mem.set(new TextEncoder().encode("out of memory"), 200);
    expect(() => t.pal.fatal(200, 13, 42, 7)).toThrow(AgentFatal);
    expect(t.binding.lastFatal?.reason).toBe("out of memory");
    expect(t.binding.lastFatal?.line).toBe(42);
  });

  it("refuses reboot without a host that can restart (returns), unwinds when accepted", () => {
    const t = palOnVirtualTime();
    expect(() => t.pal.reboot(2)).not.toThrow();
    const clock = new VirtualClock();
    const reasons: number[] = [];
    const accepted = createPal({
      clock, storage: new MemoryStorage(), endpoint: new LoopNetwork({ clock }).bindSync("::1", 1), log: () => undefined,
      onReboot: (r) => { reasons.push(r); return true; },
    });
    expect(() => accepted.imports.reboot(5)).toThrow(/reboot/);
    expect(reasons).toEqual([5]);
  });
});

describe("LoopNetwork on virtual time", () => {
  const addr = (t: string) => parseAddress(t)!;

  it("delivers udp_send after the link latency, with source and destination", () => {
    const t = palOnVirtualTime();
    const nms = t.net.bindSync("2001:db8::2", 61629);
    const got: [string, number, number][] = [];
    nms.onReceive((d) => got.push([formatAddress(d.src), d.srcPort, t.clock.nowMs()]));
    const mem = new Uint8Array(t.memory.buffer);
    mem.set(addr("2001:db8::2"), 0);
    mem.set([1, 2, 3], 16);
    expect(t.pal.udp_send(0, 61629, 16, 3)).toBe(0);
    expect(t.sent).toHaveLength(1);
    expect(got).toEqual([]); // never inside the call
    t.clock.advance(4);
    expect(got).toEqual([]);
    t.clock.advance(1);
    expect(got).toEqual([["2001:db8::1", 61628, 5]]);
    expect(t.pal.udp_send(0, 0, 16, 3)).toBeLessThan(0); // port 0
    expect(t.pal.udp_send(65530, 61629, 16, 3)).toBeLessThan(0); // address outside memory
  });

  it("applies per-link models: loss, duplication, reordering", () => {
    const clock = new VirtualClock();
    const net = new LoopNetwork({ clock, latencyMs: 10 });
    const a = net.bindSync("2001:db8::a", 1000), b = net.bindSync("2001:db8::b", 2000);
    const got: string[] = [];
    b.onReceive((d) => got.push(`${d.payload[0]}@${clock.nowMs()}`));
    let n = 0;
    net.setLink("2001:db8::a", "2001:db8::b", () => (n++ === 0 ? [] : n === 2 ? [30, 31] : [1]));
    for (const v of [1, 2, 3]) a.send(addr("2001:db8::b"), 2000, new Uint8Array([v]));
    clock.advance(100);
    expect(got).toEqual(["3@1", "2@30", "2@31"]);
    expect(net.stats).toMatchObject({ sent: 3, lost: 1, delivered: 3 });
    net.setLink("2001:db8::a", "2001:db8::b", null);
    a.send(addr("2001:db8::b"), 2000, new Uint8Array([4]));
    clock.advance(100);
    expect(got.at(-1)).toBe("4@110");
  });

  it("delivers multicast to members only and counts the unroutable", () => {
    const clock = new VirtualClock();
    const net = new LoopNetwork({ clock });
    const nms = net.bindSync("2001:db8::1", 61628);
    const m1 = net.bindSync("2001:db8::11", 61628), m2 = net.bindSync("2001:db8::12", 61628);
    const seen: string[] = [];
    for (const m of [m1, m2]) m.onReceive((d) => seen.push(`${formatAddress(m.address)} ${formatAddress(d.dst)}`));
    expect(m1.joinGroup(addr("ff05::1"))).toBe(0);
    nms.send(addr("ff05::1"), 61628, new Uint8Array([1]));
    nms.send(addr("2001:db8::99"), 61628, new Uint8Array([2]));
    clock.advance(10);
    expect(seen).toEqual(["2001:db8::11 ff05::1"]);
    expect(net.stats.unroutable).toBe(1);
    expect(() => net.bindSync("2001:db8::11", 61628)).toThrow(/in use/);
  });

  it("taps every datagram for captures", () => {
    const clock = new VirtualClock();
    const net = new LoopNetwork({ clock });
    const a = net.bindSync("::1", 0);
    const seen: number[] = [];
    const untap = net.tap((d) => seen.push(d.payload.length));
    a.send(addr("::1"), 9, new Uint8Array(3));
    untap();
    a.send(addr("::1"), 9, new Uint8Array(4));
    expect(seen).toEqual([3]);
    expect(a.port).toBeGreaterThanOrEqual(49152);
  });
});
