// Table-driven, presence-aware protobuf codec (the nanopb idea): one generic
// encoder and decoder walk descriptor tables that scripts/gen-tlv-codec.mjs
// generates from proto/csmp.proto, over plain structs in linear memory.
//
// Why tables: the CSMP schema has ~70 messages; generated per-message code
// would not fit a 32 KiB module, tables do. Why structs: decoding allocates
// nothing, strings and bytes are (ptr, len) views into the source buffer.
//
// Struct layout (the generator computes it; codec and accessors share it):
//   [presence bitmap: one bit per field, in declaration order][pad to 4]
//   fields at 4-aligned offsets:
//     32-bit scalars, bool, fixed32, float: 4 bytes
//     64-bit scalars, fixed64, double: 8 bytes
//     string / bytes: u32 ptr + u32 len (a view, never a copy)
//     message: the sub-struct inline
//     repeated: u32 count, then `cap` elements of the above
// Descriptor (bytes): fieldCount u8, presenceBytes u8, structSize u16, then per
// field: number u16, kind u8 (| REPEATED), cap u8, offset u16 and, for message
// kinds only, u16 offset of the sub-descriptor from PB_TABLE.
import { varintRead, varintEnd, varintSize, varintWrite } from "./varint";
import { PB_TABLE, PB_TLV_DIR } from "../generated/csmp";

export const K_UINT32: u8 = 0;  // uint32
export const K_INT32: u8 = 1;   // int32, enum: negative values go out as 10-byte varints
export const K_SINT32: u8 = 2;  // zigzag
export const K_BOOL: u8 = 3;
export const K_UINT64: u8 = 4;
export const K_INT64: u8 = 5;
export const K_SINT64: u8 = 6;
export const K_FIXED32: u8 = 7; // fixed32, sfixed32, float
export const K_FIXED64: u8 = 8; // fixed64, sfixed64, double
export const K_BYTES: u8 = 9;   // bytes, string
export const K_MESSAGE: u8 = 10;
export const REPEATED: u8 = 0x80;

export const PB_OK: i32 = 0;
/** Decoded, but a repeated field had more elements than its capacity: the extra ones were dropped. */
export const PB_TRUNCATED: i32 = 1;
/** Not a valid encoding of the message (the struct content is unspecified). */
export const PB_MALFORMED: i32 = -1;

// ---- descriptor access -------------------------------------------------------

@inline export function pbFieldCount(desc: usize): i32 { return load<u8>(desc); }
@inline export function pbStructSize(desc: usize): i32 { return load<u16>(desc, 2); }
/** Offset of a field entry's slot in its struct. */
@inline export function pbFieldSlot(field: usize): usize { return <usize>load<u16>(field, 4); }
@inline function fieldEntrySize(kind: u8): usize { return (kind & 0x7f) == K_MESSAGE ? 8 : 6; }
@inline function subDesc(field: usize): usize { return PB_TABLE + <usize>load<u16>(field, 6); }

function slotSize(field: usize): usize {
  const k = load<u8>(field, 2) & 0x7f;
  if (k == K_MESSAGE) return <usize>pbStructSize(subDesc(field));
  return k >= K_UINT64 && k != K_FIXED32 ? 8 : 4;
}

function wireType(kind: u8): u32 {
  if (kind >= K_BYTES) return 2;
  if (kind == K_FIXED32) return 5;
  if (kind == K_FIXED64) return 1;
  return 0;
}

// ---- presence ----------------------------------------------------------------

export function pbHas(obj: usize, bit: i32): bool {
  return (load<u8>(obj + (<usize>bit >> 3)) & (1 << (bit & 7))) != 0;
}
export function pbSetHas(obj: usize, bit: i32): void {
  const p = obj + (<usize>bit >> 3);
  store<u8>(p, load<u8>(p) | <u8>(<i32>1 << (bit & 7)));
}
@inline export function pbClearHas(obj: usize, bit: i32): void {
  const p = obj + (<usize>bit >> 3);
  store<u8>(p, load<u8>(p) & ~<u8>(<i32>1 << (bit & 7)));
}

/**
 * Adds one to the u32 field `number` of obj (present afterwards). For
 * counters kept as TLVs, without a setter per field.
 */
export function pbBump(desc: usize, obj: usize, number: u32): void {
  const f = pbFindField(desc, number);
  const slot = obj + pbFieldSlot(f);
  store<u32>(slot, load<u32>(slot) + 1);
  pbSetHas(obj, pbFieldIndex(desc, f));
}

/** The nested message field `number` of obj, marked present (cleared when it was absent). */
export function pbUse(desc: usize, obj: usize, number: u32): usize {
  const f = pbFindField(desc, number);
  const bit = pbFieldIndex(desc, f);
  const slot = obj + pbFieldSlot(f);
  if (!pbHas(obj, bit)) { pbClear(subDesc(f), slot); pbSetHas(obj, bit); }
  return slot;
}

/** Makes every field of the struct absent (and every repeated field empty). */
export function pbClear(desc: usize, obj: usize): void {
  memory.fill(obj, 0, <usize>pbStructSize(desc));
}

// ---- decoding ------------------------------------------------------------------

let truncated = false;

/**
 * Decodes len bytes at src into the struct at dst (cleared first). Unknown
 * fields are skipped; strings and bytes point into src, which must outlive
 * the struct's use. Returns PB_OK, PB_TRUNCATED or PB_MALFORMED.
 */
export function pbDecode(desc: usize, dst: usize, src: usize, len: i32): i32 {
  truncated = false;
  pbClear(desc, dst);
  if (!decodeInto(desc, dst, src, src + <usize>len)) return PB_MALFORMED;
  return truncated ? PB_TRUNCATED : PB_OK;
}

/** The descriptor entry of field `number`, or 0 when the message has none. */
export function pbFindField(desc: usize, number: u32): usize {
  let f = desc + 4;
  for (let i = pbFieldCount(desc); i > 0; i--) {
    if (<u32>load<u16>(f) == number) return f;
    f += fieldEntrySize(load<u8>(f, 2));
  }
  return 0;
}

/** The presence bit of a field entry (its position in the descriptor). */
export function pbFieldIndex(desc: usize, field: usize): i32 {
  let f = desc + 4;
  let i = 0;
  while (f != field) { f += fieldEntrySize(load<u8>(f, 2)); i++; }
  return i;
}

function decodeInto(desc: usize, dst: usize, p: usize, end: usize): bool {
  while (p < end) {
    const key = varintRead(p, end);
    if (varintEnd == 0 || key > 0xffffffff) return false;
    p = varintEnd;
    const wt = <u32>key & 7;
    if (key >> 3 == 0) return false;
    const field = pbFindField(desc, <u32>(key >> 3));
    if (field == 0) {
      p = skipValue(wt, p, end);
      if (p == 0) return false;
      continue;
    }
    const kind = load<u8>(field, 2);
    const base = kind & 0x7f;
    if (wt != wireType(base)) {
      // Repeated scalars may arrive packed (proto3's default) or one by one.
      if (!(kind & REPEATED) || wt != 2 || base >= K_BYTES) return false;
      const n = varintRead(p, end);
      if (varintEnd == 0 || n > <u64>(end - varintEnd)) return false;
      const stop = varintEnd + <usize>n;
      p = varintEnd;
      while (p < stop) {
        p = decodeElement(desc, dst, field, p, stop);
        if (p == 0) return false;
      }
      continue;
    }
    p = decodeElement(desc, dst, field, p, end);
    if (p == 0) return false;
  }
  return true;
}

/** Decodes one value of `field` at p into its slot; returns the next position or 0. */
function decodeElement(desc: usize, dst: usize, field: usize, p: usize, end: usize): usize {
  const kind = load<u8>(field, 2);
  const base = kind & 0x7f;
  const bit = pbFieldIndex(desc, field);
  let slot = dst + <usize>load<u16>(field, 4);
  if (kind & REPEATED) {
    const count = load<u32>(slot);
    if (count >= <u32>load<u8>(field, 3)) {
      truncated = true;
      return skipValue(wireType(base), p, end);
    }
    store<u32>(slot, count + 1);
    slot += 4 + <usize>count * slotSize(field);
    if (base == K_MESSAGE) pbClear(subDesc(field), slot);
  } else if (base == K_MESSAGE && !pbHas(dst, bit)) {
    pbClear(subDesc(field), slot);
  }
  pbSetHas(dst, bit);

  if (base == K_FIXED32) {
    if (p + 4 > end) return 0;
    store<u32>(slot, load<u32>(p));
    return p + 4;
  }
  if (base == K_FIXED64) {
    if (p + 8 > end) return 0;
    store<u64>(slot, load<u64>(p));
    return p + 8;
  }
  const v = varintRead(p, end);
  if (varintEnd == 0) return 0;
  p = varintEnd;
  if (base >= K_BYTES) {
    if (v > <u64>(end - p)) return 0;
    const n = <usize>v;
    if (base == K_BYTES) {
      store<u32>(slot, <u32>p);
      store<u32>(slot, <u32>n, 4);
    } else if (!decodeInto(subDesc(field), slot, p, p + n)) {
      return 0;
    }
    return p + n;
  }
  if (base == K_SINT32) store<u32>(slot, <u32>(v >> 1) ^ -<u32>(v & 1));
  else if (base == K_BOOL) store<u32>(slot, v != 0 ? 1 : 0);
  else if (base == K_SINT64) store<u64>(slot, (v >> 1) ^ -(v & 1));
  else if (base >= K_UINT64) store<u64>(slot, v);
  else store<u32>(slot, <u32>v);
  return p;
}

/** Skips one value of an unknown field; returns the next position or 0 when malformed. */
function skipValue(wt: u32, p: usize, end: usize): usize {
  if (wt == 0) {
    varintRead(p, end);
    return varintEnd;
  }
  if (wt == 1) return p + 8 <= end ? p + 8 : 0;
  if (wt == 5) return p + 4 <= end ? p + 4 : 0;
  if (wt == 2) {
    const n = varintRead(p, end);
    if (varintEnd == 0 || n > <u64>(end - varintEnd)) return 0;
    return varintEnd + <usize>n;
  }
  return 0; // groups (3, 4) do not exist in proto3; 6, 7 are invalid
}

// ---- encoding ------------------------------------------------------------------

// The writer either measures (counts bytes, writes nothing) or writes with a
// bound; measuring is how nested messages learn their length prefix.
let wp: usize = 0;
let wend: usize = 0;
let measuring = false;
let overflow = false;

function room(n: usize): bool {
  if (measuring) return true;
  if (wp + n > wend) { overflow = true; return false; }
  return true;
}

function putVarint(v: u64): void {
  const n = <usize>varintSize(v);
  if (!room(n)) return;
  if (!measuring) varintWrite(wp, v);
  wp += n;
}

function putRaw(src: usize, n: usize): void {
  if (!room(n)) return;
  if (!measuring) memory.copy(wp, src, n);
  wp += n;
}

/**
 * Encodes the present fields of the struct at src into [out, out+cap).
 * Returns the encoded length, or -1 when it does not fit (out is then
 * partially written).
 */
export function pbEncode(desc: usize, src: usize, out: usize, cap: i32): i32 {
  wp = out;
  wend = out + <usize>cap;
  measuring = false;
  overflow = false;
  encodeFields(desc, src);
  return overflow ? -1 : <i32>(wp - out);
}

function measure(desc: usize, src: usize): usize {
  const savedWp = wp;
  const savedMeasuring = measuring;
  measuring = true;
  wp = 0;
  encodeFields(desc, src);
  const n = wp;
  wp = savedWp;
  measuring = savedMeasuring;
  return n;
}

function encodeFields(desc: usize, src: usize): void {
  let f = desc + 4;
  const count = pbFieldCount(desc);
  for (let i = 0; i < count && !overflow; i++) {
    const kind = load<u8>(f, 2);
    const base = kind & 0x7f;
    const number = <u64>load<u16>(f);
    const slot = src + <usize>load<u16>(f, 4);
    if (kind & REPEATED) {
      const n = load<u32>(slot);
      const size = slotSize(f);
      if (n != 0 && base < K_BYTES) {
        // Packed, as proto3 encoders do by default.
        putVarint(number << 3 | 2);
        let bytes: usize = 0;
        for (let e: u32 = 0; e < n; e++) bytes += scalarSize(base, slot + 4 + <usize>e * size);
        putVarint(<u64>bytes);
        for (let e: u32 = 0; e < n; e++) putScalar(base, slot + 4 + <usize>e * size);
      } else {
        for (let e: u32 = 0; e < n; e++) {
          putVarint(number << 3 | 2);
          putValue(f, base, slot + 4 + <usize>e * size);
        }
      }
    } else if (pbHas(src, i)) {
      putVarint(number << 3 | <u64>wireType(base));
      putValue(f, base, slot);
    }
    f += fieldEntrySize(kind);
  }
}

function putValue(field: usize, base: u8, slot: usize): void {
  if (base == K_BYTES) {
    const n = <usize>load<u32>(slot, 4);
    putVarint(<u64>n);
    putRaw(<usize>load<u32>(slot), n);
  } else if (base == K_MESSAGE) {
    const sub = subDesc(field);
    putVarint(<u64>measure(sub, slot));
    encodeFields(sub, slot);
  } else {
    putScalar(base, slot);
  }
}

/** The wire value of a varint-kind scalar in its slot. */
function varintValue(base: u8, slot: usize): u64 {
  if (base == K_INT32) return <u64><i64>load<i32>(slot);
  if (base == K_SINT32) { const v = load<i32>(slot); return <u64><u32>((v << 1) ^ (v >> 31)); }
  if (base == K_SINT64) { const v = load<i64>(slot); return <u64>((v << 1) ^ (v >> 63)); }
  if (base >= K_UINT64) return load<u64>(slot);
  return <u64>load<u32>(slot);
}

function scalarSize(base: u8, slot: usize): usize {
  if (base == K_FIXED32) return 4;
  if (base == K_FIXED64) return 8;
  return <usize>varintSize(varintValue(base, slot));
}

function putScalar(base: u8, slot: usize): void {
  if (base == K_FIXED32) putRaw(slot, 4);
  else if (base == K_FIXED64) putRaw(slot, 8);
  else putVarint(varintValue(base, slot));
}

// ---- TLV directory -------------------------------------------------------------

/** The descriptor of the message carried by TLV type `tlv`, or 0 when the schema has none. */
export function pbTlvDesc(tlv: u32): usize {
  const n = <u32>load<u16>(PB_TLV_DIR);
  for (let i: u32 = 0; i < n; i++) {
    const e = PB_TLV_DIR + 2 + (<usize>i << 2);
    if (<u32>load<u16>(e) == tlv) return PB_TABLE + <usize>load<u16>(e, 2);
  }
  return 0;
}
