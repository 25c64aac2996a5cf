// Checks an image file the way the device does (header version/length/CRC,
// file CRC, hwid, vendor signature) and reports every header field, so a
// vendor can see what FND and the device will see before uploading it.
// Errors are what the device would reject; warnings are format oddities the
// device lets through.
import { createHash, type KeyObject } from "node:crypto";
import { FIELDS, HEADER_CRC_AT, HEADER_LEN, MIN_APP_LEN, checkHeader, crc32, fileCrc, hex32, parseHeader, type ImageHeader } from "./header.ts";
import { readSignatureBlock, verifyImageSignature } from "./sign.ts";

export interface InspectOptions {
  /** The device's fw.key: the image must carry a signature that verifies under it. */
  key?: KeyObject;
  /** The device's fw.hwid: the header's hwid must equal it. */
  hwid?: string;
}

export type SignatureState =
  | "none" // no signature after app_len
  | "ok" // verifies under the given key
  | "bad" // does not verify under the given key
  | "unverified" // well-formed, but no key to check it with
  | "malformed" // something after app_len that is neither signature nor pad
  | "unchecked"; // app_len is unusable, so there is no telling where it would be

export interface Crc { stored: number; computed: number }

export interface InspectReport {
  size: number;
  /** SHA-256 of the whole file: FND's fileHash. */
  sha256: string;
  header: ImageHeader | null;
  headerCrc: Crc | null;
  fileCrc: Crc | null;
  signature: SignatureState;
  /** Length of the DER signature, when there is one. */
  signatureLen?: number;
  errors: string[];
  warnings: string[];
  ok: boolean;
}

export function inspectImage(file: Uint8Array, opts: InspectOptions = {}): InspectReport {
  const r: InspectReport = {
    size: file.length, sha256: createHash("sha256").update(file).digest("hex"),
    header: null, headerCrc: null, fileCrc: null, signature: "unchecked", errors: [], warnings: [], ok: false,
  };
  if (file.length < HEADER_LEN) {
    r.errors.push(`the file is ${file.length} bytes, shorter than the ${HEADER_LEN}-byte header`);
    return r;
  }
  const h = (r.header = parseHeader(file));
  r.headerCrc = { stored: h.crc, computed: crc32(file.subarray(0, HEADER_CRC_AT)) };
  for (const f of checkHeader(file)) (f.level === "error" ? r.errors : r.warnings).push(f.text);
  if (opts.hwid !== undefined && h.hwid !== opts.hwid) r.errors.push(`hwid ${quote(h.hwid)} is not the device's ${quote(opts.hwid)} (INCOMPATIBLE_HW)`);

  if (h.appLen < MIN_APP_LEN) r.errors.push(`app_len ${h.appLen} is below ${MIN_APP_LEN} (header + file CRC)`);
  else if (h.appLen > file.length) r.errors.push(`app_len ${h.appLen} exceeds the file size ${file.length}`);
  else {
    const crc = (r.fileCrc = fileCrc(file, h.appLen));
    if (crc.stored !== crc.computed) r.errors.push(`file CRC-32 mismatch: stored ${hex32(crc.stored)}, computed ${hex32(crc.computed)}`);
    checkSignature(file, h.appLen, opts.key, r);
  }
  r.ok = r.errors.length === 0;
  return r;
}

function checkSignature(file: Uint8Array, appLen: number, key: KeyObject | undefined, r: InspectReport): void {
  const block = readSignatureBlock(file.subarray(appLen));
  if (block.kind === "malformed") {
    r.signature = "malformed";
    r.errors.push(`signature: ${block.reason}`);
    return;
  }
  if (block.kind === "none") {
    r.signature = "none";
    if (key) r.errors.push("no signature, but a key was given: a device with this fw.key rejects the image (SIGNATURE_FAILED)");
    return;
  }
  r.signatureLen = block.der.length;
  if (!block.padOk) r.warnings.push("the bytes after the signature are not all 0xFF pad");
  if (!key) r.signature = "unverified";
  else if (verifyImageSignature(file.subarray(0, appLen), block.der, key)) r.signature = "ok";
  else {
    r.signature = "bad";
    r.errors.push("signature does not verify with the given key (SIGNATURE_FAILED)");
  }
}

/** The report as aligned text lines, every header field included. */
export function formatReport(name: string, r: InspectReport): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(14)} ${value}`);
  row("file", `${name}, ${r.size} bytes`);
  if (r.header) {
    const h = r.header;
    for (const f of FIELDS) row(f.name, f.text ? quote(h[f.key]) : String(h[f.key]));
    row("version", `${h.appRevMajor}.${h.appRevMinor}.${h.appBuild}`);
    row("header CRC", crcText(r.headerCrc));
    row("file CRC", crcText(r.fileCrc));
  }
  row("signature", signatureText(r));
  row("SHA-256", `${r.sha256} (FND fileHash)`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  for (const e of r.errors) lines.push(`error: ${e}`);
  row("result", r.ok ? "OK" : `BAD (${r.errors.length} problem${r.errors.length === 1 ? "" : "s"})`);
  return lines.join("\n");
}

function crcText(c: Crc | null): string {
  if (!c) return "not checked";
  return c.stored === c.computed ? `ok (${hex32(c.stored)})` : `BAD (stored ${hex32(c.stored)}, computed ${hex32(c.computed)})`;
}

function signatureText(r: InspectReport): string {
  switch (r.signature) {
    case "none": return "none";
    case "ok": return `ok (${r.signatureLen} bytes DER)`;
    case "bad": return "BAD (does not verify with the given key)";
    case "unverified": return `present (${r.signatureLen} bytes DER), not verified: no --key`;
    case "malformed": return "BAD (malformed)";
    case "unchecked": return "not checked";
  }
}

/** A header text in quotes, with anything unprintable escaped so it shows. */
function quote(s: string): string {
  return `"${s.replace(/[^\x20-\x7e]|["\\]/g, (c) => (c === '"' || c === "\\" ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`))}"`;
}
