// NMS message signatures: Signature (TLV 77) is the last TLV and signs the
// payload bytes before it with ECDSA P-256 over SHA-256; SignatureValidity
// (TLV 76) bounds when the message may be acted on. What FND puts in
// Signature.value (seen on the wire) is
//   SEQUENCE { OID 1.2.840.10045.4.3.2, BIT STRING { 00, SEQUENCE { INTEGER r, INTEGER s } } }
// and it is parsed strictly: any deviation is a rejection, never a guess.
import { pal_sha256_start, pal_sha256_update, pal_sha256_finish, pal_ecdsa_p256_verify, pal_wall_time } from "../pal";
import { Signature, Signature_SIZE, SignatureValidity, SignatureValidity_SIZE } from "../generated/csmp";
import { pbDecode, PB_OK } from "../proto/codec";
import { nmsKey, nmsKeySet } from "../device/config";
import { bytesEqual } from "../util/text";

export const SIG_OK: i32 = 0;
export const SIG_MISSING: i32 = 1;        // no Signature TLV
export const SIG_NOT_LAST: i32 = 2;       // Signature is not the last TLV
export const SIG_MALFORMED: i32 = 3;      // Signature value is not the expected DER
export const SIG_BAD: i32 = 4;            // verification failed
export const SIG_NO_VALIDITY: i32 = 5;    // SignatureValidity missing or malformed
export const SIG_EXPIRED: i32 = 6;
export const SIG_NOT_YET_VALID: i32 = 7;
export const SIG_NO_TIME: i32 = 8;        // validity cannot be checked without trusted time
export const SIG_NO_KEY: i32 = 9;         // no NMS key provisioned

// ecdsa-with-SHA256, 1.2.840.10045.4.3.2, DER-encoded with its tag and length.
const OID_ECDSA_SHA256: StaticArray<u8> = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

const digest = memory.data(32);
const r = memory.data(32);
const s = memory.data(32);
const sigStruct = memory.data(Signature_SIZE);
const validityStruct = memory.data(SignatureValidity_SIZE);

let dp: usize = 0;
let dend: usize = 0;

/** Reads a DER tag and short-or-long-form length at dp; returns the content length or -1. */
function derHeader(tag: u8): i32 {
  if (dp + 2 > dend || load<u8>(dp) != tag) return -1;
  let len = <i32>load<u8>(dp + 1);
  dp += 2;
  if (len == 0x81) { // long form, one byte, only for lengths that need it
    if (dp >= dend) return -1;
    len = load<u8>(dp++);
    if (len < 0x80) return -1;
  } else if (len > 0x80) {
    return -1;
  }
  if (dp + <usize>len > dend) return -1;
  return len;
}

/** Reads a DER INTEGER holding a positive value below 2^256 into out (32 bytes, left-padded). */
function derUint256(out: usize): bool {
  const len = derHeader(0x02);
  if (len < 1 || len > 33) return false;
  const first = load<u8>(dp);
  if (first & 0x80) return false;                                  // negative
  if (len > 1 && first == 0 && !(load<u8>(dp + 1) & 0x80)) return false; // not minimal
  let p = dp, n = len;
  if (first == 0 && len > 1) { p++; n--; }
  if (n > 32) return false;
  memory.fill(out, 0, 32);
  memory.copy(out + <usize>(32 - n), p, <usize>n);
  dp += <usize>len;
  return true;
}

/** Parses FND's signature encoding into r and s. */
function parseSignature(ptr: usize, len: i32): bool {
  dp = ptr;
  dend = ptr + <usize>len;
  if (derHeader(0x30) != <i32>(dend - dp)) return false;
  const oid = changetype<usize>(OID_ECDSA_SHA256);
  if (dp + 10 > dend || !bytesEqual(dp, oid, 10)) return false;
  dp += 10;
  const bits = derHeader(0x03);
  if (bits < 2 || dp + <usize>bits != dend || load<u8>(dp) != 0) return false;
  dp++;
  return sigValue();
}

/** The DER ECDSA-Sig-Value SEQUENCE { INTEGER r, INTEGER s } at dp, filling all of [dp, dend). */
function sigValue(): bool {
  if (derHeader(0x30) != <i32>(dend - dp)) return false;
  return derUint256(r) && derUint256(s) && dp == dend;
}

/**
 * Verifies a bare DER ECDSA-Sig-Value (len bytes at ptr) over the SHA-256
 * digest computed last (sha256Finish into `digest`) with key (65 bytes).
 */
export function verifySigValue(ptr: usize, len: i32, key: usize, hash: usize): bool {
  dp = ptr;
  dend = ptr + <usize>len;
  return sigValue() && pal_ecdsa_p256_verify(key, hash, r, s) == 1;
}

/**
 * Checks the signature of a payload. signedLen = bytes before the Signature
 * TLV; sig/sigLen = the Signature TLV's value; validity = the
 * SignatureValidity TLV's value or 0 when absent. checkValidity / needTime
 * follow SignatureSettings. Returns SIG_OK or the reason for rejection.
 */
export function verifySignedPayload(
  payload: usize, signedLen: i32, sig: usize, sigLen: i32,
  validity: usize, validityLen: i32, checkValidity: bool, needTime: bool,
): i32 {
  if (!nmsKeySet) return SIG_NO_KEY;
  if (checkValidity) {
    if (validity == 0 || pbDecode(SignatureValidity.desc(), validityStruct, validity, validityLen) != PB_OK) return SIG_NO_VALIDITY;
    const v = changetype<SignatureValidity>(validityStruct);
    if (!v.hasNotBefore || !v.hasNotAfter) return SIG_NO_VALIDITY;
    const now = pal_wall_time();
    if (now < 0) {
      if (needTime) return SIG_NO_TIME;
    } else {
      if (now < <i64>v.notBefore) return SIG_NOT_YET_VALID;
      if (now > <i64>v.notAfter) return SIG_EXPIRED;
    }
  }
  if (pbDecode(Signature.desc(), sigStruct, sig, sigLen) != PB_OK) return SIG_MALFORMED;
  const st = changetype<Signature>(sigStruct);
  if (!st.hasValue || !parseSignature(st.valuePtr, st.valueLen)) return SIG_MALFORMED;
  pal_sha256_start();
  pal_sha256_update(payload, signedLen);
  pal_sha256_finish(digest);
  return pal_ecdsa_p256_verify(nmsKey, digest, r, s) == 1 ? SIG_OK : SIG_BAD;
}
