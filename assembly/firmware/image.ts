// Firmware image files: a 256-byte header, the vendor image, a CRC-32 of
// everything before it, then optionally a vendor signature and 0xFF pad.
// Header fields (little-endian), as the real files in shared/vectors have them:
//   0 hdr_version u32 (2)   4 hdr_len u32 (256)   8 app_rev_major   12 app_rev_minor
//   16 app_build   20 app_len (header + image + its CRC: the file without signature)
//   24 app_name[32]  56 git_branch[32]  88 git_commit[8]  96 git_flag u32
//   100 build_date[16]  116 hwid[32]  148 sub_hwid[32]  180 kernel_rev[16]
//   ... zero ...  252 CRC-32 of bytes 0..251
// The CRC is poly 0x04C11DB7, MSB first, init 0, no final xor. The file's
// own CRC (same algorithm) sits in the 4 bytes before app_len. A vendor
// signature, when present, starts at app_len: u16 length (LE), then a DER
// ECDSA-Sig-Value over SHA-256(file[0, app_len)).
import { pal_slot_read, pal_sha256_start, pal_sha256_update, pal_sha256_finish } from "../pal";

export const HEADER_LEN: i32 = 256;
export const HWID_AT: usize = 116;
export const HWID_LEN: i32 = 32;

export const IMAGE_OK: i32 = 0;
export const IMAGE_BAD_HEADER: i32 = 1;   // version/length/CRC of the header
export const IMAGE_BAD_CRC: i32 = 2;      // the file's CRC
export const IMAGE_READ_ERROR: i32 = 3;

export const header = memory.data(HEADER_LEN);
const chunk = memory.data(256);

/** Continues a CRC-32 (poly 0x04C11DB7, MSB first) over len bytes. */
export function crc32(crc: u32, p: usize, len: i32): u32 {
  for (let i = 0; i < len; i++) {
    crc ^= <u32>load<u8>(p + i) << 24;
    for (let b = 0; b < 8; b++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc;
}

/** Reads and checks the header of the file in `slot`; it stays in `header`. */
export function readHeader(slot: i32): i32 {
  if (pal_slot_read(slot, 0, header, HEADER_LEN) != HEADER_LEN) return IMAGE_READ_ERROR;
  if (load<u32>(header) != 2 || load<u32>(header, 4) != <u32>HEADER_LEN) return IMAGE_BAD_HEADER;
  if (crc32(0, header, HEADER_LEN - 4) != load<u32>(header, HEADER_LEN - 4)) return IMAGE_BAD_HEADER;
  return IMAGE_OK;
}

/** app_len of the header last read. */
export function appLen(): u32 { return load<u32>(header, 20); }

/**
 * One pass over the first `size` bytes of slot: their SHA-256 into digest,
 * and the file CRC check over [0, app_len). Returns IMAGE_*.
 */
export function hashSlot(slot: i32, size: i32, digest: usize): i32 {
  const app = <i32>appLen();
  if (app < HEADER_LEN + 4 || app > size) return IMAGE_BAD_HEADER;
  let crc: u32 = 0;
  let stored: u32 = 0;
  pal_sha256_start();
  for (let at = 0; at < size; at += 256) {
    const n = min(256, size - at);
    if (pal_slot_read(slot, at, chunk, n) != n) return IMAGE_READ_ERROR;
    pal_sha256_update(chunk, n);
    // CRC over [0, app - 4); the stored CRC is the 4 bytes before app_len.
    const crcEnd = app - 4;
    if (at < crcEnd) crc = crc32(crc, chunk, min(n, crcEnd - at));
    for (let i = 0; i < n; i++) {
      const pos = at + i;
      if (pos >= crcEnd && pos < app) stored |= <u32>load<u8>(chunk + i) << (<u32>(pos - crcEnd) << 3);
    }
  }
  pal_sha256_finish(digest);
  return crc == stored ? IMAGE_OK : IMAGE_BAD_CRC;
}
