// Signature DER corruption. FND's Signature TLV value is
//   SEQUENCE { OID ecdsa-with-SHA256, BIT STRING { 00, SEQUENCE { INTEGER r, INTEGER s } } }
// and a device must parse it strictly. Rather than flipping bytes blindly,
// the corruptions rebuild that structure with one element encoded wrong:
// long, indefinite or overflowing lengths, wrong tags, non-minimal or
// negative or out-of-range integers, unused bits, trailing bytes. The
// Signature TLV around it is re-framed with correct lengths, so the broken
// DER is what the device's parser meets.
import { parseSignatureValue, SIGNATURE_TLV } from "../nms/sign.ts";
import { readVarint } from "../nms/tlv.ts";
import { concatBytes, pbBytes, rawTlv } from "./bytes.ts";
import type { Rng } from "./rng.ts";

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const OID = Uint8Array.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);

type LengthMode = "ok" | "long81" | "long82" | "long84" | "indefinite" | "overflow" | "plus1" | "minus1" | "zero";

function length(n: number, mode: LengthMode): number[] {
  switch (mode) {
    case "ok": return n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
    case "long81": return [0x81, n & 0xff];
    case "long82": return [0x82, n >> 8, n & 0xff];
    case "long84": return [0x84, 0, 0, n >> 8, n & 0xff];
    case "indefinite": return [0x80];
    case "overflow": return [0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    case "plus1": return [(n + 1) & 0x7f];
    case "minus1": return [Math.max(0, n - 1) & 0x7f];
    case "zero": return [0];
  }
}

function node(tag: number, content: Uint8Array, mode: LengthMode = "ok"): Uint8Array {
  return concatBytes([Uint8Array.of(tag, ...length(content.length, mode)), content]);
}

function unsignedBytes(n: bigint): Uint8Array {
  let h = n.toString(16);
  if (h.length & 1) h = `0${h}`;
  return new Uint8Array(Buffer.from(h, "hex"));
}

/** INTEGER content of a non-negative number, minimal unless told otherwise. */
function intContent(n: bigint, form: "minimal" | "leading-zero" | "negative" | "empty" | "huge"): Uint8Array {
  const raw = unsignedBytes(n);
  const minimal = raw[0] & 0x80 ? concatBytes([Uint8Array.of(0), raw]) : raw;
  switch (form) {
    case "minimal": return minimal;
    case "leading-zero": return concatBytes([Uint8Array.of(0, 0), raw]);
    case "negative": return Uint8Array.from([0x80 | raw[0], ...raw.subarray(1)]);
    case "empty": return new Uint8Array(0);
    case "huge": return new Uint8Array(64).fill(0xff);
  }
}

interface Plan {
  tags: { outer: number; oid: number; bits: number; inner: number; r: number; s: number };
  lengths: { outer: LengthMode; oid: LengthMode; bits: LengthMode; inner: LengthMode; r: LengthMode; s: LengthMode };
  r: bigint;
  s: bigint;
  rForm: Parameters<typeof intContent>[1];
  sForm: Parameters<typeof intContent>[1];
  oid: Uint8Array;
  unusedBits: number;
  trailing: { inner: Uint8Array; bits: Uint8Array; outer: Uint8Array };
}

function build(p: Plan): Uint8Array {
  const r = node(p.tags.r, intContent(p.r, p.rForm), p.lengths.r);
  const s = node(p.tags.s, intContent(p.s, p.sForm), p.lengths.s);
  const inner = node(p.tags.inner, concatBytes([r, s, p.trailing.inner]), p.lengths.inner);
  const bits = node(p.tags.bits, concatBytes([Uint8Array.of(p.unusedBits), inner, p.trailing.bits]), p.lengths.bits);
  const oid = node(p.tags.oid, p.oid, p.lengths.oid);
  return concatBytes([node(p.tags.outer, concatBytes([oid, bits]), p.lengths.outer), p.trailing.outer]);
}

/** The Signature value with exactly one thing wrong (or, rarely, a valid high-s twin). */
export function corruptSignatureValue(valid: Uint8Array, rng: Rng): { name: string; value: Uint8Array } {
  let r = 1n, s = 1n;
  try {
    const parsed = parseSignatureValue(valid);
    r = BigInt(`0x${Buffer.from(parsed.r).toString("hex")}`);
    s = BigInt(`0x${Buffer.from(parsed.s).toString("hex")}`);
  } catch {
    // Already broken: corrupt a fresh structure around r = s = 1.
  }
  const none = new Uint8Array(0);
  const p: Plan = {
    tags: { outer: 0x30, oid: 0x06, bits: 0x03, inner: 0x30, r: 0x02, s: 0x02 },
    lengths: { outer: "ok", oid: "ok", bits: "ok", inner: "ok", r: "ok", s: "ok" },
    r, s, rForm: "minimal", sForm: "minimal", oid: OID, unusedBits: 0, trailing: { inner: none, bits: none, outer: none },
  };
  const elements = ["outer", "oid", "bits", "inner", "r", "s"] as const;
  const which = rng.pick(elements);
  const kind = rng.int(9);
  let name: string;
  switch (kind) {
    case 0: p.tags[which] = rng.pick([0x00, 0x04, 0x05, 0x31, 0x1f, 0xff, p.tags[which] ^ 0x20]); name = `${which} tag`; break;
    case 1: p.lengths[which] = rng.pick<LengthMode>(["long81", "long82", "long84", "indefinite", "overflow", "plus1", "minus1", "zero"]); name = `${which} length ${p.lengths[which]}`; break;
    case 2: {
      const form = rng.pick(["leading-zero", "negative", "empty", "huge"] as const);
      if (rng.chance(0.5)) p.rForm = form; else p.sForm = form;
      name = `integer ${form}`;
      break;
    }
    case 3: {
      const v = rng.pick([0n, N, N + 1n, (1n << 256n) - 1n]);
      if (rng.chance(0.5)) p.r = v; else p.s = v;
      name = `integer out of range`;
      break;
    }
    case 4: p.oid = rng.pick([OID.subarray(0, 7), Uint8Array.from([...OID.subarray(0, 7), 0x03]), new Uint8Array(0), Uint8Array.from([...OID, 0x01])]); name = "algorithm OID"; break;
    case 5: p.unusedBits = rng.range(1, 8); name = "BIT STRING unused bits"; break;
    case 6: {
      const where = rng.pick(["inner", "bits", "outer"] as const);
      p.trailing[where] = rng.bytes(rng.range(1, 4));
      name = `trailing bytes after ${where}`;
      break;
    }
    case 7: return { name: "truncated", value: build(p).subarray(0, rng.int(Math.max(1, valid.length))) };
    default: p.s = N - s; name = "high-s twin (still a valid signature)"; break;
  }
  return { name, value: build(p) };
}

/**
 * Replaces the value of the last Signature TLV in a payload with a corrupted
 * one, re-framed; returns null when the payload has no Signature TLV.
 */
export function corruptSignedPayload(payload: Uint8Array, rng: Rng): { name: string; payload: Uint8Array } | null {
  let at = 0, sig: { start: number; end: number; value: Uint8Array } | null = null;
  while (at < payload.length) {
    const type = readVarint(payload, at);
    const len = type && readVarint(payload, type.next);
    if (!type || !len || len.next + len.value > payload.length) break;
    if (type.value === SIGNATURE_TLV) {
      // Signature { bytes value = 1 }: skip the field key and its length.
      const pb = payload.subarray(len.next, len.next + len.value);
      const inner = pb[0] === 0x0a ? readVarint(pb, 1) : null;
      if (inner) sig = { start: at, end: len.next + len.value, value: pb.subarray(inner.next, inner.next + inner.value) };
    }
    at = len.next + len.value;
  }
  if (!sig) return null;
  const bad = corruptSignatureValue(sig.value, rng);
  const tlv = rawTlv(SIGNATURE_TLV, pbBytes(1, bad.value));
  return { name: `signature DER: ${bad.name}`, payload: concatBytes([payload.subarray(0, sig.start), tlv, payload.subarray(sig.end)]) };
}
