// ASCII helpers over (ptr, len) views: configuration values, URIs and TLV ids
// are parsed in place, never copied into managed strings.

/** True when the view holds exactly the counted ASCII text t (an A("...")). */
export function viewEq(ptr: usize, len: i32, t: usize): bool {
  return len == <i32>load<u8>(t) && bytesEqual(ptr, t + 1, len);
}

/** True when the view starts with the counted ASCII text t. */
export function viewStarts(ptr: usize, len: i32, t: usize): bool {
  const n = <i32>load<u8>(t);
  return len >= n && bytesEqual(ptr, t + 1, n);
}

/** Value of a hex digit, or -1. */
export function hexVal(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Where parseDecimal stopped. */
export let decimalEnd: usize = 0;

/**
 * Parses an unsigned decimal at [p, end); returns -1 when there is no digit
 * or the value exceeds 0xffffffff. Sets decimalEnd to the first non-digit.
 */
export function parseDecimal(p: usize, end: usize): i64 {
  let v: i64 = 0;
  const start = p;
  while (p < end) {
    const c = <i32>load<u8>(p);
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    if (v > 0xffffffff) return -1;
    p++;
  }
  decimalEnd = p;
  return p == start ? -1 : v;
}

/** Parses a whole view as an unsigned decimal (-1 if anything else is in it). */
export function viewDecimal(ptr: usize, len: i32): i64 {
  const v = parseDecimal(ptr, ptr + len);
  return decimalEnd == ptr + len ? v : -1;
}

/** Writes v in decimal at p; returns the byte after it. */
export function writeDecimal(p: usize, v: u32): usize {
  let digits: usize = 1;
  for (let t = v / 10; t != 0; t /= 10) digits++;
  for (let i = digits; i > 0; i--) { store<u8>(p + i - 1, <u8>(0x30 + v % 10)); v /= 10; }
  return p + digits;
}

/**
 * Decodes a hex view into bytes at out (out may equal ptr: decoding in
 * place is safe because output never overtakes input). Returns the byte
 * count, or -1 on an odd length, a non-hex digit or more than cap bytes.
 */
export function hexDecode(ptr: usize, len: i32, out: usize, cap: i32): i32 {
  if (len & 1 || (len >> 1) > cap) return -1;
  for (let i = 0; i < len; i += 2) {
    const hi = hexVal(load<u8>(ptr + i));
    const lo = hexVal(load<u8>(ptr + i + 1));
    if (hi < 0 || lo < 0) return -1;
    store<u8>(out + (i >> 1), <u8>(hi << 4 | lo));
  }
  return len >> 1;
}

/** True when n bytes at a and b are equal. */
export function bytesEqual(a: usize, b: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}
