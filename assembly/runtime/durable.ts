// Durable records through the PAL. Keys are string literals turned into
// ASCII in a static buffer; values are opaque bytes whose atomic replacement
// the platform guarantees (pal.store_write).
import { pal_store_read, pal_store_write, pal_store_erase } from "../pal";
import { pbEncode, pbDecode, PB_OK } from "../proto/codec";
import { logBegin, logStr, logI, logEnd, LOG_WARN } from "./log";

const keyBuf = memory.data(32);

function key(k: string): i32 {
  const n = k.length;
  for (let i = 0; i < n; i++) store<u8>(keyBuf + i, <u8>k.charCodeAt(i));
  return n;
}

function storageError(op: string, k: string, rc: i32): void {
  logBegin(); logStr("storage "); logStr(op); logStr(" "); logStr(k); logStr(" failed: "); logI(rc); logEnd(LOG_WARN);
}

/** Reads record k into buf; returns its length, or -1 when absent, unreadable or larger than cap. */
export function recordRead(k: string, buf: usize, cap: i32): i32 {
  const n = pal_store_read(keyBuf, key(k), buf, cap);
  if (n < -1) storageError("read", k, n);
  if (n > cap) { storageError("read (record too large)", k, n); return -1; }
  return n < 0 ? -1 : n;
}

export function recordWrite(k: string, buf: usize, len: i32): bool {
  const rc = pal_store_write(keyBuf, key(k), buf, len);
  if (rc < 0) storageError("write", k, rc);
  return rc >= 0;
}

export function recordErase(k: string): void {
  const rc = pal_store_erase(keyBuf, key(k));
  if (rc < 0) storageError("erase", k, rc);
}

/** Saves a struct as its protobuf encoding (through buf, cap bytes). */
export function structWrite(k: string, desc: usize, struct: usize, buf: usize, cap: i32): bool {
  const n = pbEncode(desc, struct, buf, cap);
  if (n < 0) { storageError("encode", k, n); return false; }
  return recordWrite(k, buf, n);
}

/**
 * Loads a struct saved by structWrite: the record's bytes land in buf, which
 * must stay untouched while the struct is used (its strings point there).
 */
export function structRead(k: string, desc: usize, struct: usize, buf: usize, cap: i32): bool {
  const n = recordRead(k, buf, cap);
  if (n < 0) return false;
  if (pbDecode(desc, struct, buf, n) != PB_OK) { storageError("decode", k, -1); return false; }
  return true;
}
