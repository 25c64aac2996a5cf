// Durable storage as the PAL sees it: small named records that are replaced
// atomically (session, groups, report subscription, registration intervals,
// firmware metadata) and firmware slots that behave like flash partitions.
//
// This file holds the contract shared by both implementations and the
// in-memory one (MemoryStorage: same semantics, no disk, for fast tests).
// FileStorage (host/file-storage.ts) keeps the same things in a directory.
//
// Slot semantics (both implementations):
// - Slot 0 is the running image; slots 1..N-1 hold uploads and backups. Their
//   capacities are fixed by configuration.
// - An erased slot reads as 0xFF, like erased NOR flash. Erase is implemented
//   by dropping the content (FileStorage deletes the partition file): bytes
//   never written read as 0xFF, and a write past the written extent pads the
//   gap with 0xFF. So erase costs nothing however large the slot is.
// - Writes overwrite (no flash "AND" semantics): the agent may rewrite a block
//   it received twice, and a host has no reason to punish that.
// - The PAL never writes or erases slot 0; the host installs the running image
//   with installImage() and the boot loader (applyPendingBoot) swaps images.
// - activate(N) records N as the slot to boot next (in FileStorage, boot.json);
//   activate(0) cancels a pending activation.
import { HostError } from "./errors.ts";

/** Negative codes, returned to the agent as they are (numbering in errors.ts). */
export const StorageError = {
  /** store_read only: no such record. */
  Missing: HostError.Failed,
  /** Key not 1..32 chars of [A-Za-z0-9._-]. */
  BadKey: HostError.BadArgument,
  Io: HostError.Io,
  /** Offset/length outside the slot, or a record over the size limit. */
  OutOfRange: HostError.OutOfRange,
  NoSlot: HostError.NoSlot,
  /** The operation is not allowed on the running image (slot 0). */
  RunningSlot: HostError.RunningSlot,
} as const;
export type StorageErrorCode = (typeof StorageError)[keyof typeof StorageError];

export type StorageResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: StorageErrorCode; reason: string };

export function ok<T>(value: T): StorageResult<T> {
  return { ok: true, value };
}

export function fail<T>(code: StorageErrorCode, reason: string): StorageResult<T> {
  return { ok: false, code, reason };
}

export const KEY_MAX_LEN = 32;
const KEY_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;

/** Why a key is unacceptable, or null when it is fine. */
export function checkKey(key: string): string | null {
  if (!KEY_PATTERN.test(key)) return `bad record key ${JSON.stringify(key)}: need 1..${KEY_MAX_LEN} chars of [A-Za-z0-9._-]`;
  return null;
}

/** Default cap on one record: a flash NV sector, larger than any CSMP state. */
export const DEFAULT_RECORD_CAP = 64 * 1024;

/** Default slot layout: running image, upload, backup (512 KiB each). */
export const DEFAULT_SLOT_SIZES: readonly number[] = [512 * 1024, 512 * 1024, 512 * 1024];

export interface StorageOptions {
  /** Capacity of each firmware slot, index = slot number (slot 0 = running). */
  slotSizes?: readonly number[];
  /** Largest record accepted by write() (default DEFAULT_RECORD_CAP). */
  recordCap?: number;
}

export interface DeviceStorage {
  /** The record, null when absent. */
  read(key: string): StorageResult<Uint8Array | null>;
  /** Replaces the record atomically: after a crash, old or new, whole. */
  write(key: string, bytes: Uint8Array): StorageResult<void>;
  /** Deletes the record; a missing record is not an error. */
  erase(key: string): StorageResult<void>;
  /** Keys of all records, sorted. */
  keys(): string[];

  /** Capacity of a slot, or -1 when it does not exist. */
  slotSize(slot: number): number;
  /** Reads up to len bytes at offset (clipped at the slot end). */
  slotRead(slot: number, offset: number, len: number): StorageResult<Uint8Array>;
  /** Writes all bytes at offset, or nothing when they do not fit. */
  slotWrite(slot: number, offset: number, bytes: Uint8Array): StorageResult<void>;
  /** Erases a slot (never slot 0). */
  slotErase(slot: number): StorageResult<void>;
  /** Records `slot` as the image to boot next (0 cancels). */
  slotActivate(slot: number): StorageResult<void>;
  /** The slot recorded by slotActivate, or null. */
  pendingBoot(): number | null;
  /**
   * The boot loader's part, run by the host before starting an agent: when
   * a slot is pending, swap it with slot 0 (the previous image stays in that
   * slot for a fallback) and clear the pending mark. Returns the slot that was
   * swapped in, or null when nothing was pending.
   */
  applyPendingBoot(): StorageResult<number | null>;
  /** Swaps the contents of two slots (boot loader and fallback use). */
  swapSlots(a: number, b: number): StorageResult<void>;
  /** Host-side provisioning: puts an image into a slot, slot 0 included. */
  installImage(slot: number, image: Uint8Array): StorageResult<void>;
}

/** Shared range checks; returns a failure or null when the access is fine. */
export function checkSlotAccess(
  sizes: readonly number[], slot: number, offset: number, len: number, writing: boolean,
): StorageResult<never> | null {
  if (!Number.isInteger(slot) || slot < 0 || slot >= sizes.length) return fail(StorageError.NoSlot, `no firmware slot ${slot}`);
  if (writing && slot === 0) return fail(StorageError.RunningSlot, "slot 0 holds the running image");
  if (!Number.isInteger(offset) || !Number.isInteger(len) || offset < 0 || len < 0) {
    return fail(StorageError.OutOfRange, `slot ${slot}: bad offset ${offset} / length ${len}`);
  }
  if (writing ? offset + len > sizes[slot] : offset > sizes[slot]) {
    return fail(StorageError.OutOfRange, `slot ${slot}: ${offset}+${len} exceeds capacity ${sizes[slot]}`);
  }
  return null;
}

/** Reads `len` bytes at offset from content that is 0xFF beyond its end. */
export function readErased(content: Uint8Array, offset: number, len: number): Uint8Array {
  const out = new Uint8Array(len).fill(0xff);
  if (offset < content.length) out.set(content.subarray(offset, Math.min(content.length, offset + len)));
  return out;
}

/** Content with bytes written at offset; a gap past the old end is 0xFF. */
export function writeErased(content: Uint8Array, offset: number, bytes: Uint8Array): Uint8Array {
  const end = Math.max(content.length, offset + bytes.length);
  const out = new Uint8Array(end).fill(0xff);
  out.set(content);
  out.set(bytes, offset);
  return out;
}

/** Storage in memory: same semantics as FileStorage, nothing survives the process. */
export class MemoryStorage implements DeviceStorage {
  private readonly records = new Map<string, Uint8Array>();
  private readonly slots: Uint8Array[];
  private readonly sizes: readonly number[];
  private readonly recordCap: number;
  private pending: number | null = null;

  constructor(options: StorageOptions = {}) {
    this.sizes = [...(options.slotSizes ?? DEFAULT_SLOT_SIZES)];
    this.recordCap = options.recordCap ?? DEFAULT_RECORD_CAP;
    this.slots = this.sizes.map(() => new Uint8Array(0));
  }

  read(key: string): StorageResult<Uint8Array | null> {
    const bad = checkKey(key);
    if (bad) return fail(StorageError.BadKey, bad);
    const v = this.records.get(key);
    return ok(v ? v.slice() : null);
  }

  write(key: string, bytes: Uint8Array): StorageResult<void> {
    const bad = checkKey(key);
    if (bad) return fail(StorageError.BadKey, bad);
    if (bytes.length > this.recordCap) return fail(StorageError.OutOfRange, `record ${key}: ${bytes.length} bytes exceeds ${this.recordCap}`);
    this.records.set(key, bytes.slice());
    return ok(undefined);
  }

  erase(key: string): StorageResult<void> {
    const bad = checkKey(key);
    if (bad) return fail(StorageError.BadKey, bad);
    this.records.delete(key);
    return ok(undefined);
  }

  keys(): string[] {
    return [...this.records.keys()].sort();
  }

  slotSize(slot: number): number {
    return Number.isInteger(slot) && slot >= 0 && slot < this.sizes.length ? this.sizes[slot] : -1;
  }

  slotRead(slot: number, offset: number, len: number): StorageResult<Uint8Array> {
    const bad = checkSlotAccess(this.sizes, slot, offset, len, false);
    if (bad) return bad;
    return ok(readErased(this.slots[slot], offset, Math.min(len, this.sizes[slot] - offset)));
  }

  slotWrite(slot: number, offset: number, bytes: Uint8Array): StorageResult<void> {
    const bad = checkSlotAccess(this.sizes, slot, offset, bytes.length, true);
    if (bad) return bad;
    this.slots[slot] = writeErased(this.slots[slot], offset, bytes);
    return ok(undefined);
  }

  slotErase(slot: number): StorageResult<void> {
    const bad = checkSlotAccess(this.sizes, slot, 0, 0, true);
    if (bad) return bad;
    this.slots[slot] = new Uint8Array(0);
    return ok(undefined);
  }

  slotActivate(slot: number): StorageResult<void> {
    if (this.slotSize(slot) < 0) return fail(StorageError.NoSlot, `no firmware slot ${slot}`);
    this.pending = slot === 0 ? null : slot;
    return ok(undefined);
  }

  pendingBoot(): number | null {
    return this.pending;
  }

  applyPendingBoot(): StorageResult<number | null> {
    const slot = this.pending;
    if (slot === null) return ok(null);
    const swapped = this.swapSlots(0, slot);
    if (!swapped.ok) return swapped;
    this.pending = null;
    return ok(slot);
  }

  swapSlots(a: number, b: number): StorageResult<void> {
    if (this.slotSize(a) < 0 || this.slotSize(b) < 0) return fail(StorageError.NoSlot, `no firmware slot ${a} or ${b}`);
    if (this.slots[a].length > this.sizes[b] || this.slots[b].length > this.sizes[a]) {
      return fail(StorageError.OutOfRange, `slots ${a} and ${b}: content does not fit the other slot`);
    }
    [this.slots[a], this.slots[b]] = [this.slots[b], this.slots[a]];
    return ok(undefined);
  }

  installImage(slot: number, image: Uint8Array): StorageResult<void> {
    if (this.slotSize(slot) < 0) return fail(StorageError.NoSlot, `no firmware slot ${slot}`);
    if (image.length > this.sizes[slot]) return fail(StorageError.OutOfRange, `image of ${image.length} bytes exceeds slot ${slot} (${this.sizes[slot]})`);
    this.slots[slot] = image.slice();
    return ok(undefined);
  }
}
