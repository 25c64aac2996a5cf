// The vendor's own image signature, checked when the device is provisioned
// with a firmware key (fw.key): at app_len the file carries a u16 length
// (LE) and a DER ECDSA-Sig-Value over SHA-256(file[0, app_len)). A device
// with a key accepts no unsigned image (SIGNATURE_FAILED).
import { pal_slot_read, pal_sha256_start, pal_sha256_update, pal_sha256_finish } from "../pal";
import { fwKey, fwKeySet } from "../device/config";
import { verifySigValue } from "../csmp/signature";

const buf = memory.data(256);
const hash = memory.data(32);

export function verifyVendorSignature(slot: i32, appLen: u32, fileSize: u32): bool {
  if (!fwKeySet) return true;
  if (appLen + 2 > fileSize || pal_slot_read(slot, <i32>appLen, buf, 2) != 2) return false;
  const n = <i32>load<u16>(buf);
  if (n < 8 || n > 80 || appLen + 2 + <u32>n > fileSize) return false;
  pal_sha256_start();
  for (let at: u32 = 0; at < appLen; at += 256) {
    const len = <i32>min<u32>(256, appLen - at);
    if (pal_slot_read(slot, <i32>at, buf, len) != len) return false;
    pal_sha256_update(buf, len);
  }
  pal_sha256_finish(hash);
  if (pal_slot_read(slot, <i32>appLen + 2, buf, n) != n) return false;
  return verifySigValue(buf, n, fwKey, hash);
}
