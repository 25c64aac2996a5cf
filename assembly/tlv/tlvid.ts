// TLV ids as the NMS writes them in TlvIndex, ReportSubscribe,
// DescriptionRequest and the `q` query option: decimal ("11") or, for vendor
// TLVs, "e<PEN>.<type>" ("e26866.3"). In the agent an id is one u64:
// PEN << 32 | type, PEN 0 for standard TLVs.
import { parseDecimal, decimalEnd, writeDecimal } from "../util/text";

@inline export function tlvId(pen: u32, type: u32): u64 { return <u64>pen << 32 | type; }
@inline export function tlvIdPen(id: u64): u32 { return <u32>(id >> 32); }
@inline export function tlvIdType(id: u64): u32 { return <u32>id; }

/** Parses a whole view as a TLV id; -1 when it is not one. */
export function parseTlvId(ptr: usize, len: i32): i64 {
  const end = ptr + <usize>len;
  if (len > 0 && (load<u8>(ptr) | 0x20) == 0x65) { // 'e' or 'E'
    const pen = parseDecimal(ptr + 1, end);
    if (pen < 0 || decimalEnd >= end || load<u8>(decimalEnd) != 0x2e) return -1;
    const type = parseDecimal(decimalEnd + 1, end);
    if (type < 0 || decimalEnd != end) return -1;
    return <i64>tlvId(<u32>pen, <u32>type);
  }
  const type = parseDecimal(ptr, end);
  if (type < 0 || decimalEnd != end) return -1;
  return type;
}

/** Writes the id's text at p (at most 22 bytes); returns the byte after it. */
export function writeTlvId(p: usize, id: u64): usize {
  const pen = tlvIdPen(id);
  if (pen != 0) {
    store<u8>(p++, 0x65);
    p = writeDecimal(p, pen);
    store<u8>(p++, 0x2e);
  }
  return writeDecimal(p, tlvIdType(id));
}
