import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { VirtualClock } from "../host/clock.ts";
import { FileStorage } from "../host/file-storage.ts";
import { LoopNetwork } from "../host/loop-network.ts";
import { createPal } from "../host/pal.ts";
import { type DeviceStorage, MemoryStorage, StorageError } from "../host/storage.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "csmp-storage-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

const bytes = (...v: number[]) => new Uint8Array(v);
const SIZES = [64, 128, 32];

// Both implementations must behave identically: one suite, two factories.
const implementations: [string, () => DeviceStorage][] = [
  ["MemoryStorage", () => new MemoryStorage({ slotSizes: SIZES, recordCap: 256 })],
  ["FileStorage", () => new FileStorage(tempDir(), { slotSizes: SIZES, recordCap: 256 })],
];

describe.each(implementations)("%s", (_name, make) => {
  it("reads, replaces and erases records", () => {
    const s = make();
    expect(s.read("session")).toEqual({ ok: true, value: null });
    expect(s.write("session", bytes(1, 2, 3)).ok).toBe(true);
    expect(s.read("session")).toEqual({ ok: true, value: bytes(1, 2, 3) });
    expect(s.write("session", bytes(9)).ok).toBe(true);
    expect(s.read("session")).toEqual({ ok: true, value: bytes(9) });
    expect(s.write("empty", bytes()).ok).toBe(true);
    expect(s.read("empty")).toEqual({ ok: true, value: bytes() });
    expect(s.keys()).toEqual(["empty", "session"]);
    expect(s.erase("session").ok).toBe(true);
    expect(s.erase("session").ok).toBe(true); // missing is fine
    expect(s.read("session")).toEqual({ ok: true, value: null });
  });

  it("accepts every legal key shape, including dots", () => {
    const s = make();
    for (const key of ["a", "A.b-c_9", ".", "..", "x".repeat(32), "reg.intervals"]) {
      expect(s.write(key, bytes(key.length)).ok, key).toBe(true);
      expect(s.read(key), key).toEqual({ ok: true, value: bytes(key.length) });
    }
  });

  it("rejects bad keys with an error result", () => {
    const s = make();
    for (const key of ["", "x".repeat(33), "a/b", "../etc", "sp ace", "é", "a\nb", "nul\0"]) {
      for (const r of [s.read(key), s.write(key, bytes(1)), s.erase(key)]) {
        expect(r.ok, JSON.stringify(key)).toBe(false);
        if (!r.ok) expect(r.code).toBe(StorageError.BadKey);
      }
    }
  });

  it("rejects records over the cap and keeps the old value", () => {
    const s = make();
    s.write("big", bytes(1));
    const r = s.write("big", new Uint8Array(257));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(StorageError.OutOfRange);
    expect(s.read("big")).toEqual({ ok: true, value: bytes(1) });
  });

  it("returns copies, not live views", () => {
    const s = make();
    const v = bytes(1, 2);
    s.write("k", v);
    v[0] = 99;
    const r = s.read("k");
    if (r.ok && r.value) r.value[1] = 77;
    expect(s.read("k")).toEqual({ ok: true, value: bytes(1, 2) });
  });

  it("sizes slots as configured", () => {
    const s = make();
    expect([0, 1, 2, 3, -1].map((i) => s.slotSize(i))).toEqual([64, 128, 32, -1, -1]);
  });

  it("reads erased flash as 0xFF and pads gaps with 0xFF", () => {
    const s = make();
    expect(s.slotRead(1, 0, 4)).toEqual({ ok: true, value: bytes(0xff, 0xff, 0xff, 0xff) });
    expect(s.slotWrite(1, 10, bytes(1, 2)).ok).toBe(true);
    expect(s.slotRead(1, 8, 6)).toEqual({ ok: true, value: bytes(0xff, 0xff, 1, 2, 0xff, 0xff) });
    expect(s.slotWrite(1, 11, bytes(7)).ok).toBe(true); // overwrite
    expect(s.slotRead(1, 10, 2)).toEqual({ ok: true, value: bytes(1, 7) });
    expect(s.slotErase(1).ok).toBe(true);
    expect(s.slotRead(1, 10, 2)).toEqual({ ok: true, value: bytes(0xff, 0xff) });
  });

  it("range-checks slot access", () => {
    const s = make();
    const code = (r: { ok: boolean; code?: number }) => (r.ok ? 0 : r.code);
    expect(code(s.slotWrite(2, 30, bytes(1, 2)))).toBe(0); // ends exactly at 32
    expect(code(s.slotWrite(2, 31, bytes(1, 2)))).toBe(StorageError.OutOfRange);
    expect(code(s.slotWrite(2, -1, bytes(1)))).toBe(StorageError.OutOfRange);
    expect(code(s.slotWrite(3, 0, bytes(1)))).toBe(StorageError.NoSlot);
    expect(code(s.slotRead(2, 33, 1))).toBe(StorageError.OutOfRange);
    expect(code(s.slotRead(2, 0, -1))).toBe(StorageError.OutOfRange);
    expect(code(s.slotRead(7, 0, 1))).toBe(StorageError.NoSlot);
    // Reads are clipped at the end of the slot: the result says how much.
    const tail = s.slotRead(2, 30, 10);
    expect(tail).toEqual({ ok: true, value: bytes(1, 2) });
    expect(s.slotRead(2, 32, 5)).toEqual({ ok: true, value: bytes() });
    // A failed write changes nothing.
    expect(s.slotRead(2, 29, 3)).toEqual({ ok: true, value: bytes(0xff, 1, 2) });
  });

  it("never lets the PAL write or erase the running image", () => {
    const s = make();
    expect(s.installImage(0, bytes(5, 6)).ok).toBe(true);
    const w = s.slotWrite(0, 0, bytes(1));
    const e = s.slotErase(0);
    expect(w.ok || e.ok).toBe(false);
    if (!w.ok) expect(w.code).toBe(StorageError.RunningSlot);
    if (!e.ok) expect(e.code).toBe(StorageError.RunningSlot);
    expect(s.slotRead(0, 0, 3)).toEqual({ ok: true, value: bytes(5, 6, 0xff) });
  });

  it("activates a slot and swaps it in at boot, keeping the old image for fallback", () => {
    const s = make();
    s.installImage(0, bytes(0xa0, 0xa1));
    s.slotWrite(1, 0, bytes(0xb0, 0xb1, 0xb2));
    expect(s.pendingBoot()).toBe(null);
    expect(s.slotActivate(5).ok).toBe(false);
    expect(s.slotActivate(1).ok).toBe(true);
    expect(s.pendingBoot()).toBe(1);
    expect(s.applyPendingBoot()).toEqual({ ok: true, value: 1 });
    expect(s.pendingBoot()).toBe(null);
    expect(s.slotRead(0, 0, 3)).toEqual({ ok: true, value: bytes(0xb0, 0xb1, 0xb2) });
    expect(s.slotRead(1, 0, 3)).toEqual({ ok: true, value: bytes(0xa0, 0xa1, 0xff) });
    expect(s.applyPendingBoot()).toEqual({ ok: true, value: null });
    // activate(0) cancels a pending activation
    s.slotActivate(1);
    s.slotActivate(0);
    expect(s.pendingBoot()).toBe(null);
  });

  it("refuses a swap whose content does not fit the other slot", () => {
    const s = make();
    s.slotWrite(1, 0, new Uint8Array(100).fill(1)); // 100 bytes cannot move into slot 0 (64)
    s.slotActivate(1);
    const r = s.applyPendingBoot();
    expect(r.ok).toBe(false);
    expect(s.pendingBoot()).toBe(1);
  });
});

describe("FileStorage on disk", () => {
  it("survives reopening: records, slots and the pending boot", () => {
    const dir = tempDir();
    const a = new FileStorage(dir, { slotSizes: SIZES });
    a.write("groups", bytes(1, 2));
    a.slotWrite(1, 4, bytes(9));
    a.slotActivate(1);
    const b = new FileStorage(dir, { slotSizes: SIZES });
    expect(b.read("groups")).toEqual({ ok: true, value: bytes(1, 2) });
    expect(b.slotRead(1, 3, 3)).toEqual({ ok: true, value: bytes(0xff, 9, 0xff) });
    expect(b.pendingBoot()).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, "boot.json"), "utf8"))).toEqual({ next: 1, map: [0, 1, 2] });
    b.applyPendingBoot();
    const c = new FileStorage(dir, { slotSizes: SIZES });
    expect(c.pendingBoot()).toBe(null);
    expect(c.slotRead(0, 4, 1)).toEqual({ ok: true, value: bytes(9) });
  });

  it("keeps the old value when the process dies between temp write and rename", () => {
    const dir = tempDir();
    new FileStorage(dir).write("session", bytes(1, 1, 1));
    const crashing = new FileStorage(dir, {
      faults: { beforeRename: () => { throw new Error("power cut"); } },
    });
    expect(() => crashing.write("session", bytes(2, 2, 2, 2))).toThrow("power cut");
    // The temporary is on disk, fully written; the record is untouched.
    expect(readdirSync(join(dir, "records")).sort()).toEqual(["session.rec", "session.rec.tmp"]);
    expect(crashing.read("session")).toEqual({ ok: true, value: bytes(1, 1, 1) });
    // After the "reboot" the stale temporary is gone and the old value stands.
    const rebooted = new FileStorage(dir);
    expect(rebooted.read("session")).toEqual({ ok: true, value: bytes(1, 1, 1) });
    expect(readdirSync(join(dir, "records"))).toEqual(["session.rec"]);
    // And a crash while creating a record leaves no record at all.
    const crashing2 = new FileStorage(dir, { faults: { beforeRename: () => { throw new Error("power cut"); } } });
    expect(() => crashing2.write("fresh", bytes(5))).toThrow("power cut");
    expect(new FileStorage(dir).read("fresh")).toEqual({ ok: true, value: null });
  });

  it("keeps the old boot record when a crash hits an activation", () => {
    const dir = tempDir();
    new FileStorage(dir, { slotSizes: SIZES }).slotActivate(2);
    const crashing = new FileStorage(dir, { slotSizes: SIZES, faults: { beforeRename: () => { throw new Error("power cut"); } } });
    expect(() => crashing.applyPendingBoot()).toThrow("power cut");
    expect(new FileStorage(dir, { slotSizes: SIZES }).pendingBoot()).toBe(2);
  });

  it("reports a broken boot.json clearly instead of guessing", () => {
    const dir = tempDir();
    new FileStorage(dir, { slotSizes: SIZES }).slotActivate(1);
    expect(() => new FileStorage(dir, { slotSizes: [64, 64] })).toThrow(/boot\.json.*2 slots/);
  });

  it("stores a record per file and erases the slot file", () => {
    const dir = tempDir();
    const s = new FileStorage(dir, { slotSizes: SIZES });
    s.slotWrite(2, 0, bytes(1));
    expect(existsSync(join(dir, "slot-2.bin"))).toBe(true);
    s.slotErase(2);
    expect(existsSync(join(dir, "slot-2.bin"))).toBe(false);
  });
});

describe("storage through the PAL imports", () => {
  // Drive the imports the way the agent does: pointers into a linear memory.
  function palOver(storage: DeviceStorage) {
    const clock = new VirtualClock();
    const net = new LoopNetwork({ clock });
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const pal = createPal({ clock, storage, endpoint: net.bindSync("::1", 61628), log: () => undefined });
    pal.setInstance({ memory, agent_timer: () => undefined });
    const mem = new Uint8Array(memory.buffer);
    const put = (at: number, data: Uint8Array | string) => {
      const b = typeof data === "string" ? new TextEncoder().encode(data) : data;
      mem.set(b, at);
      return b.length;
    };
    return { pal: pal.imports, mem, put };
  }

  it("store_read returns the full length, copies at most cap, -1 when missing", () => {
    const { pal, mem, put } = palOver(new MemoryStorage());
    const k = put(0, "nms.state");
    expect(pal.store_read(0, k, 100, 16)).toBe(-1);
    put(200, bytes(1, 2, 3, 4, 5, 6));
    expect(pal.store_write(0, k, 200, 6)).toBe(0);
    mem.fill(0xee, 100, 110);
    expect(pal.store_read(0, k, 100, 4)).toBe(6);
    expect([...mem.subarray(100, 106)]).toEqual([1, 2, 3, 4, 0xee, 0xee]);
    expect(pal.store_write(0, k, 200, 0)).toBe(0);
    expect(pal.store_read(0, k, 100, 4)).toBe(0);
    expect(pal.store_erase(0, k)).toBe(0);
    expect(pal.store_read(0, k, 100, 4)).toBe(-1);
  });

  it("store_* reject bad keys and out-of-memory pointers with negative results", () => {
    const { pal, put } = palOver(new MemoryStorage());
    const k = put(0, "bad key!");
    expect(pal.store_write(0, k, 100, 1)).toBeLessThan(-1);
    expect(pal.store_read(0, 0, 100, 1)).toBeLessThan(-1); // empty key
    expect(pal.store_read(0, 40, 100, 1)).toBeLessThan(-1); // key too long
    const good = put(0, "ok");
    expect(pal.store_write(0, good, 65530, 100)).toBeLessThan(-1);
    expect(pal.store_read(0, good, 65535, 10)).toBeLessThan(-1);
    expect(pal.store_write(0, good, -8, 4)).toBeLessThan(-1);
  });

  it("slot_* follow the storage with the contract's results", () => {
    const storage = new MemoryStorage({ slotSizes: SIZES });
    const { pal, mem, put } = palOver(storage);
    expect(pal.slot_size(1)).toBe(128);
    expect(pal.slot_size(3)).toBe(-1);
    put(0, bytes(7, 8, 9));
    expect(pal.slot_write(1, 100, 0, 3)).toBe(0);
    expect(pal.slot_write(1, 126, 0, 3)).toBeLessThan(0);
    expect(pal.slot_write(0, 0, 0, 3)).toBeLessThan(0);
    expect(pal.slot_read(1, 100, 500, 4)).toBe(4);
    expect([...mem.subarray(500, 504)]).toEqual([7, 8, 9, 0xff]);
    expect(pal.slot_read(1, 126, 500, 4)).toBe(2); // clipped at the end
    expect(pal.slot_read(1, 0, 65534, 4)).toBeLessThan(0); // buffer outside memory
    expect(pal.slot_erase(1)).toBe(0);
    expect(pal.slot_erase(0)).toBeLessThan(0);
    expect(pal.slot_activate(2)).toBe(0);
    expect(storage.pendingBoot()).toBe(2);
    expect(pal.slot_activate(9)).toBeLessThan(0);
  });
});
