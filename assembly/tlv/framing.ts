// CSMP payload framing: a sequence of `varint type | varint length | value`.
//
// Vendor TLVs (type 127) come in two encodings and the reader takes both:
//   deployed (Cisco agent, FND 5.0): 127 | varint PEN | varint vendorType | varint length | value
//   draft-09 text:                   127 | varint length | SubTLVs, SubType 1 = PEN first
// Each draft SubTLV after the PEN is yielded as its own vendor TLV, so callers
// see one shape: tlvType 127 with tlvPen and tlvVendorType set. The writer
// emits the deployed form (README: "Vendor TLVs").
import { varintRead, varintEnd, varintSize, varintWrite } from "../proto/varint";
import { pbEncode } from "../proto/codec";

export const TLV_VENDOR: u32 = 127;
/** Draft-09 SubType carrying the vendor's IANA Private Enterprise Number. */
const SUBTYPE_PEN: u64 = 1;

// ---- reader --------------------------------------------------------------------

export let tlvType: u32 = 0;
/** Vendor TLVs: the vendor's PEN and its own TLV type; 0 otherwise. */
export let tlvPen: u32 = 0;
export let tlvVendorType: u32 = 0;
export let tlvValue: usize = 0;
export let tlvLen: i32 = 0;
/** First byte of the current TLV (signatures cover payload bytes up to a TLV start). */
export let tlvStart: usize = 0;

let rp: usize = 0;
let rend: usize = 0;
// Inside a draft-form vendor TLV: where its SubTLVs end, and its PEN.
let subEnd: usize = 0;
let subPen: u32 = 0;

export function tlvBegin(ptr: usize, len: i32): void {
  rp = ptr;
  rend = ptr + <usize>len;
  subEnd = 0;
}

/** Steps to the next TLV: 1 when there is one, 0 at the end, -1 when the payload is malformed. */
export function tlvNext(): i32 {
  if (subEnd != 0) {
    if (rp < subEnd) return nextSubTlv();
    subEnd = 0;
  }
  if (rp >= rend) return 0;
  tlvStart = rp;
  const type = varintRead(rp, rend);
  if (varintEnd == 0 || type > 0xffffffff) return -1;
  tlvType = <u32>type;
  tlvPen = 0;
  tlvVendorType = 0;
  if (tlvType == TLV_VENDOR) return vendorTlv(varintEnd);
  return takeValue(varintEnd, rend);
}

/** Reads `varint length | value` at p within [.., end) into tlvValue/tlvLen. */
function takeValue(p: usize, end: usize): i32 {
  const len = varintRead(p, end);
  if (varintEnd == 0 || len > <u64>(end - varintEnd)) return -1;
  tlvValue = varintEnd;
  tlvLen = <i32>len;
  rp = tlvValue + <usize>len;
  return 1;
}

function vendorTlv(p: usize): i32 {
  if (isDraftVendor(p)) {
    // 127 | length | SubType 1 | length | PEN | more SubTLVs
    const len = varintRead(p, rend);
    subEnd = varintEnd + <usize>len;
    varintRead(varintEnd, subEnd);          // SubType 1
    const penLen = varintRead(varintEnd, subEnd);
    const penAt = varintEnd;
    subPen = readPen(penAt, <i32>penLen);
    rp = penAt + <usize>penLen;
    if (rp >= subEnd) {                     // a PEN and nothing else: an empty vendor TLV
      rp = subEnd; subEnd = 0;
      tlvPen = subPen; tlvValue = rp; tlvLen = 0;
      return 1;
    }
    return nextSubTlv();
  }
  const pen = varintRead(p, rend);
  if (varintEnd == 0 || pen > 0xffffffff) return -1;
  const vtype = varintRead(varintEnd, rend);
  if (varintEnd == 0 || vtype > 0xffffffff) return -1;
  tlvPen = <u32>pen;
  tlvVendorType = <u32>vtype;
  return takeValue(varintEnd, rend);
}

function nextSubTlv(): i32 {
  tlvStart = rp;
  tlvType = TLV_VENDOR;
  tlvPen = subPen;
  const sub = varintRead(rp, subEnd);
  if (varintEnd == 0 || sub > 0xffffffff) return -1;
  tlvVendorType = <u32>sub;
  return takeValue(varintEnd, subEnd);
}

/**
 * The draft form is recognised only when the bytes parse as it exactly: a
 * length that fits, a first SubTLV of type 1 holding a PEN, and SubTLVs that
 * end precisely at that length. Anything else is read as the deployed form.
 */
function isDraftVendor(p: usize): bool {
  const len = varintRead(p, rend);
  if (varintEnd == 0 || len > <u64>(rend - varintEnd) || len < 3) return false;
  let q = varintEnd;
  const end = q + <usize>len;
  let first = true;
  while (q < end) {
    const sub = varintRead(q, end);
    if (varintEnd == 0 || (first && sub != SUBTYPE_PEN)) return false;
    const n = varintRead(varintEnd, end);
    if (varintEnd == 0 || n > <u64>(end - varintEnd) || (first && (n == 0 || n > 5))) return false;
    q = varintEnd + <usize>n;
    first = false;
  }
  return q == end;
}

/** The PEN SubTLV's value: a varint, or (when that does not fill it) big-endian bytes. */
function readPen(p: usize, len: i32): u32 {
  const v = varintRead(p, p + <usize>len);
  if (varintEnd == p + <usize>len && v <= 0xffffffff) return <u32>v;
  let be: u32 = 0;
  for (let i = 0; i < len && i < 4; i++) be = be << 8 | load<u8>(p + i);
  return be;
}

// ---- writer --------------------------------------------------------------------

/** Writer position; tlvPut* append here and never pass twEnd. */
export let twPos: usize = 0;
export let twEnd: usize = 0;

export function twBegin(ptr: usize, cap: i32): void {
  twPos = ptr;
  twEnd = ptr + <usize>cap;
}

/**
 * Appends one TLV carrying the struct encoded with descriptor desc
 * (vendor: pen != 0, type is then the vendor's type). Returns false, with
 * nothing appended, when it does not fit.
 */
export function tlvPutMessage(type: u32, pen: u32, desc: usize, struct: usize): bool {
  const start = twPos;
  let p = start;
  const headerMax: usize = pen != 0 ? 15 : 5;
  if (p + headerMax + 1 > twEnd) return false;
  if (pen != 0) { p = varintWrite(p, TLV_VENDOR); p = varintWrite(p, pen); }
  p = varintWrite(p, type);
  // Encode after one reserved length byte, then widen the length if needed.
  const room = <i32>(twEnd - p - 1);
  const n = pbEncode(desc, struct, p + 1, room);
  if (n < 0) return false;
  const lenSize = <usize>varintSize(<u64>n);
  if (lenSize > 1) {
    if (p + lenSize + <usize>n > twEnd) return false;
    memory.copy(p + lenSize, p + 1, <usize>n);
  }
  varintWrite(p, <u64>n);
  twPos = p + lenSize + <usize>n;
  return true;
}

/** Appends one TLV with a raw value. Returns false when it does not fit. */
export function tlvPutRaw(type: u32, value: usize, len: i32): bool {
  const need = <usize>(varintSize(type) + varintSize(<u64>len) + len);
  if (twPos + need > twEnd) return false;
  let p = varintWrite(twPos, type);
  p = varintWrite(p, <u64>len);
  memory.copy(p, value, <usize>len);
  twPos = p + <usize>len;
  return true;
}
