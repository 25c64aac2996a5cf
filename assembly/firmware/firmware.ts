// Firmware update (draft: "Firmware Management"): TransferRequest (65) opens
// an upload into slot 1, ImageBlocks (67) fill it at blockNum * blockSize,
// the last block triggers the checks (SHA-256 = fileHash, header and file
// CRCs, hwid, optional vendor signature), LoadRequest (68) schedules the
// activation (persisted; a due load fires after reboot), CancelLoadRequest
// (69) and SetBackupRequest (70) act on the schedule and the backup slot.
// Each request's response TLV (71..74) is kept for the answer.
import {
  TransferRequest, ImageBlock, LoadRequest, CancelLoadRequest, SetBackupRequest, FirmwareImageInfo,
  FirmwareImageInfo_SIZE, TransferResponse, LoadResponse, CancelLoadResponse, SetBackupResponse,
} from "../generated/csmp";
import {
  pal_slot_size, pal_slot_erase, pal_slot_write, pal_slot_read, pal_slot_activate, pal_reboot,
  pal_timer_arm, pal_wall_time,
} from "../pal";
import {
  SLOT_RUNNING, SLOT_UPLOAD, SLOT_BACKUP, SLOTS, slotInfo, slotKnown, slotSet, slotForget, slotsSwap,
  slotWithHash, slotsLoad, bitmap, bitmapSave, bitmapClear, BITMAP_CAP, fwState, metaCommit,
} from "./slots";
import { readHeader, hashSlot, header, appLen, IMAGE_OK, HWID_AT, HWID_LEN } from "./image";
import { verifyVendorSignature } from "./vendor-signature";
import { bytesEqual, writeDecimal } from "../util/text";
import { fwHwid, fwHwidLen } from "../device/config";
import { raiseEvent, EVENT_FIRMWARE_RESULT } from "../csmp/events";
import { resetStatsNote, RESET_FIRMWARE_LOAD } from "../csmp/reset-stats";
import { logBegin, logText, logU, logEnd, LOG_INFO, LOG_WARN } from "../runtime/log";

export const TIMER_LOAD: i32 = 6;

// Response codes (draft).
export const FW_OK: u32 = 0;
export const FW_INCOMPATIBLE_HW: u32 = 1;
export const FW_IMAGE_INCOMPLETE: u32 = 2;
export const FW_UNKNOWN_HASH: u32 = 3;
export const FW_FILE_SIZE_TOO_BIG: u32 = 4;
export const FW_SIGNATURE_FAILED: u32 = 5;
export const FW_INVALID_REQ: u32 = 6;
export const FW_INVALID_BLOCK_SIZE: u32 = 7;
export const FW_PENDING_REBOOT: u32 = 8;
export const FW_IMAGE_RUNNING: u32 = 9;

/** Bitmap bytes in one FirmwareImageInfo row (2048 blocks). */
const BITMAP_WINDOW: i32 = 256;
const MIN_BLOCK: u32 = 16;
const MAX_BLOCK: u32 = 1024;
/** SysResetStats-style reset reason handed to pal.reboot. */
const RESET_FIRMWARE: i32 = 3;

// State, persisted with the slot infos in one record (slots.ts): u32 upload
// (0 none, 1 receiving, 2 verified, 3 failed), i32 slot to load (-1 none),
// u32 loadTime, i32 slot being activated (-1 none).
const state = fwState;
const UPLOAD_NONE: u32 = 0;
const UPLOAD_RECEIVING: u32 = 1;
const UPLOAD_VERIFIED: u32 = 2;
const UPLOAD_FAILED: u32 = 3;
@inline function uploadState(): u32 { return load<u32>(state); }
@inline function loadSlot(): i32 { return load<i32>(state, 4); }
@inline function loadAt(): u32 { return load<u32>(state, 8); }
@inline function activating(): i32 { return load<i32>(state, 12); }
/** Sets the state and commits it together with any slot info changed before. */
function saveState(upload: u32, slot: i32, at: u32, act: i32): void {
  store<u32>(state, upload); store<i32>(state, slot, 4); store<u32>(state, at, 8); store<i32>(state, act, 12);
  metaCommit();
}

/** Blocks dropped: wrong hash, out of range, wrong size, write errors. */
export let blocksIgnored: u32 = 0;
let blocks: u32 = 0;

// Last responses, for the answer TLVs: hash (32), code, loadTime.
const lastHash = memory.data(32 * 4);
const lastCode = memory.data(4 * 4);
let lastLoadTime: u32 = 0;
const digest = memory.data(32);
const work = memory.data(FirmwareImageInfo_SIZE);
const versionText = memory.data(40);

function respond(which: i32, hash: usize, hashLen: i32, code: u32): void {
  memory.fill(lastHash + <usize>which * 32, 0, 32);
  memory.copy(lastHash + <usize>which * 32, hash, <usize>min(hashLen, 32));
  store<u32>(lastCode + <usize>which * 4, code);
  logBegin(); logText(A("firmware response ")); logU(71 + which); logText(A(": ")); logU(code); logEnd(code == FW_OK ? LOG_INFO : LOG_WARN);
}

// ---- boot ------------------------------------------------------------------------

export function firmwareLoad(): void {
  if (!slotsLoad()) { store<u32>(state, 0); store<i32>(state, -1, 4); store<i32>(state, -1, 12); }
  const up = slotInfo(SLOT_UPLOAD);
  blocks = up.hasBlockSize && up.blockSize > 0 ? (up.fileSize + up.blockSize - 1) / up.blockSize : 0;
  const act = activating();
  if (act > 0) finishActivation(act);
  else if (!slotKnown(SLOT_RUNNING)) describeRunningImage();
  // Every block was in but the power went before the checks were recorded: check now.
  if (uploadState() == UPLOAD_RECEIVING && blocks > 0 && missingBlocks() == 0) verifyUpload();
  if (loadSlot() >= 0) armLoad();
}

/** After a reboot into slot `act`'s image: the boot loader swapped it into slot 0, or fell back. */
function finishActivation(act: i32): void {
  const info = slotInfo(act);
  let ok = false;
  if (info.hasFileHash && readHeader(SLOT_RUNNING) == IMAGE_OK && hashSlot(SLOT_RUNNING, <i32>info.fileSize, digest) == IMAGE_OK) {
    ok = bytesEqual(digest, info.fileHashPtr, 32);
  }
  // The swap of the infos and the end of the activation land in one write.
  if (ok) slotsSwap(SLOT_RUNNING, act);
  saveState(ok && act == SLOT_UPLOAD ? UPLOAD_NONE : uploadState(), -1, 0, -1);
  if (ok && act == SLOT_UPLOAD) { bitmapClear(); blocks = 0; }
  logBegin(); logText(ok ? A("firmware activated: now running the image that came through slot ") : A("firmware activation did not take effect (power lost before the swap, or the boot loader fell back), slot ")); logU(act); logEnd(ok ? LOG_INFO : LOG_WARN);
  raiseEvent(EVENT_FIRMWARE_RESULT, FirmwareImageInfo.tlv());
}

/** First boot: describe the factory image in slot 0 from its header. */
function describeRunningImage(): void {
  if (readHeader(SLOT_RUNNING) != IMAGE_OK) return;
  const size = <i32>appLen();
  if (hashSlot(SLOT_RUNNING, size, digest) != IMAGE_OK) return;
  const w = changetype<FirmwareImageInfo>(work);
  w.clear();
  w.index = SLOT_RUNNING;
  w.setFileHash(digest, 32);
  w.setFileName(header + 24, textLen(header + 24, 32));
  let v = writeDecimal(versionText, load<u32>(header, 8));
  store<u8>(v++, 0x2e);
  v = writeDecimal(v, load<u32>(header, 12));
  store<u8>(v++, 0x2e);
  v = writeDecimal(v, load<u32>(header, 16));
  w.setVersion(versionText, <i32>(v - versionText));
  w.fileSize = <u32>size;
  w.useHwInfo().setHwId(header + HWID_AT, textLen(header + HWID_AT, HWID_LEN));
  w.isDefault = true;
  slotSet(SLOT_RUNNING, work);
  metaCommit();
}

function textLen(p: usize, max: i32): i32 {
  let n = 0;
  while (n < max && load<u8>(p + n) != 0) n++;
  return n;
}

// ---- transfer --------------------------------------------------------------------

export function onTransferRequest(r: TransferRequest): void {
  respond(0, r.fileHashPtr, r.fileHashLen, transfer(r));
}

function transfer(r: TransferRequest): u32 {
  if (!r.hasFileHash || r.fileHashLen != 32 || !r.hasFileSize || r.fileSize == 0 || !r.hasBlockSize) return FW_INVALID_REQ;
  if (!r.hasHwInfo || !r.hwInfo.hasHwId || r.hwInfo.hwIdLen != fwHwidLen || !bytesEqual(r.hwInfo.hwIdPtr, fwHwid, fwHwidLen)) return FW_INCOMPATIBLE_HW;
  const size = pal_slot_size(SLOT_UPLOAD);
  if (size < 0 || r.fileSize > <u32>size) return FW_FILE_SIZE_TOO_BIG;
  const n = (r.fileSize + r.blockSize - 1) / max<u32>(r.blockSize, 1);
  if (r.blockSize < MIN_BLOCK || r.blockSize > MAX_BLOCK || n > <u32>BITMAP_CAP * 8) return FW_INVALID_BLOCK_SIZE;
  const same = slotWithHash(r.fileHashPtr, 32);
  if (same == SLOT_RUNNING) return FW_IMAGE_RUNNING;
  if (loadSlot() == SLOT_UPLOAD) return FW_PENDING_REBOOT;
  if (same == SLOT_UPLOAD) {
    // Resume: keep what was received. A failed check is tried again from the blocks.
    if (uploadState() != UPLOAD_VERIFIED) {
      saveState(UPLOAD_RECEIVING, loadSlot(), loadAt(), -1);
      if (missingBlocks() == 0) verifyUpload();
    }
    return FW_OK;
  }
  // A new file replaces whatever the upload slot held. Bitmap and data go
  // first: a cut before the new state is committed leaves the old transfer
  // with no block marked, never marks over erased flash.
  bitmapClear();
  if (pal_slot_erase(SLOT_UPLOAD) < 0) return FW_FILE_SIZE_TOO_BIG;
  const w = changetype<FirmwareImageInfo>(work);
  w.clear();
  w.index = SLOT_UPLOAD;
  w.setFileHash(r.fileHashPtr, 32);
  if (r.hasFileName) w.setFileName(r.fileNamePtr, r.fileNameLen);
  if (r.hasVersion) w.setVersion(r.versionPtr, r.versionLen);
  w.fileSize = r.fileSize;
  w.blockSize = r.blockSize;
  w.useHwInfo().setHwId(r.hwInfo.hwIdPtr, r.hwInfo.hwIdLen);
  slotSet(SLOT_UPLOAD, work);
  blocks = n;
  saveState(UPLOAD_RECEIVING, loadSlot(), loadAt(), -1); // the new info and its state in one write
  logBegin(); logText(A("firmware transfer started: ")); logU(r.fileSize); logText(A(" bytes in ")); logU(n); logText(A(" blocks")); logEnd(LOG_INFO);
  return FW_OK;
}

@inline function bitSet(i: u32): bool { return (load<u8>(bitmap + (i >> 3)) & (0x80 >> (i & 7))) != 0; }

function ignore(why: usize): void {
  blocksIgnored++;
  logBegin(); logText(A("image block ignored: ")); logText(why); logEnd(LOG_WARN);
}

export function onImageBlock(b: ImageBlock): void {
  const up = slotInfo(SLOT_UPLOAD);
  if (uploadState() != UPLOAD_RECEIVING || !b.hasFileHash || b.fileHashLen != 32 || !bytesEqual(b.fileHashPtr, up.fileHashPtr, 32)) {
    ignore(A("no transfer of that file")); return;
  }
  const num = b.blockNum;
  if (!b.hasBlockNum || num >= blocks) { ignore(A("block number out of range")); return; }
  const at = num * up.blockSize;
  const expect = min(up.blockSize, up.fileSize - at);
  if (<u32>b.blockDataLen != expect) { ignore(A("wrong block length")); return; }
  if (bitSet(num)) return; // a duplicate: already written
  if (pal_slot_write(SLOT_UPLOAD, <i32>at, b.blockDataPtr, b.blockDataLen) < 0) { ignore(A("slot write failed")); return; }
  // Written first, marked second: a power cut in between costs a re-sent block, never a hole.
  store<u8>(bitmap + (num >> 3), load<u8>(bitmap + (num >> 3)) | <u8>(<u32>0x80 >> (num & 7)));
  bitmapSave(<i32>((blocks + 7) >> 3));
  if (missingBlocks() == 0) verifyUpload();
}

function missingBlocks(): u32 {
  let missing: u32 = 0;
  for (let i: u32 = 0; i < blocks; i++) if (!bitSet(i)) missing++;
  return missing;
}

function verifyUpload(): void {
  const up = slotInfo(SLOT_UPLOAD);
  let ok = readHeader(SLOT_UPLOAD) == IMAGE_OK &&
    hashSlot(SLOT_UPLOAD, <i32>up.fileSize, digest) == IMAGE_OK &&
    bytesEqual(digest, up.fileHashPtr, 32) &&
    bytesEqual(header + HWID_AT, fwHwid, fwHwidLen) && (fwHwidLen == HWID_LEN || load<u8>(header + HWID_AT + fwHwidLen) == 0) &&
    verifyVendorSignature(SLOT_UPLOAD, appLen(), up.fileSize);
  saveState(ok ? UPLOAD_VERIFIED : UPLOAD_FAILED, loadSlot(), loadAt(), -1);
  logBegin(); logText(ok ? A("firmware upload complete and verified") : A("firmware upload complete but FAILED verification (hash, header, CRC, hwid or signature)")); logEnd(ok ? LOG_INFO : LOG_WARN);
  raiseEvent(EVENT_FIRMWARE_RESULT, FirmwareImageInfo.tlv());
}


// ---- load, cancel, backup ----------------------------------------------------------

/** A slot's image can be loaded: complete and verified (upload), or simply present (backup). */
function loadable(slot: i32): u32 {
  if (slot == SLOT_RUNNING) return FW_IMAGE_RUNNING;
  if (slot < 0) return FW_UNKNOWN_HASH;
  if (slot == SLOT_UPLOAD) {
    const s = uploadState();
    if (s == UPLOAD_RECEIVING) return FW_IMAGE_INCOMPLETE;
    if (s == UPLOAD_FAILED) return FW_SIGNATURE_FAILED;
  }
  return FW_OK;
}

export function onLoadRequest(r: LoadRequest): void {
  const slot = slotWithHash(r.fileHashPtr, r.fileHashLen);
  let code = r.fileHashLen == 32 ? loadable(slot) : FW_INVALID_REQ;
  // loadTime absent, 0 or 1: now (draft: 1 = load immediately); else a UTC time to come.
  let at: u32 = r.hasLoadTime ? r.loadTime : 0;
  if (code == FW_OK && at > 1) {
    const now = pal_wall_time();
    if (now < 0 || <i64>at < now) code = FW_INVALID_REQ;
  }
  lastLoadTime = at;
  respond(1, r.fileHashPtr, r.fileHashLen, code);
  if (code != FW_OK) return;
  saveState(uploadState(), slot, at, -1);
  armLoad();
}

/** Arms the load timer for the scheduled time (long waits in steps the timer can hold). */
function armLoad(): void {
  const at = loadAt();
  const now = pal_wall_time();
  let wait: i64 = at <= 1 || now < 0 ? 1000 : (<i64>at - now) * 1000;
  if (wait < 0) wait = 0;
  pal_timer_arm(TIMER_LOAD, <u32>min<i64>(wait, 0x7fffffff));
}

export function loadTimer(): void {
  const slot = loadSlot();
  if (slot < 0) return;
  const at = loadAt();
  const now = pal_wall_time();
  if (at > 1 && (now < 0 || now < <i64>at)) { armLoad(); return; }
  // Recorded before the platform acts: a cut in between must not leave a
  // pending load that would activate the old image after the swap.
  saveState(uploadState(), -1, 0, slot);
  if (pal_slot_activate(slot) < 0) {
    logBegin(); logText(A("slot activation refused by the platform")); logEnd(LOG_WARN);
    saveState(uploadState(), -1, 0, -1);
    return;
  }
  logBegin(); logText(A("loading firmware from slot ")); logU(slot); logText(A(", rebooting")); logEnd(LOG_INFO);
  resetStatsNote(RESET_FIRMWARE_LOAD);
  pal_reboot(RESET_FIRMWARE);
}

export function onCancelLoadRequest(r: CancelLoadRequest): void {
  const slot = slotWithHash(r.fileHashPtr, r.fileHashLen);
  let code = FW_OK;
  if (slot < 0) code = FW_UNKNOWN_HASH;
  else if (slot != loadSlot()) code = FW_INVALID_REQ;
  else saveState(uploadState(), -1, 0, -1);
  respond(2, r.fileHashPtr, r.fileHashLen, code);
}

const copyBuf = memory.data(256);

/** Copies the running or upload image into the backup slot. */
export function onSetBackupRequest(r: SetBackupRequest): void {
  const from = slotWithHash(r.fileHashPtr, r.fileHashLen);
  let code = loadable(from == SLOT_RUNNING ? SLOT_BACKUP : from);
  if (from < 0) code = FW_UNKNOWN_HASH;
  else if (from == SLOT_BACKUP) code = FW_OK;
  else if (pal_slot_size(SLOT_BACKUP) < <i32>slotInfo(from).fileSize) code = FW_FILE_SIZE_TOO_BIG;
  else if (code == FW_OK) code = copySlot(from, SLOT_BACKUP, <i32>slotInfo(from).fileSize);
  if (code == FW_OK && from != SLOT_BACKUP) {
    memory.copy(work, changetype<usize>(slotInfo(from)), FirmwareImageInfo_SIZE);
    changetype<FirmwareImageInfo>(work).index = SLOT_BACKUP;
    changetype<FirmwareImageInfo>(work).clearIsDefault();
    slotSet(SLOT_BACKUP, work);
    metaCommit();
  }
  respond(3, r.fileHashPtr, r.fileHashLen, code);
}

function copySlot(from: i32, to: i32, size: i32): u32 {
  // The target is forgotten durably before its flash changes.
  slotForget(to);
  metaCommit();
  if (pal_slot_erase(to) < 0) return FW_FILE_SIZE_TOO_BIG;
  for (let at = 0; at < size; at += 256) {
    const n = min(256, size - at);
    if (pal_slot_read(from, at, copyBuf, n) != n || pal_slot_write(to, at, copyBuf, n) < 0) return FW_INVALID_REQ;
  }
  return FW_OK;
}

// ---- TLV sources ---------------------------------------------------------------------

/** FirmwareImageInfo (75): one row per slot with an image. */
export function fillFirmwareImageInfo(row: i32, s: usize): bool {
  for (let slot = 0; slot < SLOTS; slot++) {
    if (!slotKnown(slot) || row-- != 0) continue;
    memory.copy(s, changetype<usize>(slotInfo(slot)), FirmwareImageInfo_SIZE);
    const f = changetype<FirmwareImageInfo>(s);
    f.index = slot; // the row is the slot, whichever slot the image came through
    f.isRunning = slot == SLOT_RUNNING;
    if (slot == SLOT_UPLOAD) {
      // A window of the bitmap from the first missing block (whole bytes),
      // so the rows of a large image still fit one answer.
      const total = <i32>((blocks + 7) >> 3);
      let first = 0;
      while (first < total && load<u8>(bitmap + first) == 0xff) first++;
      if (first == total) first = 0;
      f.setBitmap(bitmap + first, min(total - first, BITMAP_WINDOW));
      f.bitmapOffset = <u32>first * 8;
    }
    if (slot == loadSlot()) f.loadTime = loadAt();
    return true;
  }
  return false;
}

function fillResponse(which: i32, s: usize): bool {
  // All four response messages share fields 1 (fileHash) and 2 (response).
  const r = changetype<TransferResponse>(s);
  r.setFileHash(lastHash + <usize>which * 32, 32);
  r.response = load<u32>(lastCode + <usize>which * 4);
  if (which == 1) changetype<LoadResponse>(s).loadTime = lastLoadTime;
  return true;
}

export function fillTransferResponse(row: i32, s: usize): bool { return row == 0 && fillResponse(0, s); }
export function fillLoadResponse(row: i32, s: usize): bool { return row == 0 && fillResponse(1, s); }
export function fillCancelLoadResponse(row: i32, s: usize): bool { return row == 0 && fillResponse(2, s); }
export function fillSetBackupResponse(row: i32, s: usize): bool { return row == 0 && fillResponse(3, s); }
