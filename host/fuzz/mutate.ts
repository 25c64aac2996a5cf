// Mutation operators, from blind to structure-aware. Blind ones (bit flips,
// truncation, extension, splicing) find what nobody thought of; aware ones
// find the CoAP options, the TLVs in the payload, the protobuf fields inside
// a TLV value and the DER inside a Signature, break exactly one thing there
// and re-frame everything around it, so the damage reaches the parser layer
// it is aimed at instead of being caught by the first length check.
import { readVarint } from "../nms/tlv.ts";
import { concatBytes, pbBytes, varint } from "./bytes.ts";
import { corruptSignedPayload } from "./der.ts";
import type { Rng } from "./rng.ts";

/** The agent's receive buffer: longer inputs never reach it. */
export const MAX_INPUT = 1280;

export interface Mutation {
  name: string;
  bytes: Uint8Array;
}

type Operator = (b: Uint8Array, rng: Rng, other: () => Uint8Array) => Mutation | null;

// ---- layout ------------------------------------------------------------------------

interface Span { start: number; end: number }

/** Where the CoAP parts lie, read leniently (stops at the first broken option). */
export function coapLayout(b: Uint8Array): { tokenEnd: number; options: Span[]; optionsEnd: number; marker: number | null } {
  const tokenEnd = Math.min(b.length, 4 + Math.min(8, b.length ? b[0] & 15 : 0));
  const options: Span[] = [];
  let at = tokenEnd;
  while (at < b.length && b[at] !== 0xff) {
    const start = at;
    const head = b[at++];
    const ext = (nib: number): number | null => {
      if (nib < 13) return nib;
      if (nib === 13 && at < b.length) return b[at++] + 13;
      if (nib === 14 && at + 1 < b.length) { const v = (b[at] << 8 | b[at + 1]) + 269; at += 2; return v; }
      return null;
    };
    if (ext(head >> 4) === null) return { tokenEnd, options, optionsEnd: start, marker: null };
    const len = ext(head & 15);
    if (len === null || at + len > b.length) return { tokenEnd, options, optionsEnd: start, marker: null };
    at += len;
    options.push({ start, end: at });
  }
  return { tokenEnd, options, optionsEnd: at, marker: at < b.length ? at : null };
}

/** TLV frames of a payload, read leniently (stops at the first that does not fit). */
export function tlvFrames(p: Uint8Array): (Span & { typeEnd: number; valueStart: number; type: number })[] {
  const out: (Span & { typeEnd: number; valueStart: number; type: number })[] = [];
  let at = 0;
  while (at < p.length) {
    const t = readVarint(p, at);
    const l = t && readVarint(p, t.next);
    if (!t || !l || l.next + l.value > p.length) break;
    out.push({ start: at, typeEnd: t.next, valueStart: l.next, end: l.next + l.value, type: t.value });
    at = l.next + l.value;
  }
  return out;
}

/** Protobuf fields of a message, read leniently. */
function pbFields(v: Uint8Array): (Span & { keyEnd: number; wire: number; field: number; lenEnd?: number })[] {
  const out: (Span & { keyEnd: number; wire: number; field: number; lenEnd?: number })[] = [];
  let at = 0;
  while (at < v.length) {
    const k = readVarint(v, at);
    if (!k) break;
    const wire = k.value % 8, field = Math.floor(k.value / 8);
    if (wire === 0) {
      const x = readVarint(v, k.next);
      if (!x) break;
      out.push({ start: at, keyEnd: k.next, end: x.next, wire, field });
      at = x.next;
    } else if (wire === 2) {
      const l = readVarint(v, k.next);
      if (!l || l.next + l.value > v.length) break;
      out.push({ start: at, keyEnd: k.next, lenEnd: l.next, end: l.next + l.value, wire, field });
      at = l.next + l.value;
    } else if (wire === 1 || wire === 5) {
      const end = at + (k.next - at) + (wire === 1 ? 8 : 4);
      if (end > v.length) break;
      out.push({ start: at, keyEnd: k.next, end, wire, field });
      at = end;
    } else break;
  }
  return out;
}

function payloadOf(b: Uint8Array): { head: Uint8Array; payload: Uint8Array } | null {
  const { marker } = coapLayout(b);
  if (marker === null) return null;
  return { head: b.subarray(0, marker + 1), payload: b.subarray(marker + 1) };
}

const splice = (b: Uint8Array, s: Span, insert: Uint8Array): Uint8Array => concatBytes([b.subarray(0, s.start), insert, b.subarray(s.end)]);

/** Repeats `unit` up to `count` times without passing the receive buffer. */
function repeat(unit: Uint8Array, count: number, room: number): Uint8Array {
  const n = Math.max(1, Math.min(count, Math.floor(room / Math.max(1, unit.length))));
  return concatBytes(Array.from({ length: n }, () => unit));
}

// ---- blind --------------------------------------------------------------------------

const INTERESTING_BYTES = [0x00, 0x01, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xd0, 0xe0, 0xf0, 0xfe, 0xff];

const blind: [number, Operator][] = [
  [4, (b, rng) => {
    if (!b.length) return null;
    const out = b.slice();
    const n = rng.range(1, 8);
    for (let i = 0; i < n; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
    return { name: `flip ${n} bits`, bytes: out };
  }],
  [3, (b, rng) => {
    if (!b.length) return null;
    const out = b.slice();
    out[rng.int(out.length)] = rng.pick(INTERESTING_BYTES);
    return { name: "interesting byte", bytes: out };
  }],
  [3, (b, rng) => ({ name: "truncate", bytes: b.subarray(0, rng.int(b.length + 1)) })],
  [2, (b, rng) => ({ name: "extend", bytes: concatBytes([b, rng.chance(0.5) ? rng.bytes(rng.range(1, 64)) : new Uint8Array(rng.range(1, 300)).fill(rng.pick([0x00, 0xff, 0x80]))]) })],
  [2, (b, rng) => {
    const at = rng.int(b.length + 1);
    return { name: "insert bytes", bytes: splice(b, { start: at, end: at }, rng.bytes(rng.range(1, 16))) };
  }],
  [2, (b, rng) => {
    if (b.length < 2) return null;
    const start = rng.int(b.length), end = Math.min(b.length, start + rng.range(1, 32));
    return { name: "delete bytes", bytes: splice(b, { start, end }, new Uint8Array(0)) };
  }],
  [2, (b, rng) => {
    if (b.length < 2) return null;
    const start = rng.int(b.length), end = Math.min(b.length, start + rng.range(1, 64));
    const at = rng.int(b.length + 1);
    return { name: "duplicate a chunk", bytes: splice(b, { start: at, end: at }, repeat(b.subarray(start, end), rng.range(1, 40), MAX_INPUT - b.length)) };
  }],
  [2, (b, rng, other) => {
    const o = other();
    return { name: "splice with another input", bytes: concatBytes([b.subarray(0, rng.int(b.length + 1)), o.subarray(rng.int(o.length + 1))]) };
  }],
];

// ---- CoAP ----------------------------------------------------------------------------

const coap: [number, Operator][] = [
  [3, (b, rng) => {
    if (b.length < 4) return null;
    const out = b.slice();
    const field = rng.int(4);
    if (field === 0) out[0] = (out[0] & 0xcf) | (rng.int(4) << 4);
    else if (field === 1) out[0] = (out[0] & 0xf0) | rng.range(0, 15);
    else if (field === 2) out[1] = rng.pick([0, 1, 2, 3, 4, 5, 31, 0x20, 0x3f, 0x41, 0x44, 0x45, 0x83, 0xa0, 0xc0, 0xe0, 0xff, rng.int(256)]);
    else { out[2] = rng.int(256); out[3] = rng.int(256); }
    return { name: ["type", "token length", "code", "message id"][field], bytes: out };
  }],
  [3, (b, rng) => {
    const l = coapLayout(b);
    const at = l.optionsEnd;
    const option = rng.pick([
      Uint8Array.of(0xe0, 0xff, 0xff),                // delta 65804: past the 16-bit option space
      Uint8Array.of(0xe0, 0xfe, 0xf3, 0x00),          // delta to exactly 65535 (+ running number)
      Uint8Array.of(0xf0),                            // delta nibble 15 outside the marker
      Uint8Array.of(0x0f),                            // length nibble 15
      Uint8Array.of(0x0e, 0xff, 0xff),                // length 65804 past the end
      Uint8Array.of(0xd1, 0xff, 0x00),                // delta 268 (elective 268+)
      Uint8Array.of(0x90, 0x01),                      // critical option 9, unknown
      Uint8Array.of(0xd0, 0x00),                      // delta nibble 13 + 0: option 13 (+running)
      Uint8Array.of(0x60, 0x60, 0x60),                // Observe three times
      Uint8Array.of(0xd4, 0x0a, 0xff, 0xff, 0xff, 0xff), // Block2 with 4 bytes (max 3)
    ]);
    const reps = rng.chance(0.3) ? rng.range(2, 200) : 1;
    return { name: "hostile option", bytes: splice(b, { start: at, end: at }, repeat(option, reps, MAX_INPUT - b.length)) };
  }],
  [2, (b, rng) => {
    const l = coapLayout(b);
    if (!l.options.length) return null;
    const o = rng.pick(l.options);
    // The same option again and again: delta 0 after the first copy, so only
    // the delta nibble and its extension bytes change.
    const deltaNib = b[o.start] >> 4;
    const deltaExt = deltaNib === 13 ? 1 : deltaNib === 14 ? 2 : 0;
    const unit = concatBytes([Uint8Array.of(b[o.start] & 0x0f), b.subarray(o.start + 1 + deltaExt, o.end)]);
    return { name: "option repeated", bytes: splice(b, { start: o.end, end: o.end }, repeat(unit, rng.range(2, 400), MAX_INPUT - b.length)) };
  }],
  [1, (b) => {
    const l = coapLayout(b);
    return l.marker === null
      ? { name: "payload marker, no payload", bytes: concatBytes([b, Uint8Array.of(0xff)]) }
      : { name: "payload marker removed", bytes: splice(b, { start: l.marker, end: l.marker + 1 }, new Uint8Array(0)) };
  }],
];

// ---- TLV, protobuf, DER (payload) ------------------------------------------------------

function withPayload(op: (p: Uint8Array, rng: Rng) => Mutation | null): Operator {
  return (b, rng) => {
    const parts = payloadOf(b);
    if (!parts || !parts.payload.length) return null;
    const m = op(parts.payload, rng);
    return m && { name: m.name, bytes: concatBytes([parts.head, m.bytes]) };
  };
}

const HUGE = [0xffffffffn, 0x100000000n, 0x7fffffffn, 0x80000000n, 1n << 35n, (1n << 64n) - 1n];

const tlv: [number, Operator][] = [
  [3, withPayload((p, rng) => {
    const f = tlvFrames(p);
    if (!f.length) return null;
    const t = rng.pick(f);
    const len = BigInt(t.end - t.valueStart);
    const choice = rng.int(5);
    const header = [
      () => concatBytes([varint(t.type, rng.range(2, 12)), p.subarray(t.typeEnd, t.valueStart)]),   // overlong type
      () => concatBytes([p.subarray(t.start, t.typeEnd), varint(len, rng.range(2, 12))]),           // overlong length
      () => concatBytes([p.subarray(t.start, t.typeEnd), varint(rng.pick(HUGE))]),                  // huge length
      () => concatBytes([p.subarray(t.start, t.typeEnd), varint(len === 0n || rng.chance(0.5) ? len + 1n : len - 1n)]),
      () => concatBytes([varint(rng.pick([0, 127, 0xffffffff, rng.int(600)].map(BigInt))), p.subarray(t.typeEnd, t.valueStart)]),
    ][choice]();
    return { name: ["TLV type overlong", "TLV length overlong", "TLV length huge", "TLV length off by one", "TLV type changed"][choice], bytes: splice(p, { start: t.start, end: t.valueStart }, header) };
  })],
  [2, withPayload((p, rng) => {
    const f = tlvFrames(p);
    if (!f.length) return null;
    const t = rng.pick(f);
    const roll = rng.int(3);
    if (roll === 0) return { name: "TLV repeated", bytes: splice(p, { start: t.end, end: t.end }, repeat(p.subarray(t.start, t.end), rng.range(2, 1000), MAX_INPUT - p.length - 8)) };
    if (roll === 1) return { name: "TLV dropped", bytes: splice(p, t, new Uint8Array(0)) };
    const u = rng.pick(f);
    const [a, c] = t.start < u.start ? [t, u] : [u, t];
    if (a === c) return null;
    return { name: "TLVs swapped", bytes: concatBytes([p.subarray(0, a.start), p.subarray(c.start, c.end), p.subarray(a.end, c.start), p.subarray(a.start, a.end), p.subarray(c.end)]) };
  })],
  [4, withPayload((p, rng) => {
    const frames = tlvFrames(p).filter((f) => f.end > f.valueStart);
    if (!frames.length) return null;
    const t = rng.pick(frames);
    const m = mutateMessage(p.subarray(t.valueStart, t.end), rng);
    if (!m) return null;
    // Re-framed with the right length (mostly), so the protobuf decoder sees the damage.
    const len = rng.chance(0.9) ? m.bytes.length : m.bytes.length + rng.pick([-1, 1, 1000]);
    return { name: `protobuf: ${m.name}`, bytes: splice(p, t, concatBytes([p.subarray(t.start, t.typeEnd), varint(Math.max(0, len)), m.bytes])) };
  })],
  [3, withPayload((p, rng) => {
    const m = corruptSignedPayload(p, rng);
    return m && { name: m.name, bytes: m.payload };
  })],
];

/** Breaks one field of a protobuf message. */
function mutateMessage(v: Uint8Array, rng: Rng): Mutation | null {
  const fields = pbFields(v);
  if (!fields.length) return null;
  const f = rng.pick(fields);
  const key = v.subarray(f.start, f.keyEnd);
  switch (rng.int(7)) {
    case 0: return { name: "wire type", bytes: splice(v, { start: f.start, end: f.keyEnd }, varint(BigInt(f.field) * 8n + BigInt(rng.pick([0, 1, 2, 3, 4, 5, 6, 7])))) };
    case 1: return { name: "key overlong", bytes: splice(v, { start: f.start, end: f.keyEnd }, varint(BigInt(f.field) * 8n + BigInt(f.wire), rng.range(2, 11))) };
    case 2: return { name: "field number huge", bytes: splice(v, { start: f.start, end: f.keyEnd }, varint((rng.pick([0x1fffffffn, 0xffffffffn, 1n << 60n, 0n])) * 8n + BigInt(f.wire))) };
    case 3:
      if (f.wire === 2 && f.lenEnd !== undefined) {
        return { name: "length huge", bytes: splice(v, { start: f.keyEnd, end: f.lenEnd }, varint(rng.pick(HUGE))) };
      }
      return { name: "varint overflow", bytes: splice(v, { start: f.keyEnd, end: f.end }, concatBytes([new Uint8Array(rng.range(10, 12)).fill(0xff), Uint8Array.of(0x7f)])) };
    case 4: return { name: "field repeated by the thousand", bytes: splice(v, { start: f.end, end: f.end }, repeat(v.subarray(f.start, f.end), rng.range(100, 3000), MAX_INPUT - v.length - 16)) };
    case 5: {
      // Wrap the field in itself, deep: a decoder that recurses must stop somewhere.
      let w = v.subarray(f.start, f.end);
      const depth = rng.pick([2, 10, 100, 400]);
      for (let i = 0; i < depth && w.length < MAX_INPUT - 16; i++) w = pbBytes(f.field || 1, w);
      return { name: `nested ${depth} deep`, bytes: splice(v, f, w) };
    }
    default: {
      if (f.wire !== 2 || f.lenEnd === undefined) return { name: "key only", bytes: concatBytes([v, key]) };
      const inner = mutateMessage(v.subarray(f.lenEnd, f.end), rng);
      return inner && { name: `inner ${inner.name}`, bytes: splice(v, f, concatBytes([key, varint(inner.bytes.length), inner.bytes])) };
    }
  }
}

const ALL: [number, Operator][] = [...blind, ...coap, ...tlv];

/** Applies 1..`max` operators; inputs stay within the receive buffer. */
export function mutate(bytes: Uint8Array, rng: Rng, other: () => Uint8Array, max = 4): Mutation {
  let b = bytes;
  const names: string[] = [];
  const n = rng.range(1, max);
  for (let i = 0; i < n; i++) {
    const m = rng.weighted(ALL)(b, rng, other);
    if (!m) continue;
    b = m.bytes.length > MAX_INPUT ? m.bytes.subarray(0, MAX_INPUT) : m.bytes;
    names.push(m.name);
  }
  return { name: names.join(", ") || "unchanged", bytes: b };
}
