// ECDSA P-256 verification over a digest the caller already computed.
//
// Why not node:crypto: crypto.verify() always hashes its input (with a null
// algorithm an EC key defaults to SHA-256, so verifying a 32-byte digest
// hashes it again), WebCrypto likewise, and Node exposes no raw
// EVP_PKEY_verify for EC keys. The PAL hands us the digest (the agent streams
// the signed payload through sha256_*), so we verify the equation ourselves:
// plain BigInt arithmetic (FIPS 186-4 / SEC 1 4.1.4). Verification handles
// only public data, so constant time does not matter here; a verify costs a
// few milliseconds.
//
// The test suite checks this against signatures made by node:crypto.sign.

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

/** A point in Jacobian coordinates (x = X/Z^2, y = Y/Z^3); Z = 0 is infinity. */
interface Jacobian { x: bigint; y: bigint; z: bigint }

const INFINITY: Jacobian = { x: 1n, y: 1n, z: 0n };

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** Inverse modulo a prime m (extended Euclid); a must be non-zero mod m. */
function invert(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, m);
}

function double(p: Jacobian): Jacobian {
  if (p.z === 0n || p.y === 0n) return INFINITY;
  // dbl-2001-b, valid because a = -3 on P-256.
  const delta = mod(p.z * p.z, P);
  const gamma = mod(p.y * p.y, P);
  const beta = mod(p.x * gamma, P);
  const alpha = mod(3n * (p.x - delta) * (p.x + delta), P);
  const x = mod(alpha * alpha - 8n * beta, P);
  const z = mod((p.y + p.z) * (p.y + p.z) - gamma - delta, P);
  const y = mod(alpha * (4n * beta - x) - 8n * gamma * gamma, P);
  return { x, y, z };
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const pz2 = mod(p.z * p.z, P), qz2 = mod(q.z * q.z, P);
  const u1 = mod(p.x * qz2, P), u2 = mod(q.x * pz2, P);
  const s1 = mod(p.y * qz2 * q.z, P), s2 = mod(q.y * pz2 * p.z, P);
  if (u1 === u2) return s1 === s2 ? double(p) : INFINITY;
  const h = mod(u2 - u1, P), r = mod(s2 - s1, P);
  const h2 = mod(h * h, P), h3 = mod(h2 * h, P);
  const u1h2 = mod(u1 * h2, P);
  const x = mod(r * r - h3 - 2n * u1h2, P);
  const y = mod(r * (u1h2 - x) - s1 * h3, P);
  const z = mod(h * p.z * q.z, P);
  return { x, y, z };
}

/** a*G + b*Q in one pass over the bits (Shamir's trick). */
function twinMultiply(a: bigint, g: Jacobian, b: bigint, q: Jacobian): Jacobian {
  const gq = add(g, q);
  let acc = INFINITY;
  for (let bit = 255n; bit >= 0n; bit--) {
    acc = double(acc);
    const ba = (a >> bit) & 1n, bb = (b >> bit) & 1n;
    if (ba && bb) acc = add(acc, gq);
    else if (ba) acc = add(acc, g);
    else if (bb) acc = add(acc, q);
  }
  return acc;
}

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** The affine point of an uncompressed SEC 1 key (0x04|X|Y), or null when it is not on P-256. */
export function decodePublicKey(key: Uint8Array): { x: bigint; y: bigint } | null {
  if (key.length !== 65 || key[0] !== 0x04) return null;
  const x = toBigInt(key.subarray(1, 33));
  const y = toBigInt(key.subarray(33, 65));
  if (x >= P || y >= P) return null;
  // y^2 = x^3 - 3x + b
  if (mod(y * y, P) !== mod(x * x * x - 3n * x + B, P)) return null;
  return { x, y };
}

/**
 * Verifies (r, s) over a 32-byte digest with a 65-byte uncompressed key.
 * Returns 1 valid, 0 invalid, -1 malformed key (the PAL contract's values).
 */
export function verifyP256Digest(publicKey: Uint8Array, digest: Uint8Array, rBytes: Uint8Array, sBytes: Uint8Array): 1 | 0 | -1 {
  const key = decodePublicKey(publicKey);
  if (!key) return -1;
  if (digest.length !== 32 || rBytes.length !== 32 || sBytes.length !== 32) return 0;
  const r = toBigInt(rBytes), s = toBigInt(sBytes);
  if (r < 1n || r >= N || s < 1n || s >= N) return 0;
  // The digest is as long as n, so it is used whole (no left-truncation).
  const e = mod(toBigInt(digest), N);
  const w = invert(s, N);
  const u1 = mod(e * w, N), u2 = mod(r * w, N);
  const point = twinMultiply(u1, { x: GX, y: GY, z: 1n }, u2, { x: key.x, y: key.y, z: 1n });
  if (point.z === 0n) return 0;
  const zInv = invert(point.z, P);
  const x = mod(point.x * zInv * zInv, P);
  return mod(x, N) === r ? 1 : 0;
}
