// A deterministic ECDSA P-256 signer for the fuzzer. node:crypto signs with
// a random nonce, so the same seed would give different signature bytes and
// a different campaign; here the nonce is derived from the key and the
// digest (HMAC-SHA256, in the spirit of RFC 6979), so a seed replays byte for
// byte and a saved regression input keeps verifying. Test keys only.
import { createHash, createHmac, type KeyObject } from "node:crypto";
import { encodeSignatureValue, publicKeyFromHex, SIGNATURE_TLV, SIGNATURE_VALIDITY_TLV, type SignatureValidityWindow } from "../nms/sign.ts";
import { encodeTlvs } from "../nms/tlv.ts";
import { concatBytes } from "./bytes.ts";

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

/** Jacobian coordinates: affine x = X/Z^2, y = Y/Z^3; Z = 0 is the point at infinity. */
interface Point { x: bigint; y: bigint; z: bigint }

const md = (a: bigint, m = P): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  // Fermat: a^(m-2) mod m, m prime.
  let result = 1n, base = md(a, m), e = m - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % m;
    base = (base * base) % m;
    e >>= 1n;
  }
  return result;
}

// dbl-2001-b (a = -3) and add-2007-bl from the Explicit-Formulas Database.
function double(p: Point): Point {
  if (p.z === 0n || p.y === 0n) return { x: 1n, y: 1n, z: 0n };
  const delta = md(p.z * p.z), gamma = md(p.y * p.y), beta = md(p.x * gamma);
  const alpha = md(3n * (p.x - delta) * (p.x + delta));
  const x = md(alpha * alpha - 8n * beta);
  const z = md((p.y + p.z) ** 2n - gamma - delta);
  const y = md(alpha * (4n * beta - x) - 8n * gamma * gamma);
  return { x, y, z };
}

function add(p: Point, q: Point): Point {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const z1z1 = md(p.z * p.z), z2z2 = md(q.z * q.z);
  const u1 = md(p.x * z2z2), u2 = md(q.x * z1z1);
  const s1 = md(p.y * q.z * z2z2), s2 = md(q.y * p.z * z1z1);
  if (u1 === u2) return s1 === s2 ? double(p) : { x: 1n, y: 1n, z: 0n };
  const h = md(u2 - u1), i = md(4n * h * h), j = md(h * i), r = md(2n * (s2 - s1)), v = md(u1 * i);
  const x = md(r * r - j - 2n * v);
  const y = md(r * (v - x) - 2n * s1 * j);
  const z = md(((p.z + q.z) ** 2n - z1z1 - z2z2) * h);
  return { x, y, z };
}

function toAffine(p: Point): { x: bigint; y: bigint } {
  const zi = inverse(p.z, P);
  return { x: md(p.x * zi * zi), y: md(p.y * zi * zi * zi) };
}

// Fixed-base table for k*G: TABLE[w][j] = j * 16^w * G, so a multiplication
// is 64 additions and no doublings (a signature costs ~2 ms instead of ~11).
let table: Point[][] | null = null;

function baseTable(): Point[][] {
  if (table) return table;
  table = [];
  let base: Point = { ...G, z: 1n };
  for (let w = 0; w < 64; w++) {
    const row: Point[] = [{ x: 1n, y: 1n, z: 0n }];
    for (let j = 1; j < 16; j++) row.push(add(row[j - 1], base));
    table.push(row);
    base = double(double(double(double(base))));
  }
  return table;
}

function multiplyBase(k: bigint): { x: bigint; y: bigint } {
  const t = baseTable();
  let acc: Point = { x: 1n, y: 1n, z: 0n };
  for (let w = 0; w < 64; w++) acc = add(acc, t[w][Number((k >> BigInt(4 * w)) & 15n)]);
  return toAffine(acc);
}

const hex32 = (n: bigint): string => n.toString(16).padStart(64, "0");
const bigOf = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);

/** Minimal DER INTEGER content of a positive number (a 0 byte in front when the top bit is set). */
function derUint(n: bigint): Uint8Array {
  const raw = Buffer.from(n.toString(16).padStart(n.toString(16).length + (n.toString(16).length & 1), "0"), "hex");
  const body = raw[0] & 0x80 ? concatBytes([Uint8Array.of(0), raw]) : raw;
  return concatBytes([Uint8Array.of(0x02, body.length), body]);
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } in DER. */
export function derEcdsaSigValue(r: bigint, s: bigint): Uint8Array {
  const body = concatBytes([derUint(r), derUint(s)]);
  return concatBytes([Uint8Array.of(0x30, body.length), body]);
}

export class DeterministicSigner {
  private readonly d: bigint;
  readonly publicKeyHex: string;
  readonly publicKey: KeyObject;
  private readonly cache = new Map<string, Uint8Array>();

  /** A key derived from a label, so every run and every regression file shares it. */
  constructor(label = "opencsmp fuzz nms key") {
    this.d = md(bigOf(createHash("sha256").update(label).digest()), N - 1n) + 1n;
    const q = multiplyBase(this.d);
    this.publicKeyHex = `04${hex32(q.x)}${hex32(q.y)}`;
    this.publicKey = publicKeyFromHex(this.publicKeyHex);
  }

  /** DER ECDSA-Sig-Value over SHA-256(message). */
  sign(message: Uint8Array): Uint8Array {
    const digest = createHash("sha256").update(message).digest();
    const key = digest.toString("hex");
    const hit = this.cache.get(key);
    if (hit) return hit;
    const e = bigOf(digest);
    for (let counter = 0; ; counter++) {
      const k = md(bigOf(createHmac("sha256", hex32(this.d)).update(digest).update(String(counter)).digest()), N);
      if (k === 0n) continue;
      const r = md(multiplyBase(k).x, N);
      const s = md(inverse(k, N) * (e + r * this.d), N);
      if (r === 0n || s === 0n) continue;
      const sig = derEcdsaSigValue(r, s);
      if (this.cache.size > 4096) this.cache.clear();
      this.cache.set(key, sig);
      return sig;
    }
  }

  /** `body` + SignatureValidity + Signature, as FND signs a POST /c or a 2.03 answer. */
  signPayload(body: Uint8Array, validity: SignatureValidityWindow): Uint8Array {
    const signed = concatBytes([body, encodeTlvs([{ type: SIGNATURE_VALIDITY_TLV, value: { notBefore: validity.notBefore, notAfter: validity.notAfter } }])]);
    const signature = encodeTlvs([{ type: SIGNATURE_TLV, value: { value: encodeSignatureValue(this.sign(signed)) } }]);
    return concatBytes([signed, signature]);
  }
}
