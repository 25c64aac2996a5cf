// The vendor's own image signature. A device provisioned with a firmware key
// (fw.key) accepts only files carrying, at app_len, a u16 length (LE) and a
// DER ECDSA-Sig-Value SEQUENCE { INTEGER r, INTEGER s } over
// SHA-256(file[0, app_len)). The DER is parsed here as strictly as the device
// does (assembly/firmware/vendor-signature.ts, assembly/csmp/signature.ts),
// so an image this tool calls good is one the device accepts.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** The device's bounds on the signature length (a P-256 DER signature is 8..72 bytes). */
export const SIG_MIN = 8;
export const SIG_MAX = 80;

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The signature block for the bytes [0, app_len) of a file: u16 LE length + DER. */
export function signImage(signed: Uint8Array, key: KeyObject): Buffer {
  const der = sign("sha256", signed, { key, dsaEncoding: "der" });
  parseSigValue(der); // never hand out something the device would refuse to parse
  const block = Buffer.alloc(2 + der.length);
  block.writeUInt16LE(der.length, 0);
  der.copy(block, 2);
  return block;
}

/** r and s (32 bytes each) of a DER ECDSA-Sig-Value; throws on anything but canonical DER. */
export function parseSigValue(der: Uint8Array): { r: Buffer; s: Buffer } {
  let at = 0;
  const fail = (why: string): never => { throw new Error(`malformed signature: ${why}`); };
  const header = (tag: number, what: string): number => {
    if (at + 2 > der.length || der[at] !== tag) fail(`expected ${what} at byte ${at}`);
    let len = der[at + 1];
    at += 2;
    if (len === 0x81) { // long form only where the short form cannot say it
      if (at >= der.length) fail("truncated length");
      len = der[at++];
      if (len < 0x80) fail("length not minimally encoded");
    } else if (len >= 0x80) {
      fail("unsupported length form");
    }
    if (at + len > der.length) fail(`${what} runs past the end`);
    return len;
  };
  const uint = (name: string): Buffer => {
    const len = header(0x02, `INTEGER ${name}`);
    const v = Buffer.from(der.subarray(at, at + len));
    at += len;
    if (len === 0) fail(`${name} is empty`);
    if (v[0] & 0x80) fail(`${name} is negative`);
    if (len > 1 && v[0] === 0 && !(v[1] & 0x80)) fail(`${name} is not minimally encoded`);
    const digits = v[0] === 0 && len > 1 ? v.subarray(1) : v;
    if (digits.length > 32) fail(`${name} is longer than 256 bits`);
    const n = BigInt(`0x${digits.toString("hex")}`);
    if (n === 0n || n >= P256_N) fail(`${name} is outside 1..n-1`);
    return Buffer.concat([Buffer.alloc(32 - digits.length), digits]);
  };
  if (header(0x30, "SEQUENCE") !== der.length - at) fail("the SEQUENCE does not fill the signature exactly");
  const r = uint("r");
  const s = uint("s");
  if (at !== der.length) fail("bytes after s");
  return { r, s };
}

export type SignatureBlock =
  | { kind: "none" } // nothing after app_len, or only 0xFF pad
  | { kind: "present"; der: Buffer; padOk: boolean } // padOk: all that follows is 0xFF
  | { kind: "malformed"; reason: string };

/** Reads what follows app_len: a signature block, pad, or something broken. */
export function readSignatureBlock(trailing: Uint8Array): SignatureBlock {
  if (trailing.every((c) => c === 0xff)) return { kind: "none" };
  const what = `the ${trailing.length} bytes after app_len`;
  if (trailing.length < 2) return { kind: "malformed", reason: `${what} are neither a signature nor 0xFF pad` };
  const n = trailing[0] | (trailing[1] << 8);
  if (n < SIG_MIN || n > SIG_MAX) return { kind: "malformed", reason: `${what} are neither 0xFF pad nor a signature (length ${n} is outside ${SIG_MIN}..${SIG_MAX})` };
  if (2 + n > trailing.length) return { kind: "malformed", reason: `signature length ${n} runs past the end of the file` };
  const der = Buffer.from(trailing.subarray(2, 2 + n));
  try {
    parseSigValue(der);
  } catch (e) {
    return { kind: "malformed", reason: (e as Error).message };
  }
  return { kind: "present", der, padOk: trailing.subarray(2 + n).every((c) => c === 0xff) };
}

/** Whether der (strict DER, see parseSigValue) signs `signed` under key. */
export function verifyImageSignature(signed: Uint8Array, der: Uint8Array, key: KeyObject): boolean {
  const { r, s } = parseSigValue(der);
  // r||s, already vetted: Node's own DER reader is laxer than the device's.
  return verify("sha256", signed, { key, dsaEncoding: "ieee-p1363" }, Buffer.concat([r, s]));
}

function requireP256(key: KeyObject, source: string): KeyObject {
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error(`${source}: not a P-256 (prime256v1) EC key`);
  }
  return key;
}

/** The vendor's private key, from a PEM file (PKCS#8 or SEC 1). */
export function loadPrivateKey(path: string): KeyObject {
  const pem = readKeyFile(path);
  try {
    return requireP256(createPrivateKey(pem), path);
  } catch (e) {
    throw new Error(`${path}: not a usable private key (${(e as Error).message})`);
  }
}

const HEX_KEY = /^(?:fw\.key=)?(04[0-9a-fA-F]{128})$/;

/**
 * A public key from: 130 hex digits (04 + X + Y, as in the device's fw.key),
 * or a file holding a PEM key (public, or private to derive it from) or those
 * hex digits (optionally as a `fw.key=` line).
 */
export function loadPublicKey(arg: string): KeyObject {
  const literal = HEX_KEY.exec(arg);
  if (literal) return publicKeyFromHex(literal[1]);
  const text = readKeyFile(arg);
  const inFile = HEX_KEY.exec(text.trim());
  if (inFile) return publicKeyFromHex(inFile[1]);
  try {
    return requireP256(createPublicKey(text), arg);
  } catch (e) {
    throw new Error(`${arg}: neither a PEM key nor 130 hex digits (${(e as Error).message})`);
  }
}

export function publicKeyFromHex(hex: string): KeyObject {
  const raw = Buffer.from(hex, "hex");
  if (raw.length !== 65 || raw[0] !== 4) throw new Error("a public key needs 130 hex digits: 04 + X + Y");
  const jwk = { kty: "EC", crv: "P-256", x: raw.subarray(1, 33).toString("base64url"), y: raw.subarray(33).toString("base64url") };
  try {
    return createPublicKey({ key: jwk, format: "jwk" });
  } catch {
    throw new Error("the public key is not a point on P-256");
  }
}

/** The 130 hex digits the device's fw.key line wants. */
export function publicKeyHex(key: KeyObject): string {
  // createPublicKey derives from a private KeyObject but refuses a public one.
  const jwk = (key.type === "private" ? createPublicKey(key) : key).export({ format: "jwk" });
  return `04${Buffer.from(jwk.x!, "base64url").toString("hex")}${Buffer.from(jwk.y!, "base64url").toString("hex")}`;
}

/**
 * A new vendor key pair: the private key to `path` (PKCS#8 PEM, owner-only),
 * the public key next to it as `<name>.pub.pem`. Never overwrites a key.
 */
export function generateKeypair(path: string): { publicPath: string; publicHex: string } {
  const publicPath = `${path.replace(/\.pem$/, "")}.pub.pem`;
  for (const p of [path, publicPath]) if (existsSync(p)) throw new Error(`${p} already exists; not overwriting a key`);
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }), { flag: "wx", mode: 0o600 });
  writeFileSync(publicPath, publicKey.export({ type: "spki", format: "pem" }), { flag: "wx" });
  return { publicPath, publicHex: publicKeyHex(publicKey) };
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read key ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}
