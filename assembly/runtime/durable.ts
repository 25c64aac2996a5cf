// Durable records through the PAL. Keys are string literals turned into
// ASCII in a static buffer; values are opaque bytes whose atomic replacement
// the platform guarantees (pal.store_write).
import { pal_store_read, pal_store_write, pal_store_erase } from "../pal";
import { pbEncode, pbDecode, PB_OK } from "../proto/codec";
import { logBegin, logText, logBytes, logI, logEnd, LOG_WARN } from "./log";

// Keys are counted ASCII texts, A("session"): bytes at k + 1, length at k.
@inline function keyLen(k: usize): i32 { return load<u8>(k); }

function storageError(op: usize, k: usize, rc: i32): void {
  logBegin(); logText(A("storage ")); logText(op); logText(A(" ")); logBytes(k + 1, keyLen(k)); logText(A(" failed: ")); logI(rc); logEnd(LOG_WARN);
}

/** Reads record k into buf; returns its length, or -1 when absent, unreadable or larger than cap. */
export function recordRead(k: usize, buf: usize, cap: i32): i32 {
  const n = pal_store_read(k + 1, keyLen(k), buf, cap);
  if (n < -1) storageError(A("read"), k, n);
  if (n > cap) { storageError(A("read (record too large)"), k, n); return -1; }
  return n < 0 ? -1 : n;
}

export function recordWrite(k: usize, buf: usize, len: i32): bool {
  const rc = pal_store_write(k + 1, keyLen(k), buf, len);
  if (rc < 0) storageError(A("write"), k, rc);
  return rc >= 0;
}

export function recordErase(k: usize): void {
  const rc = pal_store_erase(k + 1, keyLen(k));
  if (rc < 0) storageError(A("erase"), k, rc);
}

/** Saves a struct as its protobuf encoding (through buf, cap bytes). */
export function structWrite(k: usize, desc: usize, struct: usize, buf: usize, cap: i32): bool {
  const n = pbEncode(desc, struct, buf, cap);
  if (n < 0) { storageError(A("encode"), k, n); return false; }
  return recordWrite(k, buf, n);
}

/**
 * Loads a struct saved by structWrite: the record's bytes land in buf, which
 * must stay untouched while the struct is used (its strings point there).
 */
export function structRead(k: usize, desc: usize, struct: usize, buf: usize, cap: i32): bool {
  const n = recordRead(k, buf, cap);
  if (n < 0) return false;
  if (pbDecode(desc, struct, buf, n) != PB_OK) { storageError(A("decode"), k, -1); return false; }
  return true;
}
