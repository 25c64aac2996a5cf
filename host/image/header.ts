// The 256-byte header at the start of every firmware image file, and the
// CRC-32 that guards it and the file. The layout is the one documented in
// assembly/firmware/image.ts, which was checked against the real files in
// shared/vectors (where the brief and the real files disagree, the files win):
// all numbers are u32 little-endian, texts are NUL-padded, bytes 196..251 are
// zero, bytes 252..255 hold the CRC-32 of bytes 0..251.

export const HEADER_LEN = 256;
export const HDR_VERSION = 2;
export const HEADER_CRC_AT = 252;
/** First byte after the last text field; zero up to the header CRC. */
export const RESERVED_AT = 196;
/** The smallest app_len: a header and the file CRC, with an empty body. */
export const MIN_APP_LEN = HEADER_LEN + 4;

/** One header field: where it lives and whether it is a u32 or a NUL-padded text. */
interface FieldSpec { key: string; name: string; at: number; size: number; text: boolean }

/** Every field in file order (the order `inspect` prints them in). */
export const FIELDS = [
  { key: "hdrVersion", name: "hdr_version", at: 0, size: 4, text: false },
  { key: "hdrLen", name: "hdr_len", at: 4, size: 4, text: false },
  { key: "appRevMajor", name: "app_rev_major", at: 8, size: 4, text: false },
  { key: "appRevMinor", name: "app_rev_minor", at: 12, size: 4, text: false },
  { key: "appBuild", name: "app_build", at: 16, size: 4, text: false },
  { key: "appLen", name: "app_len", at: 20, size: 4, text: false },
  { key: "appName", name: "app_name", at: 24, size: 32, text: true },
  { key: "gitBranch", name: "git_branch", at: 56, size: 32, text: true },
  { key: "gitCommit", name: "git_commit", at: 88, size: 8, text: true },
  { key: "gitFlag", name: "git_flag", at: 96, size: 4, text: false },
  { key: "buildDate", name: "build_date", at: 100, size: 16, text: true },
  { key: "hwid", name: "hwid", at: 116, size: 32, text: true },
  { key: "subHwid", name: "sub_hwid", at: 148, size: 32, text: true },
  { key: "kernelRev", name: "kernel_rev", at: 180, size: 16, text: true },
] as const satisfies readonly FieldSpec[];

type Field = (typeof FIELDS)[number];
export type NumberKey = Extract<Field, { text: false }>["key"];
export type TextKey = Extract<Field, { text: true }>["key"];

/** Every field of a header as read from a file, plus its stored CRC. */
export type ImageHeader = Record<NumberKey, number> & Record<TextKey, string> & { crc: number };
/** What a builder chooses: hdr_version, hdr_len and the CRC are fixed or computed. */
export type HeaderFields = Omit<ImageHeader, "hdrVersion" | "hdrLen" | "crc">;

// CRC-32 with poly 0x04C11DB7, MSB first, init 0, no final xor: the variant
// the device computes. A byte-wise table keeps inspecting whole files cheap.
const CRC_TABLE = new Uint32Array(256).map((_, i) => {
  let c = i << 24;
  for (let b = 0; b < 8; b++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
  return c >>> 0;
});

/** CRC-32 of data, continuing from crc (0 to start). */
export function crc32(data: Uint8Array, crc = 0): number {
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ data[i]) & 0xff]) >>> 0;
  return crc;
}

/** Reads every field; values are returned as found, however wrong (see checkHeader). */
export function parseHeader(buf: Uint8Array): ImageHeader {
  if (buf.length < HEADER_LEN) throw new Error(`${buf.length} bytes is shorter than the ${HEADER_LEN}-byte header`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, HEADER_LEN);
  const out: Record<string, number | string> = { crc: b.readUInt32LE(HEADER_CRC_AT) };
  for (const f of FIELDS) {
    if (!f.text) { out[f.key] = b.readUInt32LE(f.at); continue; }
    const raw = b.subarray(f.at, f.at + f.size);
    const nul = raw.indexOf(0);
    // A text that fills its field has no NUL (git_commit "gitCommi" in the real files).
    out[f.key] = raw.subarray(0, nul < 0 ? f.size : nul).toString("latin1");
  }
  return out as ImageHeader;
}

export interface HeaderFinding { level: "error" | "warning"; text: string }

/**
 * Checks a header. Errors are what the device rejects (version, length,
 * CRC); warnings are departures from the format the device lets through
 * but a careful builder would not produce (the CRC covers them anyway).
 */
export function checkHeader(buf: Uint8Array): HeaderFinding[] {
  const h = parseHeader(buf);
  const found: HeaderFinding[] = [];
  const error = (text: string) => found.push({ level: "error", text });
  const warn = (text: string) => found.push({ level: "warning", text });
  if (h.hdrVersion !== HDR_VERSION) error(`hdr_version is ${h.hdrVersion}, expected ${HDR_VERSION}`);
  if (h.hdrLen !== HEADER_LEN) error(`hdr_len is ${h.hdrLen}, expected ${HEADER_LEN}`);
  const computed = crc32(buf.subarray(0, HEADER_CRC_AT));
  if (computed !== h.crc) error(`header CRC-32 mismatch: stored ${hex32(h.crc)}, computed ${hex32(computed)}`);
  for (const f of FIELDS) {
    if (!f.text) continue;
    const raw = buf.subarray(f.at, f.at + f.size);
    const nul = raw.indexOf(0);
    if (nul >= 0 && raw.subarray(nul).some((c) => c !== 0)) warn(`${f.name} has non-zero bytes after its terminating NUL`);
    if (!isPrintable(h[f.key])) warn(`${f.name} has non-printable characters`);
  }
  if (buf.subarray(RESERVED_AT, HEADER_CRC_AT).some((c) => c !== 0)) warn(`reserved bytes ${RESERVED_AT}..${HEADER_CRC_AT - 1} are not all zero`);
  return found;
}

/** Builds a header, rejecting any value the layout cannot hold exactly. */
export function buildHeader(fields: HeaderFields): Buffer {
  const values: Record<string, unknown> = { ...fields, hdrVersion: HDR_VERSION, hdrLen: HEADER_LEN };
  const b = Buffer.alloc(HEADER_LEN); // zero: NUL padding and the reserved bytes
  for (const f of FIELDS) {
    const v = values[f.key];
    if (f.text) {
      if (typeof v !== "string") throw new Error(`${f.key}: expected a string, got ${JSON.stringify(v)}`);
      // ASCII only: one byte per character, and no surprises in FND's displays.
      if (!isPrintable(v)) throw new Error(`${f.key}: ${JSON.stringify(v)} holds characters other than printable ASCII`);
      if (v.length > f.size) throw new Error(`${f.key}: ${JSON.stringify(v)} is ${v.length} bytes, the header's ${f.name} holds at most ${f.size}`);
      b.write(v, f.at, "latin1");
    } else {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new Error(`${f.key}: expected an integer 0..4294967295, got ${JSON.stringify(v)}`);
      }
      b.writeUInt32LE(v, f.at);
    }
  }
  b.writeUInt32LE(crc32(b.subarray(0, HEADER_CRC_AT)), HEADER_CRC_AT);
  return b;
}

/** The file CRC: over [0, app_len - 4), stored little-endian in the 4 bytes before app_len. */
export function fileCrc(file: Uint8Array, appLen: number): { stored: number; computed: number } {
  const b = Buffer.from(file.buffer, file.byteOffset, file.length);
  return { stored: b.readUInt32LE(appLen - 4), computed: crc32(b.subarray(0, appLen - 4)) };
}

export function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

function isPrintable(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}
