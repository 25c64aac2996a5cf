// Protobuf base-128 varints over raw memory, shared by the TLV framing and
// the message codec. Readers accept non-minimal encodings (the reference
// agent writes every TLV length as two bytes, e.g. 94 00 = 20); writers emit
// minimal ones.

/** Where the last varintRead stopped (the byte after the varint), or 0 on error. */
export let varintEnd: usize = 0;

/**
 * Reads a varint at p, never past end. Returns its value and sets varintEnd;
 * on truncation or more than 10 bytes varintEnd is 0 (callers check it).
 */
export function varintRead(p: usize, end: usize): u64 {
  let v: u64 = 0;
  for (let shift: u64 = 0; shift < 70 && p < end; shift += 7) {
    const b = load<u8>(p++);
    v |= <u64>(b & 0x7f) << shift;
    if (b < 0x80) { varintEnd = p; return v; }
  }
  varintEnd = 0;
  return 0;
}

/** Bytes a minimal varint of v takes. */
export function varintSize(v: u64): i32 {
  let n = 1;
  while (v >= 0x80) { v >>= 7; n++; }
  return n;
}

/** Writes a minimal varint at p (the caller checked room); returns the byte after it. */
export function varintWrite(p: usize, v: u64): usize {
  while (v >= 0x80) { store<u8>(p++, <u8>(v | 0x80)); v >>= 7; }
  store<u8>(p++, <u8>v);
  return p;
}
