// CoAP (RFC 7252) messages for the NMS side: encode and decode over
// Uint8Array, plus request builders. Written without reference to the agent's
// own CoAP code (assembly/coap) so the simulated NMS cannot share its bugs.
import { concatBytes } from "../bytes.ts";

/** Message types (RFC 7252 3). */
export const CoapType = {
  Confirmable: 0,
  NonConfirmable: 1,
  Acknowledgement: 2,
  Reset: 3,
} as const;
export type CoapType = (typeof CoapType)[keyof typeof CoapType];

/** A code as its byte: class in the top 3 bits, detail in the low 5. */
export function coapCode(cls: number, detail: number): number {
  if (!Number.isInteger(cls) || cls < 0 || cls > 7 || !Number.isInteger(detail) || detail < 0 || detail > 31) {
    throw new RangeError(`bad CoAP code ${cls}.${detail}`);
  }
  return (cls << 5) | detail;
}

/** Codes CSMP uses (and a few an NMS may meet). */
export const CoapCode = {
  Empty: 0,
  Get: 1,
  Post: 2,
  Put: 3,
  Delete: 4,
  Created: coapCode(2, 1),
  Deleted: coapCode(2, 2),
  /** CSMP: the NMS accepts a registration. */
  Valid: coapCode(2, 3),
  Changed: coapCode(2, 4),
  Content: coapCode(2, 5),
  BadRequest: coapCode(4, 0),
  Unauthorized: coapCode(4, 1),
  BadOption: coapCode(4, 2),
  /** CSMP registration: unknown, unauthorised or duplicate device. */
  Forbidden: coapCode(4, 3),
  /** CSMP registration: several sessions. */
  NotFound: coapCode(4, 4),
  MethodNotAllowed: coapCode(4, 5),
  InternalServerError: coapCode(5, 0),
  NotImplemented: coapCode(5, 1),
  ServiceUnavailable: coapCode(5, 3),
} as const;

/** "2.05", "0.01" ... the notation RFC 7252 and tshark use. */
export function codeText(code: number): string {
  return `${code >> 5}.${String(code & 0x1f).padStart(2, "0")}`;
}

/** Inverse of codeText; throws on anything that is not "c.dd". */
export function parseCodeText(text: string): number {
  const m = /^([0-7])\.([0-3][0-9])$/.exec(text);
  if (!m) throw new RangeError(`not a CoAP code: ${JSON.stringify(text)}`);
  return coapCode(Number(m[1]), Number(m[2]));
}

export function isRequestCode(code: number): boolean {
  return code >= 1 && code <= 31;
}

export function isResponseCode(code: number): boolean {
  return code >> 5 >= 2;
}

/** Option numbers (RFC 7252 5.10, RFC 7959, RFC 7641). */
export const CoapOption = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
} as const;

export interface CoapOptionValue {
  number: number;
  value: Uint8Array;
}

export interface CoapMessage {
  type: CoapType;
  code: number;
  /** Message ID, 0..65535. */
  mid: number;
  /** 0 to 8 bytes. */
  token: Uint8Array;
  /** In wire order after encode/decode; encode sorts stably by number. */
  options: CoapOptionValue[];
  payload: Uint8Array;
}

/** A datagram that is not a well-formed CoAP message (RFC 7252 "message format error"). */
export class CoapFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CoapFormatError";
  }
}

const VERSION = 1;
const PAYLOAD_MARKER = 0xff;
const MAX_TOKEN = 8;
// Extended delta/length nibbles (RFC 7252 3.1).
const EXT_8 = 13;
const EXT_16 = 14;
const EXT_8_BASE = 13;
const EXT_16_BASE = 269;
const MAX_OPTION_FIELD = 0xffff + EXT_16_BASE;

function nibble(n: number): { nib: number; ext: number[] } {
  if (n < EXT_8_BASE) return { nib: n, ext: [] };
  if (n < EXT_16_BASE) return { nib: EXT_8, ext: [n - EXT_8_BASE] };
  const e = n - EXT_16_BASE;
  return { nib: EXT_16, ext: [e >> 8, e & 0xff] };
}

export function encodeCoap(m: CoapMessage): Uint8Array {
  if (!Number.isInteger(m.type) || m.type < 0 || m.type > 3) throw new RangeError(`bad CoAP type ${m.type}`);
  if (!Number.isInteger(m.code) || m.code < 0 || m.code > 0xff) throw new RangeError(`bad CoAP code ${m.code}`);
  if (!Number.isInteger(m.mid) || m.mid < 0 || m.mid > 0xffff) throw new RangeError(`bad message id ${m.mid}`);
  if (m.token.length > MAX_TOKEN) throw new RangeError(`token of ${m.token.length} bytes (max 8)`);
  if (m.code === CoapCode.Empty && (m.token.length || m.options.length || m.payload.length)) {
    throw new RangeError("an Empty message carries no token, options or payload");
  }
  // Chunks, not one number[]: option values and payloads can be tens of kilobytes.
  const chunks: Uint8Array[] = [Uint8Array.of((VERSION << 6) | (m.type << 4) | m.token.length, m.code, m.mid >> 8, m.mid & 0xff), m.token];
  // Stable sort keeps repeated options (Uri-Path segments) in the caller's order.
  const sorted = m.options.map((o, i) => ({ o, i })).sort((a, b) => a.o.number - b.o.number || a.i - b.i);
  let last = 0;
  for (const { o } of sorted) {
    if (!Number.isInteger(o.number) || o.number < 0 || o.number > MAX_OPTION_FIELD) throw new RangeError(`bad option number ${o.number}`);
    if (o.value.length > MAX_OPTION_FIELD) throw new RangeError(`option ${o.number} value too long`);
    const d = nibble(o.number - last);
    const l = nibble(o.value.length);
    chunks.push(Uint8Array.of((d.nib << 4) | l.nib, ...d.ext, ...l.ext), o.value);
    last = o.number;
  }
  if (m.payload.length) chunks.push(Uint8Array.of(PAYLOAD_MARKER), m.payload);
  return concatBytes(chunks);
}

/** Reads one extended delta or length; 15 is never valid here (the marker is handled by the caller). */
function readExtended(nib: number, bytes: Uint8Array, at: number, what: string): { v: number; at: number } {
  if (nib < EXT_8) return { v: nib, at };
  if (nib === EXT_8) {
    if (at >= bytes.length) throw new CoapFormatError(`option ${what} truncated`);
    return { v: bytes[at] + EXT_8_BASE, at: at + 1 };
  }
  if (nib === EXT_16) {
    if (at + 2 > bytes.length) throw new CoapFormatError(`option ${what} truncated`);
    return { v: ((bytes[at] << 8) | bytes[at + 1]) + EXT_16_BASE, at: at + 2 };
  }
  throw new CoapFormatError(`option ${what} nibble 15 is reserved`);
}

/** A plain Uint8Array copy (Buffer.slice would share memory with the datagram). */
function copy(bytes: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(bytes.subarray(from, to));
}

/** Decodes a datagram; throws CoapFormatError on anything RFC 7252 calls a format error. */
export function decodeCoap(bytes: Uint8Array): CoapMessage {
  if (bytes.length < 4) throw new CoapFormatError(`${bytes.length} bytes: shorter than the CoAP header`);
  const version = bytes[0] >> 6;
  if (version !== VERSION) throw new CoapFormatError(`version ${version}`);
  const type = ((bytes[0] >> 4) & 3) as CoapType;
  const tkl = bytes[0] & 0x0f;
  const code = bytes[1];
  const mid = (bytes[2] << 8) | bytes[3];
  if (tkl > MAX_TOKEN) throw new CoapFormatError(`token length ${tkl}`);
  if (code === CoapCode.Empty && (tkl !== 0 || bytes.length !== 4)) {
    throw new CoapFormatError("Empty message with token, options or payload");
  }
  let at = 4;
  if (at + tkl > bytes.length) throw new CoapFormatError("token truncated");
  const token = copy(bytes, at, at + tkl);
  at += tkl;
  const options: CoapOptionValue[] = [];
  let number = 0;
  let payload: Uint8Array = new Uint8Array(0);
  while (at < bytes.length) {
    const head = bytes[at++];
    if (head === PAYLOAD_MARKER) {
      if (at === bytes.length) throw new CoapFormatError("payload marker followed by no payload");
      payload = copy(bytes, at, bytes.length);
      break;
    }
    const d = readExtended(head >> 4, bytes, at, "delta");
    const l = readExtended(head & 0x0f, bytes, d.at, "length");
    at = l.at;
    if (at + l.v > bytes.length) throw new CoapFormatError(`option ${number + d.v} value truncated`);
    number += d.v;
    options.push({ number, value: copy(bytes, at, at + l.v) });
    at += l.v;
  }
  return { type, code, mid, token, options, payload };
}

// ---- option values ----------------------------------------------------------

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

export function stringOption(number: number, text: string): CoapOptionValue {
  return { number, value: utf8.encode(text) };
}

/** RFC 7252 3.2 uint: big-endian, no leading zero bytes (0 is empty). */
export function encodeUint(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`bad uint option value ${n}`);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Uint8Array.from(out);
}

export function decodeUint(value: Uint8Array): number {
  if (value.length > 4) throw new CoapFormatError(`uint option of ${value.length} bytes`);
  let n = 0;
  for (const b of value) n = n * 256 + b;
  return n;
}

export function uintOption(number: number, n: number): CoapOptionValue {
  return { number, value: encodeUint(n) };
}

/** Values of every instance of an option, as UTF-8 text (throws on invalid UTF-8). */
export function optionStrings(m: CoapMessage, number: number): string[] {
  return m.options.filter((o) => o.number === number).map((o) => utf8Strict.decode(o.value));
}

/** The first instance of an option, or undefined. */
export function findOption(m: CoapMessage, number: number): Uint8Array | undefined {
  return m.options.find((o) => o.number === number)?.value;
}

// ---- URIs ---------------------------------------------------------------------

/**
 * Splits a path ("/c/13", "c", "/") into Uri-Path segments. CSMP paths are
 * plain ASCII; percent-escapes are decoded so "/a%2Fb" is one segment "a/b".
 */
export function splitUriPath(path: string): string[] {
  const trimmed = path.replace(/^\/+/, "");
  if (trimmed === "") return [];
  return trimmed.split("/").map(decodeURIComponent);
}

/**
 * Splits a query ("q=11+12&a=10", "?q=1") into Uri-Query values. CSMP lists
 * TLV ids with "+" inside one q value; "+" is kept as is (not a space).
 */
export function splitUriQuery(query: string): string[] {
  const trimmed = query.replace(/^\?/, "");
  if (trimmed === "") return [];
  return trimmed.split("&").map((q) => decodeURIComponent(q));
}

/** "/c/13", from a message's Uri-Path options ("/" when there are none). */
export function uriPath(m: CoapMessage): string {
  return `/${optionStrings(m, CoapOption.UriPath).join("/")}`;
}

/** The Uri-Query values of a message, in order. */
export function uriQueries(m: CoapMessage): string[] {
  return optionStrings(m, CoapOption.UriQuery);
}

/** The value of the first "name=value" query (undefined when absent, "" for a bare "name"). */
export function queryValue(m: CoapMessage, name: string): string | undefined {
  for (const q of uriQueries(m)) {
    const eq = q.indexOf("=");
    const key = eq < 0 ? q : q.slice(0, eq);
    if (key === name) return eq < 0 ? "" : q.slice(eq + 1);
  }
  return undefined;
}

function uriOptions(path: string, query: readonly string[]): CoapOptionValue[] {
  return [
    ...splitUriPath(path).map((s) => stringOption(CoapOption.UriPath, s)),
    ...query.map((q) => stringOption(CoapOption.UriQuery, q)),
  ];
}

const EMPTY = new Uint8Array(0);

/**
 * A CON GET (mid 0: the client assigns message ids). `query` holds whole
 * Uri-Query values, e.g. ["q=11+12"].
 */
export function get(path: string, query: readonly string[] = [], token: Uint8Array = EMPTY): CoapMessage {
  return { type: CoapType.Confirmable, code: CoapCode.Get, mid: 0, token, options: uriOptions(path, query), payload: EMPTY };
}

export interface PostOptions {
  /** CON (default) or NON: CSMP reports and ImageBlock streams travel NON. */
  confirmable?: boolean;
  query?: readonly string[];
  token?: Uint8Array;
}

/** A POST carrying a TLV payload (mid 0: the client assigns message ids). */
export function post(path: string, payload: Uint8Array, options: PostOptions = {}): CoapMessage {
  return {
    type: options.confirmable === false ? CoapType.NonConfirmable : CoapType.Confirmable,
    code: CoapCode.Post,
    mid: 0,
    token: options.token ?? EMPTY,
    options: uriOptions(path, options.query ?? []),
    payload,
  };
}

/** An Empty message: ACK or RST for a message id, or a CON "CoAP ping". */
export function emptyMessage(type: CoapType, mid: number): CoapMessage {
  return { type, code: CoapCode.Empty, mid, token: EMPTY, options: [], payload: EMPTY };
}

const TYPE_TEXT = ["CON", "NON", "ACK", "RST"] as const;

/** One line, tshark style: "CON GET mid=3 tkn=03 /c?q=11". */
export function summarizeCoap(m: CoapMessage): string {
  const method = ["EMPTY", "GET", "POST", "PUT", "DELETE"][m.code];
  const parts: string[] = [TYPE_TEXT[m.type], isRequestCode(m.code) || m.code === 0 ? (method ?? codeText(m.code)) : codeText(m.code), `mid=${m.mid}`];
  if (m.token.length) parts.push(`tkn=${Buffer.from(m.token).toString("hex")}`);
  let uri = "";
  try {
    const path = optionStrings(m, CoapOption.UriPath);
    const query = uriQueries(m);
    if (path.length || query.length) uri = `/${path.join("/")}${query.length ? `?${query.join("&")}` : ""}`;
  } catch {
    uri = "<non-UTF-8 URI>";
  }
  if (uri) parts.push(uri);
  if (m.payload.length) parts.push(`${m.payload.length}B`);
  return parts.join(" ");
}
