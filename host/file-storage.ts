// DeviceStorage in a directory, durable across process restarts and crashes.
//
// Layout:
//   records/<key>.rec   one file per record
//   slot-P.bin          firmware partitions (P = physical partition number)
//   boot.json           { "next": slot | null, "map": [partition of slot 0, of slot 1, ...] }
//
// Records are replaced the way a power-cut-safe flash NV layer does it: write
// a temporary file, fsync it, rename over the old file, fsync the directory.
// Rename is atomic on POSIX file systems, so a reader finds the old or the new
// file, whole; a crash leaves at most a stale temporary, removed on open.
//
// The boot loader swaps slots by rewriting the map in boot.json (one atomic
// write that also clears the pending activation) instead of moving images
// around, so a swap is atomic too. Until the first swap the map is the
// identity and slot-N.bin is slot N. Erased means "reads as 0xFF" (see
// storage.ts); erase deletes the partition file.
import * as fs from "node:fs";
import * as path from "node:path";
import {
  type DeviceStorage, type StorageOptions, type StorageResult,
  DEFAULT_RECORD_CAP, DEFAULT_SLOT_SIZES, StorageError,
  checkKey, checkSlotAccess, fail, ok,
} from "./storage.ts";

/**
 * Crash injection for tests: a hook that throws simulates the process dying
 * at that point (nothing after it runs, no clean-up).
 */
export interface FileStorageFaults {
  /** Called after the temporary file is written and synced, before the rename. */
  beforeRename?: (tempPath: string, finalPath: string) => void;
}

export interface FileStorageOptions extends StorageOptions {
  /** Sync files and the directory (default true). Off only for throwaway runs. */
  fsync?: boolean;
  faults?: FileStorageFaults;
}

interface BootRecord {
  next: number | null;
  map: number[];
}

const TEMP_SUFFIX = ".tmp";

function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? String(e);
}

export class FileStorage implements DeviceStorage {
  readonly dir: string;
  private readonly recordDir: string;
  private readonly sizes: readonly number[];
  private readonly recordCap: number;
  private readonly sync: boolean;
  private readonly faults: FileStorageFaults;
  private boot: BootRecord;

  /** Opens (creating when needed) the storage directory; throws when it is unusable. */
  constructor(dir: string, options: FileStorageOptions = {}) {
    this.dir = path.resolve(dir);
    this.recordDir = path.join(this.dir, "records");
    this.sizes = [...(options.slotSizes ?? DEFAULT_SLOT_SIZES)];
    this.recordCap = options.recordCap ?? DEFAULT_RECORD_CAP;
    this.sync = options.fsync ?? true;
    this.faults = options.faults ?? {};
    fs.mkdirSync(this.recordDir, { recursive: true });
    this.removeStaleTemporaries();
    this.boot = this.loadBootRecord();
  }

  // ---- records ---------------------------------------------------------------

  private recordPath(key: string): string {
    return path.join(this.recordDir, `${key}.rec`);
  }

  read(key: string): StorageResult<Uint8Array | null> {
    const bad = checkKey(key);
    if (bad) return fail(StorageError.BadKey, bad);
    try {
      return ok(new Uint8Array(fs.readFileSync(this.recordPath(key))));
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return ok(null);
      return fail(StorageError.Io, `read ${key}: ${errnoOf(e)}`);
    }
  }

  write(key: string, bytes: Uint8Array): StorageResult<void> {
    const bad = checkKey(key);
    if (bad) return fail(StorageError.BadKey, bad);
    if (bytes.length > this.recordCap) return fail(StorageError.OutOfRange, `record ${key}: ${bytes.length} bytes exceeds ${this.recordCap}`);
    return this.writeAtomic(this.recordPath(key), bytes, `write ${key}`);
  }

  erase(key: string): StorageResult<void> {
    const bad = checkKey(key);
    if (bad) return fail(StorageError.BadKey, bad);
    try {
      fs.rmSync(this.recordPath(key), { force: true });
      this.syncDir(this.recordDir);
      return ok(undefined);
    } catch (e) {
      return fail(StorageError.Io, `erase ${key}: ${errnoOf(e)}`);
    }
  }

  keys(): string[] {
    return fs.readdirSync(this.recordDir)
      .filter((f) => f.endsWith(".rec"))
      .map((f) => f.slice(0, -4))
      .sort();
  }

  // ---- firmware slots -----------------------------------------------------------

  private partitionPath(slot: number): string {
    return path.join(this.dir, `slot-${this.boot.map[slot]}.bin`);
  }

  slotSize(slot: number): number {
    return Number.isInteger(slot) && slot >= 0 && slot < this.sizes.length ? this.sizes[slot] : -1;
  }

  slotRead(slot: number, offset: number, len: number): StorageResult<Uint8Array> {
    const bad = checkSlotAccess(this.sizes, slot, offset, len, false);
    if (bad) return bad;
    const n = Math.min(len, this.sizes[slot] - offset);
    const out = new Uint8Array(n).fill(0xff);
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.partitionPath(slot), "r");
      let at = 0;
      while (at < n) {
        const got = fs.readSync(fd, out, at, n - at, offset + at);
        if (got === 0) break; // past the written extent: the rest stays 0xFF
        at += got;
      }
      return ok(out);
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return ok(out); // never written: erased
      return fail(StorageError.Io, `read slot ${slot}: ${errnoOf(e)}`);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  slotWrite(slot: number, offset: number, bytes: Uint8Array): StorageResult<void> {
    const bad = checkSlotAccess(this.sizes, slot, offset, bytes.length, true);
    if (bad) return bad;
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.partitionPath(slot), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      const end = fs.fstatSync(fd).size;
      // The OS would zero-fill a hole; erased flash reads 0xFF.
      if (offset > end) fs.writeSync(fd, new Uint8Array(offset - end).fill(0xff), 0, offset - end, end);
      let at = 0;
      while (at < bytes.length) at += fs.writeSync(fd, bytes, at, bytes.length - at, offset + at);
      if (this.sync) fs.fsyncSync(fd);
      return ok(undefined);
    } catch (e) {
      return fail(StorageError.Io, `write slot ${slot}: ${errnoOf(e)}`);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  slotErase(slot: number): StorageResult<void> {
    const bad = checkSlotAccess(this.sizes, slot, 0, 0, true);
    if (bad) return bad;
    try {
      fs.rmSync(this.partitionPath(slot), { force: true });
      this.syncDir(this.dir);
      return ok(undefined);
    } catch (e) {
      return fail(StorageError.Io, `erase slot ${slot}: ${errnoOf(e)}`);
    }
  }

  slotActivate(slot: number): StorageResult<void> {
    if (this.slotSize(slot) < 0) return fail(StorageError.NoSlot, `no firmware slot ${slot}`);
    return this.saveBootRecord({ ...this.boot, next: slot === 0 ? null : slot });
  }

  pendingBoot(): number | null {
    return this.boot.next;
  }

  applyPendingBoot(): StorageResult<number | null> {
    const slot = this.boot.next;
    if (slot === null) return ok(null);
    const fits = this.checkSwapFits(0, slot);
    if (!fits.ok) return fits;
    const saved = this.saveBootRecord({ next: null, map: this.swappedMap(0, slot) });
    return saved.ok ? ok(slot) : saved;
  }

  swapSlots(a: number, b: number): StorageResult<void> {
    if (this.slotSize(a) < 0 || this.slotSize(b) < 0) return fail(StorageError.NoSlot, `no firmware slot ${a} or ${b}`);
    const fits = this.checkSwapFits(a, b);
    if (!fits.ok) return fits;
    return this.saveBootRecord({ ...this.boot, map: this.swappedMap(a, b) });
  }

  installImage(slot: number, image: Uint8Array): StorageResult<void> {
    if (this.slotSize(slot) < 0) return fail(StorageError.NoSlot, `no firmware slot ${slot}`);
    if (image.length > this.sizes[slot]) return fail(StorageError.OutOfRange, `image of ${image.length} bytes exceeds slot ${slot} (${this.sizes[slot]})`);
    return this.writeAtomic(this.partitionPath(slot), image, `install slot ${slot}`);
  }

  private swappedMap(a: number, b: number): number[] {
    const map = [...this.boot.map];
    [map[a], map[b]] = [map[b], map[a]];
    return map;
  }

  /** Content written to a slot must stay within the capacity of the slot it moves to. */
  private checkSwapFits(a: number, b: number): StorageResult<void> {
    const used = (slot: number): number => {
      try { return fs.statSync(this.partitionPath(slot)).size; } catch { return 0; }
    };
    if (used(a) > this.sizes[b] || used(b) > this.sizes[a]) {
      return fail(StorageError.OutOfRange, `slots ${a} and ${b}: content does not fit the other slot`);
    }
    return ok(undefined);
  }

  // ---- plumbing -------------------------------------------------------------------

  private bootPath(): string {
    return path.join(this.dir, "boot.json");
  }

  private loadBootRecord(): BootRecord {
    const identity = this.sizes.map((_, i) => i);
    let text: string;
    try {
      text = fs.readFileSync(this.bootPath(), "utf8");
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return { next: null, map: identity };
      throw new Error(`${this.bootPath()}: ${errnoOf(e)}`);
    }
    const rec = JSON.parse(text) as Partial<BootRecord>;
    const map = rec.map ?? identity;
    const valid = Array.isArray(map) && map.length === this.sizes.length &&
      [...map].sort((x, y) => x - y).every((p, i) => p === i) &&
      (rec.next === null || rec.next === undefined || (Number.isInteger(rec.next) && rec.next > 0 && rec.next < this.sizes.length));
    if (!valid) throw new Error(`${this.bootPath()}: does not match the configured ${this.sizes.length} slots: ${text.trim()}`);
    return { next: rec.next ?? null, map };
  }

  private saveBootRecord(rec: BootRecord): StorageResult<void> {
    const r = this.writeAtomic(this.bootPath(), new TextEncoder().encode(JSON.stringify(rec) + "\n"), "write boot.json");
    if (r.ok) this.boot = rec;
    return r;
  }

  private writeAtomic(finalPath: string, bytes: Uint8Array, what: string): StorageResult<void> {
    const temp = finalPath + TEMP_SUFFIX;
    try {
      const fd = fs.openSync(temp, "w", 0o644);
      try {
        let at = 0;
        while (at < bytes.length) at += fs.writeSync(fd, bytes, at, bytes.length - at);
        if (this.sync) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      fs.rmSync(temp, { force: true });
      return fail(StorageError.Io, `${what}: ${errnoOf(e)}`);
    }
    // Outside the try: an injected crash must leave the temporary behind.
    this.faults.beforeRename?.(temp, finalPath);
    try {
      fs.renameSync(temp, finalPath);
      this.syncDir(path.dirname(finalPath));
      return ok(undefined);
    } catch (e) {
      fs.rmSync(temp, { force: true });
      return fail(StorageError.Io, `${what}: ${errnoOf(e)}`);
    }
  }

  private syncDir(dir: string): void {
    if (!this.sync) return;
    const fd = fs.openSync(dir, "r");
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  }

  /** A crash between write and rename leaves a temporary; the old file is the truth. */
  private removeStaleTemporaries(): void {
    for (const dir of [this.dir, this.recordDir]) {
      for (const f of fs.readdirSync(dir)) if (f.endsWith(TEMP_SUFFIX)) fs.rmSync(path.join(dir, f), { force: true });
    }
  }
}
