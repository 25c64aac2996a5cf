// TLV framing entry points for the tests (test build only).
import { tlvBegin, tlvNext, tlvType, tlvPen, tlvVendorType, tlvValue, tlvLen, twBegin, twPos, tlvPutRaw } from "./framing";
import { parseTlvId, writeTlvId } from "./tlvid";

/**
 * Walks len bytes at ptr and writes one record of five u32 per TLV at out:
 * type, pen, vendorType, value offset from ptr, value length. Returns the
 * TLV count, or -1 - count when the payload turned out malformed.
 */
export function test_tlv_walk(ptr: usize, len: i32, out: usize, max: i32): i32 {
  tlvBegin(ptr, len);
  let n = 0;
  let rc = tlvNext();
  while (rc == 1 && n < max) {
    const r = out + <usize>n * 20;
    store<u32>(r, tlvType);
    store<u32>(r, tlvPen, 4);
    store<u32>(r, tlvVendorType, 8);
    store<u32>(r, <u32>(tlvValue - ptr), 12);
    store<i32>(r, tlvLen, 16);
    n++;
    rc = tlvNext();
  }
  return rc < 0 ? -1 - n : n;
}

export function test_tlvid_parse(ptr: usize, len: i32): i64 { return parseTlvId(ptr, len); }

export function test_tlvid_write(id: u64, out: usize): i32 { return <i32>(writeTlvId(out, id) - out); }

/** Writes one raw TLV into [out, out+cap); returns the bytes written or -1. */
export function test_tlv_put_raw(type: u32, value: usize, len: i32, out: usize, cap: i32): i32 {
  twBegin(out, cap);
  return tlvPutRaw(type, value, len) ? <i32>(twPos - out) : -1;
}
