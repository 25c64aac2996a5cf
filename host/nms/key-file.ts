// The NMS signing key on disk, as a PKCS#8 PEM file: an NMS keeps its
// identity across runs because devices are provisioned with its public key
// (device configuration `nms.key`) and cannot learn a new one by themselves.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { generateNmsKeyPair, nmsKeyPairFromPem, privateKeyPem, publicKeyHex, type NmsKeyPair } from "./sign.ts";

export interface NmsKeyFile {
  keys: NmsKeyPair;
  pem: string;
  /** 130 hex digits (04 | X | Y): the value of the device's `nms.key`. */
  publicKeyHex: string;
  /** True when this call generated the key (and wrote the file). */
  created: boolean;
}

function describe(keys: NmsKeyPair, pem: string, created: boolean): NmsKeyFile {
  return { keys, pem, publicKeyHex: publicKeyHex(keys), created };
}

/** Reads a P-256 private key; throws with the file name in the message. */
export function readNmsKey(path: string): NmsKeyFile {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read NMS key ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return describe(nmsKeyPairFromPem(pem), pem, false);
  } catch (e) {
    throw new Error(`${path}: not an ECDSA P-256 private key (${(e as Error).message})`);
  }
}

/** Generates a key and writes it (owner-only permissions: it is a private key). Refuses to overwrite. */
export function writeNewNmsKey(path: string): NmsKeyFile {
  const keys = generateNmsKeyPair();
  const pem = privateKeyPem(keys);
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, pem, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`${path} exists; not overwriting an NMS key`);
    throw new Error(`cannot write NMS key ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return describe(keys, pem, true);
}

/** The key in `path`, generated and written on first use. */
export function loadOrCreateNmsKey(path: string): NmsKeyFile {
  try {
    readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return writeNewNmsKey(path);
  }
  return readNmsKey(path);
}
