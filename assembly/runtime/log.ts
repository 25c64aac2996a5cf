// Log lines assembled in one static buffer: logging must work on the
// allocation-free paths and when the heap is exhausted.
import { pal_log } from "../pal";

export const LOG_ERROR: i32 = 0;
export const LOG_WARN: i32 = 1;
export const LOG_INFO: i32 = 2;
export const LOG_DEBUG: i32 = 3;

const LOG_CAP: i32 = 160;
const line = memory.data(LOG_CAP);
let used: i32 = 0;

/** Starts a new line. */
export function logBegin(): void { used = 0; }

/**
 * Appends a counted ASCII text: A("...") in the sources, which the build's
 * transform (scripts/ascii-transform.mjs) turns into static bytes
 * [length, ...text]. AssemblyScript's own strings are UTF-16 and would cost
 * twice the space.
 */
export function logText(t: usize): void { logBytes(t + 1, load<u8>(t)); }

/** Appends raw bytes (e.g. a text field viewed in a buffer). */
export function logBytes(ptr: usize, len: i32): void {
  for (let i = 0; i < len && used < LOG_CAP; i++) store<u8>(line + used++, load<u8>(ptr + i));
}

/** Appends an unsigned decimal number. */
export function logU(v: u64): void {
  let digits: i32 = 1;
  for (let t = v / 10; t != 0; t /= 10) digits++;
  if (used + digits > LOG_CAP) return;
  for (let i = digits - 1; i >= 0; i--) { store<u8>(line + used + i, <u8>(0x30 + v % 10)); v /= 10; }
  used += digits;
}

/** Appends a signed decimal number. */
export function logI(v: i64): void {
  if (v < 0) { logText(A("-")); logU(<u64>(-v)); } else logU(<u64>v);
}

/** Appends bytes as lowercase hex. */
export function logHex(ptr: usize, len: i32): void {
  for (let i = 0; i < len && used + 2 <= LOG_CAP; i++) {
    const b = load<u8>(ptr + i);
    store<u8>(line + used++, hexDigit(b >> 4));
    store<u8>(line + used++, hexDigit(b & 15));
  }
}

function hexDigit(d: u8): u8 { return d < 10 ? 0x30 + d : 0x57 + d; }

/** Emits the line at the given level. */
export function logEnd(level: i32): void { pal_log(level, line, used); }

/** One-call form for a constant message. */
export function log(level: i32, t: usize): void { logBegin(); logText(t); logEnd(level); }
