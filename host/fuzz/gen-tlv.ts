// TLV payload generators: well-formed TLVs through the NMS's protobufjs codec
// (so they are what an NMS could really send), and hand-built protobuf that
// no encoder would write: varints past 64 bits, lengths of 2^32 and more,
// repeated fields by the thousand, messages nested hundreds deep.
import { createHash } from "node:crypto";
import { encodeTlvs, type TlvInput } from "../nms/tlv.ts";
import { concatBytes, pbBytes, pbKey, pbVarint, rawTlv, utf8, varint } from "./bytes.ts";
import type { Rng } from "./rng.ts";
import { GROUP } from "./target.ts";

/** Values that sit on encoding and range boundaries. */
export const INTERESTING_U32 = [0, 1, 2, 59, 60, 127, 128, 255, 256, 299, 300, 3600, 16383, 16384, 65535, 65536, 0x7fffffff, 0x80000000, 0xffffffff];

/** TLV ids the device serves or accepts, and some it does not. */
const KNOWN_IDS = [1, 2, 6, 7, 8, 11, 12, 13, 16, 17, 18, 21, 22, 23, 25, 32, 35, 42, 43, 53, 55, 57, 58, 65, 67, 75, 76, 77, 79, 86, 124, 127, 141, 313, 314, 500, 501, 502, 510];

export function u32(rng: Rng): number {
  return rng.chance(0.5) ? rng.pick(INTERESTING_U32) : rng.u32();
}

/** A TLV id as CSMP text: known, random, vendor (e<PEN>.<type>) or not an id at all. */
export function idText(rng: Rng): string {
  return rng.weighted<() => string>([
    [6, () => String(rng.pick(KNOWN_IDS))],
    [2, () => String(rng.int(1000))],
    [1, () => String(u32(rng))],
    [1, () => `e${rng.pick([0, 9, 26484, 4294967295])}.${rng.pick([0, 1, 12, 4294967295])}`],
    [1, () => rng.pick(["", "e", "e9", "e9.", "-1", "0x10", "99999999999999999999", "4294967296", "1.2", " ", "e9.1.2", "\u00ff"])],
  ])();
}

export function fileHash(rng: Rng, image?: Uint8Array): Uint8Array {
  if (image && rng.chance(0.8)) return createHash("sha256").update(image).digest();
  return rng.chance(0.5) ? rng.bytes(32) : rng.bytes(rng.int(40));
}

export interface TlvContext {
  rng: Rng;
  nowS: number;
  /** The image a transfer would carry (6.9), and the running one (6.8), when the target has them. */
  upload?: Uint8Array;
  running?: Uint8Array;
}

/**
 * TLVs an NMS may legitimately send in a signed POST, with values that keep
 * the device usable for the rest of an episode: no reboot or load, no
 * signature relaxation, the clock set to now, the NMS kept where it is.
 */
export function benignTlvs(c: TlvContext): TlvInput[] {
  const { rng } = c;
  const one = (): TlvInput => rng.weighted<() => TlvInput>([
    [3, () => ({ type: "NMSSettings", value: pickFields(rng, { regIntervalMin: rng.range(1, 4000), regIntervalMax: rng.range(1, 90000) }) })],
    [3, () => ({ type: "ReportSubscribe", value: {
      interval: rng.pick([0, 1, 60, 900, u32(rng)]), tlvid: Array.from({ length: rng.int(6) }, () => idText(rng)),
      ...(rng.chance(0.5) ? { intervalHeartBeat: rng.pick([0, 600, u32(rng)]), tlvidHeartBeat: Array.from({ length: rng.int(3) }, () => idText(rng)) } : {}),
    } })],
    [2, () => ({ type: "GroupAssign", value: { type: rng.pick([1, 2, 3, u32(rng)]), id: rng.pick([GROUP.id, 6, u32(rng)]) } })],
    [1, () => ({ type: "GroupEvict", value: pickFields(rng, { type: rng.pick([1, 2, 9]), id: rng.pick([GROUP.id, 6]) }) })],
    [1, () => ({ type: "SessionID", value: { id: rng.pick(["fuzz-session", "s-2", "", "x".repeat(rng.int(200))]) } })],
    [1, () => ({ type: "CurrentTime", value: { posix: c.nowS } })],
    [3, () => ({ type: "DescriptionRequest", value: { tlvid: Array.from({ length: rng.int(8) }, () => idText(rng)) } })],
    [2, () => ({ type: "EventSubscribe", value: { id: Array.from({ length: rng.int(5) }, () => ({ ianaen: rng.pick([0, 9, 26484]), code: rng.int(20) })) } })],
    [1, () => ({ type: "SignatureSettings", value: { reqSignedPost: true, reqValidCheckPost: true, reqTimeSyncPost: true } })],
    [2, () => transferRequest(c)],
    [2, () => imageBlock(c)],
    [1, () => ({ type: rng.pick(["CancelLoadRequest", "SetBackupRequest"]), value: { fileHash: fileHash(rng, rng.chance(0.5) ? c.upload : c.running) } })],
  ])();
  return Array.from({ length: rng.range(1, 3) }, one);
}

/** TLVs that must never take effect unsigned: reboot, load, relaxed signature checks, redirects. */
export function dangerousTlvs(c: TlvContext): TlvInput[] {
  const { rng } = c;
  return [rng.weighted<() => TlvInput>([
    [2, () => ({ type: "RebootRequest", value: { flag: rng.pick([0, 1, 2]) } })],
    [2, () => ({ type: "LoadRequest", value: pickFields(rng, { fileHash: fileHash(rng, c.upload), loadTime: rng.pick([0, c.nowS, c.nowS + 60]) }) })],
    [2, () => ({ type: "SignatureSettings", value: { reqSignedPost: false, reqValidCheckPost: false, reqTimeSyncPost: false, reqSignedResp: false } })],
    [1, () => ({ type: "NMSRedirectRequest", value: { url: rng.pick(["coap://[2001:db8::66]:61629", "coap://[::1]", "http://x", ""]), immediate: rng.chance(0.5) } })],
    [1, () => ({ type: "CurrentTime", value: { posix: u32(rng) } })],
    [1, () => ({ type: "SessionID", value: { id: "hijacked" } })],
    [1, () => ({ type: "NMSSettings", value: { regIntervalMin: 1, regIntervalMax: 2 } })],
  ])(), ...benignTlvs(c).slice(0, rng.int(2))];
}

function transferRequest(c: TlvContext): TlvInput {
  const { rng } = c;
  const image = c.upload;
  return { type: "TransferRequest", value: pickFields(rng, {
    hwInfo: { hwId: rng.pick(["OPENCSMP", "OTHER", ""]) },
    fileHash: fileHash(rng, image), fileName: "opencsmp-node", version: rng.pick(["6.9.99", "6.8.99", ""]),
    fileSize: image && rng.chance(0.7) ? image.length : u32(rng), blockSize: rng.pick([512, 256, 4, 0, 1024, u32(rng)]),
  }, 0.9) };
}

function imageBlock(c: TlvContext): TlvInput {
  const { rng } = c;
  const image = c.upload;
  const blocks = image ? Math.ceil(image.length / 512) : 8;
  const n = rng.chance(0.8) ? rng.int(blocks) : u32(rng);
  const data = image && rng.chance(0.8) ? image.subarray(n * 512, (n + 1) * 512) : rng.bytes(rng.pick([0, 1, 511, 512, 513, 700]));
  return { type: "ImageBlock", value: pickFields(rng, { fileHash: fileHash(rng, image), blockNum: n, blockData: data }, 0.95) };
}

/** Keeps each field with probability p (presence matters to the device). */
function pickFields<T extends Record<string, unknown>>(rng: Rng, all: T, p = 0.8): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(all)) if (rng.chance(p)) (out as Record<string, unknown>)[k] = v;
  return out;
}

export function encode(tlvs: readonly TlvInput[]): Uint8Array {
  return encodeTlvs(tlvs);
}

// ---- payloads no encoder writes ----------------------------------------------------

/** Bytes that fit one datagram after a short CoAP header. */
const ROOM = 1180;

function fill(unit: Uint8Array, room = ROOM): Uint8Array {
  const n = Math.max(1, Math.floor(room / Math.max(1, unit.length)));
  return concatBytes(Array.from({ length: n }, () => unit));
}

/** A message nested `depth` times through field `field` (length-delimited all the way down). */
export function nested(field: number, depth: number, core: Uint8Array = new Uint8Array(0)): Uint8Array {
  let v = core;
  for (let i = 0; i < depth; i++) v = pbBytes(field, v);
  return v;
}

export function pathologicalPayload(c: TlvContext): { name: string; payload: Uint8Array } {
  const { rng } = c;
  const choices: [number, () => { name: string; payload: Uint8Array }][] = [
    [2, () => ({ name: "varint overflow (TLV type)", payload: concatBytes([new Uint8Array(rng.range(10, 14)).fill(0xff), Uint8Array.of(0x01, 0x00)]) })],
    [2, () => ({ name: "varint overflow (TLV length)", payload: concatBytes([varint(42), new Uint8Array(rng.range(10, 14)).fill(0x80 | rng.int(128)), Uint8Array.of(0x01, 0x08, 0x01)]) })],
    [2, () => ({ name: "huge TLV length", payload: rawTlv(rng.pick([42, 13, 77, 127, 67]), rng.bytes(rng.int(16)), rng.pick([0xffffffffn, 0x100000000n, 0x7fffffffn, 0xffffffffffffffffn, 1n << 35n, 0x80000000n])) })],
    [2, () => ({ name: "huge protobuf length", payload: rawTlv(rng.pick([13, 8, 65, 67, 502, 79]), concatBytes([pbKey(rng.pick([1, 2, 4, 9]), 2), varint(rng.pick([0xffffffffn, 0x7fffffffn, 1n << 40n, 0xffffffffffffffffn])), rng.bytes(4)])) })],
    [2, () => ({ name: "protobuf varint overflow", payload: rawTlv(rng.pick([42, 55, 57, 18, 13]), concatBytes([pbKey(rng.pick([1, 2]), 0), new Uint8Array(rng.range(10, 13)).fill(0xff), Uint8Array.of(0x01)])) })],
    [1, () => ({ name: "protobuf field number overflow", payload: rawTlv(rng.pick([42, 13, 79]), concatBytes([varint(rng.pick([0xffffffffn << 3n, 0x1fffffffn << 3n, 1n << 61n, 0n])), Uint8Array.of(0x01)])) })],
    [1, () => ({ name: "bad wire types", payload: rawTlv(rng.pick([42, 13, 79, 67]), concatBytes([pbKey(1, rng.pick([3, 4, 5, 6, 7, 1])), rng.bytes(rng.range(0, 12))])) })],
    [3, () => repeatedThousands(c)],
    [2, () => {
      const depth = rng.pick([64, 200, 500]);
      const which = rng.pick<[number, number]>([[65, 1], [502, 1], [13, 2], [8, 1], [79, 9], [127, 1]]);
      const v = nested(which[1], depth, rng.bytes(rng.int(4)));
      return { name: `nesting ${depth} deep in TLV ${which[0]}`, payload: rawTlv(which[0], v.subarray(0, Math.min(v.length, ROOM - 8))) };
    }],
    [1, () => ({ name: "thousands of empty TLVs", payload: fill(rawTlv(rng.pick([1, 7, 13, 42, 99999]), new Uint8Array(0))) })],
    [1, () => ({ name: "nested vendor TLVs", payload: nestedVendor(rng) })],
    [1, () => ({ name: "TLV type 0 and max", payload: concatBytes([rawTlv(0, rng.bytes(3)), rawTlv(0xffffffffn, rng.bytes(2)), rawTlv(1n << 40n, new Uint8Array(0))]) })],
  ];
  return rng.weighted(choices)();
}

/** One repeated field many times over: far past every max_count. */
function repeatedThousands(c: TlvContext): { name: string; payload: Uint8Array } {
  const { rng } = c;
  const kind = rng.int(6);
  const room = ROOM - 4;
  let tlv: number, unit: Uint8Array;
  switch (kind) {
    case 0: tlv = 8; unit = pbBytes(1, utf8(rng.pick(["1", "22", "e9.1"]))); break;        // DescriptionRequest.tlvid
    case 1: tlv = 13; unit = pbBytes(rng.pick([2, 4]), utf8("22")); break;               // ReportSubscribe.tlvid(HeartBeat)
    case 2: tlv = 502; unit = pbBytes(1, pbVarint(2, rng.int(20))); break;                // EventSubscribe.id
    case 3: tlv = 42; unit = pbVarint(rng.pick([1, 2]), rng.range(60, 7200)); break;      // NMSSettings: the same scalar again
    case 4: tlv = 65; unit = pbBytes(1, pbBytes(1, utf8("OPENCSMP"))); break;             // TransferRequest.hwInfo
    default: tlv = 79; unit = pbVarint(rng.range(1, 8), 1); break;                         // SignatureSettings flags
  }
  const value = fill(unit, room);
  const count = Math.floor(value.length / unit.length);
  return { name: `field repeated ${count} times in TLV ${tlv}`, payload: rawTlv(tlv, value) };
}

/** A draft-09 vendor TLV whose SubTLVs are themselves vendor TLVs, deep. */
function nestedVendor(rng: Rng): Uint8Array {
  let v: Uint8Array = rng.bytes(2);
  for (let i = 0; i < rng.pick([8, 50, 150]); i++) {
    const pen = rawTlv(1, varint(9));
    v = rawTlv(127, concatBytes([pen, v]));
    if (v.length > ROOM) break;
  }
  return v;
}
