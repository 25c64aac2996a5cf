// A DeviceStorage wrapper that counts every durable write the agent makes
// (record writes and erases, slot writes and erases, slot activation), and
// the boot loader's swap of an activated image, and
// can cut the power at write N: that write does not happen, or for a slot
// write happens torn (only a prefix reaches the flash), and the device loses
// power there (the onCut hook, typically AgentHost.powerCycle). Until the
// boot loader runs again every later write is refused, as nothing reaches
// flash on a dead board. The swap is counted (as the POSIX host's
// --power-cut-at counts it) so a cut can land between the agent's reboot and
// the swap; it is atomic, so a cut there means no swap at that boot. Reads,
// the swap back of a trial boot and installImage pass through uncounted.
import { fail, StorageError, type DeviceStorage, type StorageResult } from "./storage.ts";

export type DurableWriteKind = "record-write" | "record-erase" | "slot-write" | "slot-erase" | "slot-activate" | "boot-swap";

/** One durable write, as counted (1-based). */
export interface DurableWrite {
  n: number;
  kind: DurableWriteKind;
  /** Record writes and erases. */
  key?: string;
  /** Slot operations. */
  slot?: number;
  offset?: number;
  /** Bytes handed to the storage (record or slot writes). */
  bytes: number;
}

/** skip: write N never happens. torn: a slot write lands only partly (other kinds are skipped). */
export type CutMode = "skip" | "torn";

export interface PowerCut {
  /** The 1-based count of the write that fails (counted from the last reset()). */
  at: number;
  mode: CutMode;
  /** Torn slot writes keep this many leading bytes (default: half, rounded down). */
  tornBytes?: number;
}

export interface WriteTotals {
  count: number;
  bytes: number;
  byKind: Record<DurableWriteKind, { count: number; bytes: number }>;
}

function emptyTotals(): WriteTotals {
  const zero = () => ({ count: 0, bytes: 0 });
  return {
    count: 0, bytes: 0,
    byKind: { "record-write": zero(), "record-erase": zero(), "slot-write": zero(), "slot-erase": zero(), "slot-activate": zero(), "boot-swap": zero() },
  };
}

export class FaultStorage implements DeviceStorage {
  /** Called once at the cut, after the torn write (if any); power-cycle the device here. */
  onCut: ((w: DurableWrite) => void) | null = null;
  /** Every counted write since reset(), when journaling (for tests that name the write they cut). */
  readonly journal: DurableWrite[] = [];
  journaling = false;
  private totals = emptyTotals();
  private armed: PowerCut | null = null;
  private dead = false;
  private cutWrite: DurableWrite | null = null;

  constructor(readonly inner: DeviceStorage) {}

  /** Counts and bytes since the last reset(). */
  get counts(): WriteTotals {
    return structuredClone(this.totals);
  }

  /** True from the cut until the next boot. */
  get powerLost(): boolean {
    return this.dead;
  }

  /** The write the armed cut hit, once it did. */
  get cut(): DurableWrite | null {
    return this.cutWrite;
  }

  /** Starts counting from zero (e.g. when the download starts). */
  reset(): void {
    this.totals = emptyTotals();
    this.journal.length = 0;
  }

  /** Arms a power cut at write `cut.at` (null disarms). */
  cutAt(cut: PowerCut | null): void {
    this.armed = cut;
    this.cutWrite = null;
  }

  /**
   * Counts one write; returns the failure to hand the agent when the power
   * is (or just went) off, or null when the write goes ahead.
   */
  private count(kind: DurableWriteKind, detail: Omit<DurableWrite, "n" | "kind">, tear?: (bytes: number) => void): StorageResult<void> | null {
    if (this.dead) return fail(StorageError.Io, "power is off");
    const w: DurableWrite = { n: this.totals.count + 1, kind, ...detail };
    this.totals.count++;
    this.totals.bytes += w.bytes;
    this.totals.byKind[kind].count++;
    this.totals.byKind[kind].bytes += w.bytes;
    if (this.journaling) this.journal.push(w);
    const cut = this.armed;
    if (!cut || cut.at !== w.n) return null;
    this.armed = null;
    this.cutWrite = w;
    if (cut.mode === "torn" && tear) tear(cut.tornBytes ?? Math.floor(w.bytes / 2));
    this.dead = true;
    this.onCut?.(w);
    return fail(StorageError.Io, `power cut at durable write ${w.n}`);
  }

  // ---- counted ------------------------------------------------------------------

  write(key: string, bytes: Uint8Array): StorageResult<void> {
    return this.count("record-write", { key, bytes: bytes.length }) ?? this.inner.write(key, bytes);
  }

  erase(key: string): StorageResult<void> {
    return this.count("record-erase", { key, bytes: 0 }) ?? this.inner.erase(key);
  }

  slotWrite(slot: number, offset: number, bytes: Uint8Array): StorageResult<void> {
    const tear = (keep: number) => { this.inner.slotWrite(slot, offset, bytes.subarray(0, Math.min(keep, bytes.length))); };
    return this.count("slot-write", { slot, offset, bytes: bytes.length }, tear) ?? this.inner.slotWrite(slot, offset, bytes);
  }

  slotErase(slot: number): StorageResult<void> {
    return this.count("slot-erase", { slot, bytes: 0 }) ?? this.inner.slotErase(slot);
  }

  slotActivate(slot: number): StorageResult<void> {
    return this.count("slot-activate", { slot, bytes: 0 }) ?? this.inner.slotActivate(slot);
  }

  // ---- the boot loader: power is back --------------------------------------------

  applyPendingBoot(): StorageResult<number | null> {
    this.dead = false;
    const pending = this.inner.pendingBoot();
    if (pending !== null) {
      const lost = this.count("boot-swap", { slot: pending, bytes: 0 });
      if (lost && !lost.ok) return lost; // the power went: no swap at this boot
    }
    return this.inner.applyPendingBoot();
  }

  swapSlots(a: number, b: number): StorageResult<void> {
    return this.inner.swapSlots(a, b);
  }

  // ---- pass-through --------------------------------------------------------------

  read(key: string): StorageResult<Uint8Array | null> {
    // A dead board reads nothing; the agent's code after the cut must not learn anything either.
    return this.dead ? fail(StorageError.Io, "power is off") : this.inner.read(key);
  }

  keys(): string[] {
    return this.inner.keys();
  }

  slotSize(slot: number): number {
    return this.inner.slotSize(slot);
  }

  slotRead(slot: number, offset: number, len: number): StorageResult<Uint8Array> {
    return this.dead ? fail(StorageError.Io, "power is off") : this.inner.slotRead(slot, offset, len);
  }

  pendingBoot(): number | null {
    return this.inner.pendingBoot();
  }

  installImage(slot: number, image: Uint8Array): StorageResult<void> {
    return this.inner.installImage(slot, image);
  }
}
