// What the agent knows about each firmware slot (0 running, 1 upload,
// 2 backup): a FirmwareImageInfo kept durably per slot ("fw0".."fw2", its
// protobuf encoding), plus the upload's received-block bitmap ("fwbits").
// Strings and hashes in the structs are views into the record buffers.
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
const infos = memory.data(FirmwareImageInfo_SIZE * SLOTS);
const scratch = memory.data(RECORD_CAP);
const lens = memory.data(4 * SLOTS);
@inline function lenOf(slot: i32): i32 { return load<i32>(lens + <usize>(slot * 4)); }
@inline function setLen(slot: i32, n: i32): void { store<i32>(lens + <usize>(slot * 4), n); }

/** Bitmap capacity: 8192 blocks. */
export const BITMAP_CAP: i32 = 1024;
export const bitmap = memory.data(BITMAP_CAP);

function key(slot: i32): usize {
  return slot == 0 ? A("fw0") : slot == 1 ? A("fw1") : A("fw2");
}

@inline function record(slot: i32): usize { return records + <usize>(slot * RECORD_CAP); }

/** The slot's info (a view; valid when slotKnown). */
export function slotInfo(slot: i32): FirmwareImageInfo {
  return changetype<FirmwareImageInfo>(infos + <usize>(slot * FirmwareImageInfo_SIZE));
}

export function slotKnown(slot: i32): bool { return slotInfo(slot).hasFileHash; }

export function slotsLoad(): void {
  for (let s = 0; s < SLOTS; s++) {
    let n = recordRead(key(s), record(s), RECORD_CAP);
    const info = changetype<usize>(slotInfo(s));
    if (n >= 0 && pbDecode(FirmwareImageInfo.desc(), info, record(s), n) == PB_MALFORMED) n = -1;
    if (n < 0) slotInfo(s).clear();
    setLen(s, n);
  }
  if (recordRead(A("fwbits"), bitmap, BITMAP_CAP) < 0) memory.fill(bitmap, 0, BITMAP_CAP);
}

/**
 * Makes info (any struct, its views anywhere) the slot's durable info: it is
 * encoded into the slot's record buffer and decoded back, so the views then
 * point into memory the slot owns.
 */
export function slotSet(slot: i32, info: usize): bool {
  const n = pbEncode(FirmwareImageInfo.desc(), info, scratch, RECORD_CAP);
  if (n < 0) return false;
  memory.copy(record(slot), scratch, n);
  setLen(slot, n);
  pbDecode(FirmwareImageInfo.desc(), changetype<usize>(slotInfo(slot)), record(slot), n);
  return recordWrite(key(slot), record(slot), n);
}

export function slotForget(slot: i32): void {
  slotInfo(slot).clear();
  setLen(slot, -1);
  recordErase(key(slot));
}

/** Exchanges two slots' infos (the boot loader swapped their contents). */
export function slotsSwap(a: i32, b: i32): void {
  memory.copy(scratch, record(a), RECORD_CAP);
  memory.copy(record(a), record(b), RECORD_CAP);
  memory.copy(record(b), scratch, RECORD_CAP);
  const la = lenOf(a);
  setLen(a, lenOf(b));
  setLen(b, la);
  reload(a);
  reload(b);
}

/** Decodes the slot's record into its info and makes it durable (or forgets it). */
function reload(slot: i32): void {
  const n = lenOf(slot);
  const info = changetype<usize>(slotInfo(slot));
  if (n < 0) { slotForget(slot); return; }
  pbDecode(FirmwareImageInfo.desc(), info, record(slot), n);
  recordWrite(key(slot), record(slot), n);
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
