// What the agent knows about each firmware slot (0 running, 1 upload,
// 2 backup) and the state of transfer and load, kept as ONE durable record
// ("fwmeta"): every change that touches several of them (a new transfer, a
// verified upload, an activation swapping slots) is a single atomic write, so
// a power cut leaves the old state or the new one, never a mix. Strings and
// hashes in the slot structs are views into the record buffers here.
// The upload's received-block bitmap is a record of its own ("fwbits"): it
// changes with every block, and it is only ever written after the block's data.
import { FirmwareImageInfo, FirmwareImageInfo_SIZE } from "../generated/csmp";
import { pbDecode, pbEncode, PB_MALFORMED } from "../proto/codec";
import { recordRead, recordWrite, recordErase } from "../runtime/durable";
import { bytesEqual } from "../util/text";

export const SLOT_RUNNING: i32 = 0;
export const SLOT_UPLOAD: i32 = 1;
export const SLOT_BACKUP: i32 = 2;
export const SLOTS: i32 = 3;

const RECORD_CAP: i32 = 192;
const records = memory.data(RECORD_CAP * SLOTS);
const lens = memory.data(4 * SLOTS);
const infos = memory.data(FirmwareImageInfo_SIZE * SLOTS);
const scratch = memory.data(RECORD_CAP);

/** Transfer/load state, 16 bytes, owned by firmware.ts, persisted with the slots. */
export const fwState = memory.data(16);
const STATE_LEN: i32 = 16;
const META_CAP: i32 = STATE_LEN + SLOTS * (2 + RECORD_CAP);
const meta = memory.data(META_CAP);

/** Bitmap capacity: 8192 blocks. */
export const BITMAP_CAP: i32 = 1024;
export const bitmap = memory.data(BITMAP_CAP);

@inline function record(slot: i32): usize { return records + <usize>(slot * RECORD_CAP); }
@inline function lenOf(slot: i32): i32 { return load<i32>(lens + <usize>(slot * 4)); }
@inline function setLen(slot: i32, n: i32): void { store<i32>(lens + <usize>(slot * 4), n); }

/** The slot's info (a view; meaningful when slotKnown). */
export function slotInfo(slot: i32): FirmwareImageInfo {
  return changetype<FirmwareImageInfo>(infos + <usize>(slot * FirmwareImageInfo_SIZE));
}

export function slotKnown(slot: i32): bool { return slotInfo(slot).hasFileHash; }

/** Decodes slot's record (lenOf bytes) into its info. */
function decodeSlot(slot: i32): void {
  const n = lenOf(slot);
  const info = changetype<usize>(slotInfo(slot));
  if (n < 0 || pbDecode(FirmwareImageInfo.desc(), info, record(slot), n) == PB_MALFORMED) {
    slotInfo(slot).clear();
    setLen(slot, -1);
  }
}

/** Loads slots and state; false when there is no (valid) record yet (state is zeroed). */
export function slotsLoad(): bool {
  const n = recordRead(A("fwmeta"), meta, META_CAP);
  let ok = n >= STATE_LEN;
  memory.fill(fwState, 0, STATE_LEN);
  if (ok) memory.copy(fwState, meta, STATE_LEN);
  let p = meta + <usize>STATE_LEN;
  for (let s = 0; s < SLOTS; s++) {
    let len: i32 = -1;
    if (ok && p + 2 <= meta + <usize>n) {
      len = <i32>load<i16>(p);
      p += 2;
      if (len > RECORD_CAP || (len > 0 && p + <usize>len > meta + <usize>n)) { len = -1; ok = false; }
      else if (len > 0) { memory.copy(record(s), p, <usize>len); p += <usize>len; }
    }
    setLen(s, len);
    decodeSlot(s);
  }
  if (recordRead(A("fwbits"), bitmap, BITMAP_CAP) < 0) memory.fill(bitmap, 0, BITMAP_CAP);
  return ok;
}

/** Writes slots and state as one record: every change before it lands at once. */
export function metaCommit(): bool {
  memory.copy(meta, fwState, STATE_LEN);
  let p = meta + <usize>STATE_LEN;
  for (let s = 0; s < SLOTS; s++) {
    const len = lenOf(s);
    store<i16>(p, <i16>len);
    p += 2;
    if (len > 0) { memory.copy(p, record(s), <usize>len); p += <usize>len; }
  }
  return recordWrite(A("fwmeta"), meta, <i32>(p - meta));
}

/**
 * Makes info (any struct, its views anywhere) the slot's info, in memory
 * (metaCommit makes it durable). It is encoded into the slot's record buffer
 * and decoded back, so the views then point into memory the slot owns.
 */
export function slotSet(slot: i32, info: usize): bool {
  const n = pbEncode(FirmwareImageInfo.desc(), info, scratch, RECORD_CAP);
  if (n < 0) return false;
  memory.copy(record(slot), scratch, n);
  setLen(slot, n);
  decodeSlot(slot);
  return true;
}

/** Forgets the slot's image (in memory; metaCommit makes it durable). */
export function slotForget(slot: i32): void {
  slotInfo(slot).clear();
  setLen(slot, -1);
}

/** Exchanges two slots' infos (the boot loader swapped their contents). */
export function slotsSwap(a: i32, b: i32): void {
  memory.copy(scratch, record(a), RECORD_CAP);
  memory.copy(record(a), record(b), RECORD_CAP);
  memory.copy(record(b), scratch, RECORD_CAP);
  const la = lenOf(a);
  setLen(a, lenOf(b));
  setLen(b, la);
  decodeSlot(a);
  decodeSlot(b);
}

/** The slot holding the file with this hash (32 bytes), or -1. */
export function slotWithHash(hash: usize, len: i32): i32 {
  if (len != 32) return -1;
  for (let s = 0; s < SLOTS; s++) {
    const i = slotInfo(s);
    if (i.hasFileHash && i.fileHashLen == 32 && bytesEqual(i.fileHashPtr, hash, 32)) return s;
  }
  return -1;
}

export function bitmapSave(bytes: i32): void { recordWrite(A("fwbits"), bitmap, bytes); }
export function bitmapClear(): void { memory.fill(bitmap, 0, BITMAP_CAP); recordErase(A("fwbits")); }
