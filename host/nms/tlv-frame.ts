// CSMP TLV framing: `varint type | varint length | value` with protobuf
// varints (non-minimal ones accepted, as the reference agent writes them),
// and vendor TLV 127 in both its forms: deployed (Cisco agent, FND 5.0)
// `127 | PEN | vendor type | length | value` and draft-09
// `127 | length | SubTLVs`, SubType 1 (the PEN) first. Values stay bytes here.

export const VENDOR_TLV = 127;
/** Draft-09 vendor SubType carrying the Private Enterprise Number; it must come first. */
export const VENDOR_SUBTYPE_PEN = 1;
const MAX_VARINT_BYTES = 10;
export const MAX_UINT32 = 0xffffffff;

// ---- varints --------------------------------------------------------------------

/** Minimal protobuf varint of a non-negative safe integer. */
export function encodeVarint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad varint value ${n}`);
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/**
 * Reads a varint at `at`. Non-minimal encodings are accepted (the reference
 * agent writes every length as two bytes, `94 00` = 20); at most 10 bytes.
 * Returns null when truncated, over-long or beyond a safe integer.
 */
export function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | null {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (at + i >= bytes.length) return null;
    const b = bytes[at + i];
    value += (b & 0x7f) * scale;
    if (!Number.isSafeInteger(value)) return null;
    if ((b & 0x80) === 0) return { value, next: at + i + 1 };
    scale *= 0x80;
  }
  return null;
}

export class TlvDecodeError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (payload offset ${offset})`);
    this.name = "TlvDecodeError";
  }
}
export interface SubTlv {
  subType: number;
  start: number;
  valueStart: number;
  end: number;
}

/** One way to read the TLV that starts at an offset. */
export interface Frame {
  start: number;
  end: number;
  type: number;
  valueStart: number;
  form?: "deployed" | "draft";
  pen?: number;
  vendorType?: number;
  /** Draft form: the SubTLVs after the PEN. */
  subs?: SubTlv[];
}

/** Reads draft-09 SubTLVs filling [from, to) exactly, SubType 1 = PEN first; null when they do not. */
function draftSubTlvs(bytes: Uint8Array, from: number, to: number): { pen: number; subs: SubTlv[] } | null {
  const subs: SubTlv[] = [];
  let at = from;
  let pen: number | undefined;
  while (at < to) {
    const st = readVarint(bytes, at);
    if (!st || st.next > to) return null;
    const len = readVarint(bytes, st.next);
    if (!len || len.next + len.value > to) return null;
    const sub = { subType: st.value, start: at, valueStart: len.next, end: len.next + len.value };
    if (pen === undefined) {
      // The PEN's value is itself a varint filling the SubTLV exactly.
      if (sub.subType !== VENDOR_SUBTYPE_PEN) return null;
      const p = readVarint(bytes.subarray(0, sub.end), sub.valueStart);
      if (!p || p.next !== sub.end || p.value > MAX_UINT32) return null;
      pen = p.value;
    } else {
      subs.push(sub);
    }
    at = sub.end;
  }
  return pen === undefined ? null : { pen, subs };
}

/** The readings of the TLV starting at `at`, preferred first, and why none when empty. */
function framesAt(bytes: Uint8Array, at: number): { frames: Frame[]; why?: string } {
  const t = readVarint(bytes, at);
  if (!t) return { frames: [], why: "type varint truncated or over-long" };
  if (t.value > MAX_UINT32) return { frames: [], why: `type ${t.value} beyond 32 bits` };
  if (t.value !== VENDOR_TLV) {
    const len = readVarint(bytes, t.next);
    if (!len) return { frames: [], why: `TLV ${t.value}: length varint truncated or over-long` };
    const end = len.next + len.value;
    if (end > bytes.length) return { frames: [], why: `TLV ${t.value}: length ${len.value} exceeds the ${bytes.length - len.next} bytes left` };
    return { frames: [{ start: at, end, type: t.value, valueStart: len.next }] };
  }
  const frames: Frame[] = [];
  // Deployed (Cisco agent / FND 5.0): 127 | PEN | vendor type | length | value.
  const pen = readVarint(bytes, t.next);
  const vt = pen && readVarint(bytes, pen.next);
  const vlen = vt && readVarint(bytes, vt.next);
  if (pen && vt && vlen && pen.value <= MAX_UINT32 && vt.value <= MAX_UINT32 && vlen.next + vlen.value <= bytes.length) {
    frames.push({ start: at, end: vlen.next + vlen.value, type: VENDOR_TLV, valueStart: vlen.next, form: "deployed", pen: pen.value, vendorType: vt.value });
  }
  // Draft-09: 127 | length | SubTLVs, SubType 1 (PEN) first.
  const dlen = readVarint(bytes, t.next);
  if (dlen && dlen.next + dlen.value <= bytes.length) {
    const draft = draftSubTlvs(bytes, dlen.next, dlen.next + dlen.value);
    if (draft) frames.push({ start: at, end: dlen.next + dlen.value, type: VENDOR_TLV, valueStart: dlen.next, form: "draft", pen: draft.pen, subs: draft.subs });
  }
  return frames.length ? { frames } : { frames, why: "vendor TLV 127 fits neither the deployed nor the draft-09 form" };
}

/** More than any payload's TLV count: one implausible TLV outweighs any number of TLVs. */
const IMPLAUSIBLE_WEIGHT = 1 << 20;

/** Follows the preferred readings from `at` to the first TLV that does not frame, and says why. */
function framingError(bytes: Uint8Array, at: number): TlvDecodeError {
  let p = at;
  for (;;) {
    const { frames, why } = framesAt(bytes, p);
    if (!frames.length) return new TlvDecodeError(`bad TLV framing: ${why}`, p);
    p = frames[0].end;
    // Unreachable in practice: a chain of frames to the end would have had a finite cost.
    if (p >= bytes.length) return new TlvDecodeError("bad TLV framing", at);
  }
}
/**
 * Splits a payload into TLV frames. The two vendor forms can read the same
 * bytes differently: a draft-09 TLV (127 | len | 01 n PEN | SubTLVs...) is
 * always also a deployed one (PEN = len, type 1, value = PEN) followed by its
 * SubTLVs read as standard TLVs. So the payload is read the way that frames
 * it to the end with, first, the fewest implausible TLVs (as judged by the
 * caller: unknown types, values that do not parse), then the fewest TLVs; on a tie the deployed
 * form wins, as real traffic uses it. Only offsets some reading reaches are
 * looked at (left to right), then costs are settled right to left: linear in
 * the payload, no recursion, no backtracking blow-up.
 */
export function framePayload(bytes: Uint8Array, implausible: (f: Frame) => number): Frame[] {
  const n = bytes.length;
  const reachable = new Uint8Array(n + 1);
  reachable[0] = 1;
  const options: Frame[][] = new Array<Frame[]>(n);
  for (let i = 0; i < n; i++) {
    if (!reachable[i]) continue;
    options[i] = framesAt(bytes, i).frames;
    for (const f of options[i]) reachable[f.end] = 1;
  }
  // cost[i] for bytes[i..]: implausible TLVs weigh far more than TLVs; Infinity when nothing frames.
  const cost = new Float64Array(n + 1).fill(Infinity);
  const best: (Frame | undefined)[] = new Array<Frame | undefined>(n);
  cost[n] = 0;
  for (let i = n - 1; i >= 0; i--) {
    if (!reachable[i]) continue;
    for (const f of options[i]) {
      if (cost[f.end] === Infinity) continue;
      const c = cost[f.end] + IMPLAUSIBLE_WEIGHT * implausible(f) + 1;
      if (c < cost[i]) {
        cost[i] = c;
        best[i] = f;
      }
    }
  }
  const out: Frame[] = [];
  let at = 0;
  while (at < n) {
    const f = best[at];
    if (!f) throw framingError(bytes, at);
    out.push(f);
    at = f.end;
  }
  return out;
}
