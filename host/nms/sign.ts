// NMS message signing as Cisco FND does it: SignatureValidity (TLV 76) and
// Signature (TLV 77) appended last; the signature (ECDSA P-256, SHA-256)
// covers the payload from its first byte up to, not including, the Signature
// TLV. FND wraps the ECDSA signature in a small DER structure,
//   SEQUENCE { OID ecdsa-with-SHA256, BIT STRING { ECDSA-Sig-Value } }
// which devices parse strictly, so our parser is strict too.
import * as crypto from "node:crypto";
import { concatBytes } from "../bytes.ts";
import { decodeTlvs, encodeTlvs, tlvSchema, type TlvSchema } from "./tlv.ts";

export const SIGNATURE_VALIDITY_TLV = 76;
export const SIGNATURE_TLV = 77;
export const ECDSA_WITH_SHA256_OID = "1.2.840.10045.4.3.2";
/** DER content octets of ecdsa-with-SHA256. */
const ECDSA_WITH_SHA256 = Uint8Array.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
/** The P-256 group order: r and s must lie in [1, n-1]. */
const P256_ORDER = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const P256_COORD = 32;

const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;

// ---- keys -----------------------------------------------------------------------

export interface NmsKeyPair {
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
}

export function generateNmsKeyPair(): NmsKeyPair {
  return crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

/** A key pair from a PKCS#8 or SEC1 PEM private key (so an NMS keeps its identity across runs). */
export function nmsKeyPairFromPem(pem: string): NmsKeyPair {
  const privateKey = crypto.createPrivateKey(pem);
  const details = privateKey.asymmetricKeyDetails;
  if (privateKey.asymmetricKeyType !== "ec" || details?.namedCurve !== "prime256v1") throw new Error("NMS key must be ECDSA P-256");
  return { privateKey, publicKey: crypto.createPublicKey(privateKey) };
}

export function privateKeyPem(keys: NmsKeyPair): string {
  return keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

function b64url(s: string | undefined): Buffer {
  if (!s) throw new Error("EC key without coordinates");
  return Buffer.from(s, "base64url");
}

/** The public key as the 65-byte uncompressed point (04 || X || Y): what a device stores as `nms.key`. */
export function publicKeyBytes(key: crypto.KeyObject | NmsKeyPair): Uint8Array {
  const pub = key instanceof crypto.KeyObject ? key : key.publicKey;
  const jwk = pub.export({ format: "jwk" });
  if (jwk.kty !== "EC" || jwk.crv !== "P-256") throw new Error("not a P-256 key");
  const x = b64url(jwk.x);
  const y = b64url(jwk.y);
  const out = new Uint8Array(1 + 2 * P256_COORD);
  out[0] = 0x04;
  out.set(x, 1 + P256_COORD - x.length);
  out.set(y, 1 + 2 * P256_COORD - y.length);
  return out;
}

/** publicKeyBytes as 130 lower-case hex digits. */
export function publicKeyHex(key: crypto.KeyObject | NmsKeyPair): string {
  return Buffer.from(publicKeyBytes(key)).toString("hex");
}

/** A public key from the 65-byte uncompressed form (hex); throws when not a point on P-256. */
export function publicKeyFromHex(hex: string): crypto.KeyObject {
  if (!/^04[0-9a-fA-F]{128}$/.test(hex)) throw new Error("expected 65-byte uncompressed P-256 point as hex (04...)");
  const b = Buffer.from(hex, "hex");
  return crypto.createPublicKey({
    key: { kty: "EC", crv: "P-256", x: b.subarray(1, 33).toString("base64url"), y: b.subarray(33).toString("base64url") },
    format: "jwk",
  });
}

// ---- DER --------------------------------------------------------------------------

export class SignatureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignatureFormatError";
  }
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n <= 0xff) return [0x81, n];
  if (n <= 0xffff) return [0x82, n >> 8, n & 0xff];
  throw new RangeError(`DER length ${n} too large`);
}

function der(tag: number, content: ArrayLike<number>): number[] {
  return [tag, ...derLength(content.length), ...Array.from(content)];
}

/** Reads one TLV with a definite, minimally encoded length; the value must fit in `end`. */
function readDer(bytes: Uint8Array, at: number, end: number, tag: number, what: string): { start: number; end: number } {
  if (at >= end) throw new SignatureFormatError(`${what}: missing`);
  if (bytes[at] !== tag) throw new SignatureFormatError(`${what}: tag 0x${bytes[at].toString(16)}, expected 0x${tag.toString(16)}`);
  if (at + 1 >= end) throw new SignatureFormatError(`${what}: no length`);
  let len = bytes[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new SignatureFormatError(`${what}: indefinite length`);
    if (n > 2) throw new SignatureFormatError(`${what}: length of ${n} bytes`);
    if (start + n > end) throw new SignatureFormatError(`${what}: length truncated`);
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | bytes[start + i];
    // DER: the shortest form only.
    if (len < 0x80 || (n === 2 && len <= 0xff)) throw new SignatureFormatError(`${what}: non-minimal length`);
    start += n;
  }
  if (start + len > end) throw new SignatureFormatError(`${what}: length ${len} overruns its container`);
  return { start, end: start + len };
}

/** A DER INTEGER that must be positive, minimal and in [1, n-1]; returns its unsigned big-endian bytes. */
function readScalar(bytes: Uint8Array, at: number, end: number, what: string): { value: Uint8Array; next: number } {
  const t = readDer(bytes, at, end, TAG_INTEGER, what);
  const v = bytes.subarray(t.start, t.end);
  if (v.length === 0) throw new SignatureFormatError(`${what}: empty INTEGER`);
  if (v[0] & 0x80) throw new SignatureFormatError(`${what}: negative INTEGER`);
  if (v.length > 1 && v[0] === 0 && !(v[1] & 0x80)) throw new SignatureFormatError(`${what}: non-minimal INTEGER`);
  const unsigned = v[0] === 0 && v.length > 1 ? v.subarray(1) : v;
  const n = BigInt(`0x${Buffer.from(unsigned).toString("hex")}`);
  if (n === 0n || n >= P256_ORDER) throw new SignatureFormatError(`${what}: outside [1, n-1]`);
  return { value: Uint8Array.from(unsigned), next: t.end };
}

export interface SignatureValue {
  /** Always ECDSA_WITH_SHA256_OID (anything else is rejected). */
  algorithm: string;
  /** r and s as unsigned big-endian integers (no sign byte). */
  r: Uint8Array;
  s: Uint8Array;
  /** The inner DER ECDSA-Sig-Value, as node:crypto's dsaEncoding "der" expects. */
  ecdsaSigValue: Uint8Array;
}

/** Parses Signature.value strictly: exact lengths, DER minimal forms, the one OID, no trailing bytes. */
export function parseSignatureValue(value: Uint8Array): SignatureValue {
  const outer = readDer(value, 0, value.length, TAG_SEQUENCE, "signature SEQUENCE");
  if (outer.end !== value.length) throw new SignatureFormatError("bytes after the signature SEQUENCE");
  const oid = readDer(value, outer.start, outer.end, TAG_OID, "algorithm OID");
  const oidBytes = value.subarray(oid.start, oid.end);
  if (Buffer.compare(oidBytes, ECDSA_WITH_SHA256) !== 0) {
    throw new SignatureFormatError(`algorithm OID ${Buffer.from(oidBytes).toString("hex")} is not ecdsa-with-SHA256`);
  }
  const bits = readDer(value, oid.end, outer.end, TAG_BIT_STRING, "signature BIT STRING");
  if (bits.end !== outer.end) throw new SignatureFormatError("bytes after the BIT STRING");
  if (bits.start >= bits.end || value[bits.start] !== 0) throw new SignatureFormatError("BIT STRING must start with 0 unused bits");
  const sig = readDer(value, bits.start + 1, bits.end, TAG_SEQUENCE, "ECDSA-Sig-Value");
  if (sig.end !== bits.end) throw new SignatureFormatError("bytes after ECDSA-Sig-Value");
  const r = readScalar(value, sig.start, sig.end, "r");
  const s = readScalar(value, r.next, sig.end, "s");
  if (s.next !== sig.end) throw new SignatureFormatError("bytes after s");
  return { algorithm: ECDSA_WITH_SHA256_OID, r: r.value, s: s.value, ecdsaSigValue: Uint8Array.from(value.subarray(bits.start + 1, bits.end)) };
}

/** Wraps a DER ECDSA-Sig-Value the way FND does. */
export function encodeSignatureValue(ecdsaSigValue: Uint8Array): Uint8Array {
  const body = [...der(TAG_OID, ECDSA_WITH_SHA256), ...der(TAG_BIT_STRING, [0, ...ecdsaSigValue])];
  return Uint8Array.from(der(TAG_SEQUENCE, body));
}

// ---- signing and verifying ----------------------------------------------------------

export interface SignatureValidityWindow {
  /** POSIX seconds. */
  notBefore: number;
  notAfter: number;
}

/**
 * Appends SignatureValidity and Signature to a TLV payload. The payload must
 * not already carry either (they belong at the end, once).
 */
export function signPayload(payload: Uint8Array, keys: NmsKeyPair, validity: SignatureValidityWindow, schema: TlvSchema = tlvSchema()): Uint8Array {
  if (decodeTlvs(payload, schema).some((t) => t.type === SIGNATURE_TLV || t.type === SIGNATURE_VALIDITY_TLV)) {
    throw new Error("payload already carries signature TLVs");
  }
  const withValidity = concatBytes([payload, encodeTlvs([{ type: SIGNATURE_VALIDITY_TLV, value: { notBefore: validity.notBefore, notAfter: validity.notAfter } }], schema)]);
  const ecdsa = crypto.sign("sha256", withValidity, { key: keys.privateKey, dsaEncoding: "der" });
  const signature = encodeTlvs([{ type: SIGNATURE_TLV, value: { value: encodeSignatureValue(ecdsa) } }], schema);
  return concatBytes([withValidity, signature]);
}

export type VerifyResult =
  | { ok: true; notBefore?: number; notAfter?: number; signedLength: number }
  | { ok: false; reason: string };

export interface VerifyOptions {
  /** POSIX seconds; when given, the SignatureValidity window must contain it. */
  now?: number;
  schema?: TlvSchema;
}

/**
 * Checks a signed payload as a device would: Signature is the last TLV, a
 * SignatureValidity precedes it, the value parses strictly and verifies over
 * the bytes before the Signature TLV.
 */
export function verifySignedPayload(payload: Uint8Array, publicKey: crypto.KeyObject, options: VerifyOptions = {}): VerifyResult {
  let tlvs;
  try {
    tlvs = decodeTlvs(payload, options.schema ?? tlvSchema());
  } catch (e) {
    return { ok: false, reason: `payload: ${(e as Error).message}` };
  }
  const last = tlvs[tlvs.length - 1];
  if (!last || last.type !== SIGNATURE_TLV) return { ok: false, reason: "Signature is not the last TLV" };
  if (last.error || last.value instanceof Uint8Array) return { ok: false, reason: `Signature TLV undecodable: ${last.error ?? "raw"}` };
  const sigBytes = last.value.value;
  if (!(sigBytes instanceof Uint8Array)) return { ok: false, reason: "Signature.value absent" };
  const validity = tlvs.slice(0, -1).reverse().find((t) => t.type === SIGNATURE_VALIDITY_TLV);
  if (!validity || validity.value instanceof Uint8Array) return { ok: false, reason: "no SignatureValidity before the Signature" };
  const notBefore = validity.value.notBefore as number | undefined;
  const notAfter = validity.value.notAfter as number | undefined;
  if (options.now !== undefined) {
    if (notBefore === undefined || notAfter === undefined) return { ok: false, reason: "SignatureValidity lacks notBefore or notAfter" };
    if (options.now < notBefore || options.now > notAfter) return { ok: false, reason: `time ${options.now} outside [${notBefore}, ${notAfter}]` };
  }
  let parsed: SignatureValue;
  try {
    parsed = parseSignatureValue(sigBytes);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const signed = payload.subarray(0, last.offset);
  const good = crypto.verify("sha256", signed, { key: publicKey, dsaEncoding: "der" }, parsed.ecdsaSigValue);
  return good ? { ok: true, notBefore, notAfter, signedLength: signed.length } : { ok: false, reason: "signature does not verify" };
}
