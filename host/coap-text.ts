// One-line summaries of CoAP messages (RFC 7252) for the host's log, e.g.
// "CON GET mid=5 tkn=01 /c?q=11 (0 B)". This is a reader for humans only:
// the agent has its own codec, and nothing here decides protocol behaviour.

const TYPES = ["CON", "NON", "ACK", "RST"] as const;
const METHODS: Record<number, string> = { 1: "GET", 2: "POST", 3: "PUT", 4: "DELETE", 5: "FETCH", 6: "PATCH", 7: "iPATCH" };

const OPT_URI_HOST = 3;
const OPT_OBSERVE = 6;
const OPT_URI_PORT = 7;
const OPT_URI_PATH = 11;
const OPT_CONTENT_FORMAT = 12;
const OPT_URI_QUERY = 15;
const OPT_BLOCK2 = 23;
const OPT_BLOCK1 = 27;

export interface CoapSummary {
  type: (typeof TYPES)[number];
  /** "GET", "2.05", "0.00" (empty), ... */
  code: string;
  mid: number;
  token: Uint8Array;
  /** "/c", "/c?q=11", "" when no Uri-Path/Uri-Query. */
  uri: string;
  payloadLength: number;
  /** Other options worth a glance, already rendered ("cf=42", "block2=1/0/64", "obs=3"). */
  notes: string[];
}

/** "2.05", or the method name for a request. */
export function codeText(code: number): string {
  if (code !== 0 && code >> 5 === 0) return METHODS[code] ?? `0.${String(code & 31).padStart(2, "0")}`;
  return `${code >> 5}.${String(code & 31).padStart(2, "0")}`;
}

function uint(bytes: Uint8Array): number {
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

/** Decodes the parts a log line shows; null when the bytes are not a well-formed CoAP message. */
export function summarizeCoap(msg: Uint8Array): CoapSummary | null {
  if (msg.length < 4 || msg[0] >> 6 !== 1) return null;
  const tkl = msg[0] & 0x0f;
  if (tkl > 8 || msg.length < 4 + tkl) return null;
  const summary: CoapSummary = {
    type: TYPES[(msg[0] >> 4) & 3],
    code: codeText(msg[1]),
    mid: (msg[2] << 8) | msg[3],
    token: msg.slice(4, 4 + tkl),
    uri: "",
    payloadLength: 0,
    notes: [],
  };
  const path: string[] = [];
  const query: string[] = [];
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  let at = 4 + tkl;
  let number = 0;
  while (at < msg.length) {
    if (msg[at] === 0xff) {
      if (at + 1 === msg.length) return null; // marker without payload is a format error
      summary.payloadLength = msg.length - at - 1;
      break;
    }
    let delta = msg[at] >> 4;
    let len = msg[at] & 0x0f;
    at++;
    const ext = (nibble: number): number | null => {
      if (nibble < 13) return nibble;
      if (nibble === 13) { if (at >= msg.length) return null; return 13 + msg[at++]; }
      if (nibble === 14) { if (at + 1 >= msg.length) return null; const v = 269 + ((msg[at] << 8) | msg[at + 1]); at += 2; return v; }
      return null; // 15 is reserved
    };
    const d = ext(delta), l = ext(len);
    if (d === null || l === null) return null;
    delta = d; len = l;
    if (at + len > msg.length) return null;
    number += delta;
    const value = msg.subarray(at, at + len);
    at += len;
    switch (number) {
      case OPT_URI_PATH: path.push(text(value)); break;
      case OPT_URI_QUERY: query.push(text(value)); break;
      case OPT_URI_HOST: summary.notes.push(`host=${text(value)}`); break;
      case OPT_URI_PORT: summary.notes.push(`port=${uint(value)}`); break;
      case OPT_CONTENT_FORMAT: summary.notes.push(`cf=${uint(value)}`); break;
      case OPT_OBSERVE: summary.notes.push(`obs=${uint(value)}`); break;
      case OPT_BLOCK1:
      case OPT_BLOCK2: {
        const v = uint(value);
        summary.notes.push(`block${number === OPT_BLOCK1 ? 1 : 2}=${v >> 4}/${(v >> 3) & 1}/${16 << (v & 7)}`);
        break;
      }
      default: summary.notes.push(`opt${number}`);
    }
  }
  if (path.length) summary.uri = "/" + path.join("/");
  if (query.length) summary.uri += "?" + query.join("&");
  return summary;
}

/** The one-line form: "CON GET mid=5 tkn=01 /c?q=11 cf=42 (12 B)". */
export function describeCoap(msg: Uint8Array): string {
  const s = summarizeCoap(msg);
  if (!s) return `not CoAP (${msg.length} B: ${Buffer.from(msg.subarray(0, 8)).toString("hex")}${msg.length > 8 ? "…" : ""})`;
  const parts = [s.type, s.code, `mid=${s.mid}`];
  if (s.token.length) parts.push(`tkn=${Buffer.from(s.token).toString("hex")}`);
  if (s.uri) parts.push(s.uri);
  parts.push(...s.notes, `(${s.payloadLength} B)`);
  return parts.join(" ");
}
