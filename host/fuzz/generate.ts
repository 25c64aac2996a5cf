// Seed inputs: the real datagrams of the FND captures, and generated CoAP
// messages an NMS (or a confused neighbour) could send: GETs with every
// query shape, signed and unsigned POSTs, answers to the device's own
// requests, empty messages, and headers and options built to break a parser.
import { CoapCode, CoapOption, CoapType, encodeCoap, stringOption, uintOption, type CoapMessage, type CoapOptionValue } from "../nms/coap.ts";
import type { TlvInput } from "../nms/tlv.ts";
import { concatBytes, utf8 } from "./bytes.ts";
import { corruptSignedPayload } from "./der.ts";
import { benignTlvs, dangerousTlvs, encode, idText, pathologicalPayload, u32, type TlvContext } from "./gen-tlv.ts";
import { MAX_INPUT } from "./mutate.ts";
import type { DeterministicSigner } from "./p256-signer.ts";
import type { Rng } from "./rng.ts";
import { GROUP, type FuzzInput } from "./target.ts";

export interface GenContext extends TlvContext {
  signer: DeterministicSigner;
  /** A key the device does not trust. */
  wrongSigner: DeterministicSigner;
  /** The device's last CON request (its registration): answers to it are generated too. */
  lastDeviceRequest: CoapMessage | null;
  /** Datagrams of the FND captures. */
  captured: readonly Uint8Array[];
}

export interface Seed {
  kind: string;
  to: FuzzInput["to"];
  from: FuzzInput["from"];
  /** Sent from the NMS's CoAP port (answers to the device's requests must come from there). */
  fromNmsPort: boolean;
  bytes: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function token(rng: Rng): Uint8Array {
  return rng.chance(0.3) ? EMPTY : rng.bytes(rng.range(1, 8));
}

function message(rng: Rng, code: number, options: CoapOptionValue[], payload: Uint8Array = EMPTY, type?: CoapType): CoapMessage {
  return { type: type ?? (rng.chance(0.7) ? CoapType.Confirmable : CoapType.NonConfirmable), code, mid: rng.int(0x10000), token: token(rng), options, payload };
}

/** Query values the device server understands, and some it must refuse. */
function queries(rng: Rng): string[] {
  const out: string[] = [];
  if (rng.chance(0.8)) {
    const sep = rng.pick(["+", "+", ",", " ", "++", ""]);
    out.push(`q=${Array.from({ length: rng.range(0, rng.chance(0.1) ? 120 : 8) }, () => idText(rng)).join(sep)}`);
  }
  if (rng.chance(0.2)) out.push(`a=${rng.pick(["0", "1", "10", "300", "4294967295", "4294967296", "-1", "x", ""])}`);
  if (rng.chance(0.1)) out.push(`r=${rng.pick(["coap://[2001:db8::1]:61629", "coap://[2001:db8::77]:5683/c", "coap://[::]", "coap://[ff02::1]:1", "http://[::1]", "coap://[2001:db8::1]:99999", "coap://[zz]"])}`);
  if (rng.chance(0.05)) out.push(rng.pick(["z=1", "q", "=", "qq=1", "a"]));
  return out;
}

function path(rng: Rng): string[] {
  return rng.weighted<string[]>([
    [8, ["c"]],
    [3, ["c", idText(rng)]],
    [1, ["r"]],
    [1, []],
    [1, ["c", "1", "2"]],
    [1, [rng.pick(["C", "x", "c ", "\u0000", "c".repeat(255)])]],
  ]);
}

function extraOptions(rng: Rng): CoapOptionValue[] {
  if (!rng.chance(0.2)) return [];
  return Array.from({ length: rng.range(1, 3) }, () => rng.pick<() => CoapOptionValue>([
    () => uintOption(CoapOption.Accept, rng.pick([0, 42, 60, 65535])),
    () => ({ number: CoapOption.Block2, value: rng.bytes(rng.range(0, 4)) }),
    () => ({ number: CoapOption.Block1, value: rng.bytes(rng.range(0, 3)) }),
    () => stringOption(CoapOption.UriHost, rng.pick(["2001:db8::2", "", "x".repeat(255)])),
    () => ({ number: CoapOption.UriPort, value: rng.bytes(rng.range(0, 3)) }),
    () => uintOption(CoapOption.Observe, 0),
    () => ({ number: CoapOption.ETag, value: rng.bytes(rng.range(0, 9)) }),
    () => ({ number: rng.pick([9, 13, 21, 257, 2049, 65535, 65001]), value: rng.bytes(rng.range(0, 4)) }),
    () => ({ number: rng.pick([10, 258, 2048, 65000]), value: rng.bytes(rng.range(0, 4)) }),
    () => uintOption(CoapOption.ContentFormat, rng.pick([0, 42, 60])),
  ])());
}

function uriOptions(segments: string[], query: string[]): CoapOptionValue[] {
  return [...segments.map((s) => stringOption(CoapOption.UriPath, s)), ...query.map((q) => stringOption(CoapOption.UriQuery, q))];
}

function get(c: GenContext): Seed {
  const { rng } = c;
  const multicast = rng.chance(0.15);
  const m = message(rng, CoapCode.Get, [...uriOptions(path(rng), queries(rng)), ...extraOptions(rng)]);
  return seed("GET", multicast ? { ...m, type: CoapType.NonConfirmable } : m, multicast, rng);
}

/** A POST /c: signed by the NMS, by a stranger, expired, unsigned, or carrying a payload no encoder writes. */
function postC(c: GenContext): Seed {
  const { rng } = c;
  const multicast = rng.chance(0.2);
  const style = rng.weighted<"signed" | "wrong-key" | "expired" | "unsigned" | "pathological" | "der">([
    [5, "signed"], [1, "wrong-key"], [1, "expired"], [2, "unsigned"], [3, "pathological"], [3, "der"],
  ]);
  const groupMatch: TlvInput[] = multicast || rng.chance(0.1)
    ? [{ type: "GroupMatch", value: rng.chance(0.8) ? { ...GROUP } : { type: GROUP.type, id: rng.pick([0, 6, u32(rng)]) } }]
    : [];
  const now = c.nowS;
  const window = { notBefore: now - 60, notAfter: now + 3600 };
  let payload: Uint8Array;
  let kind = `POST ${style}`;
  switch (style) {
    case "signed": payload = c.signer.signPayload(encode([...groupMatch, ...benignTlvs(c)]), window); break;
    case "wrong-key": payload = c.wrongSigner.signPayload(encode([...groupMatch, ...dangerousTlvs(c)]), window); break;
    case "expired": payload = c.signer.signPayload(encode([...groupMatch, ...dangerousTlvs(c)]), rng.pick([{ notBefore: now - 7200, notAfter: now - 3600 }, { notBefore: now + 600, notAfter: now + 7200 }, { notBefore: now + 10, notAfter: now - 10 }])); break;
    case "unsigned": payload = encode([...groupMatch, ...dangerousTlvs(c)]); break;
    case "pathological": {
      const p = pathologicalPayload(c);
      kind += `: ${p.name}`;
      const body = concatBytes([encode(groupMatch), p.payload]);
      // Signed with the right key when it fits, so the damage also meets the post-signature passes.
      payload = body.length < 1000 && rng.chance(0.5) ? c.signer.signPayload(body, window) : body;
      break;
    }
    case "der": {
      // Benign content: one corruption (the high-s twin) leaves the signature valid.
      const corrupted = corruptSignedPayload(c.signer.signPayload(encode([...groupMatch, ...benignTlvs(c)]), window), rng)!;
      kind += `: ${corrupted.name}`;
      payload = corrupted.payload;
      break;
    }
  }
  const query = rng.chance(0.1) ? [`a=${rng.pick([0, 5])}`] : [];
  const m = message(rng, CoapCode.Post, [...uriOptions(rng.chance(0.95) ? ["c"] : path(rng), query), ...extraOptions(rng)], payload);
  return seed(kind, multicast ? { ...m, type: CoapType.NonConfirmable } : m, multicast, rng);
}

/** An answer to the device's last request (its registration), right or wrong. */
function answer(c: GenContext): Seed {
  const { rng } = c;
  const req = c.lastDeviceRequest;
  const mid = req && rng.chance(0.8) ? req.mid : rng.int(0x10000);
  const tok = req && rng.chance(0.8) ? req.token : token(rng);
  const now = c.nowS;
  const body = encode([{ type: "SessionID", value: { id: rng.pick(["fuzz-session", "other"]) } }, ...(rng.chance(0.3) ? [{ type: "GroupAssign", value: { ...GROUP } }] : [])]);
  const payload = rng.pick([
    () => c.signer.signPayload(body, { notBefore: now - 60, notAfter: now + 3600 }),
    () => body,
    () => c.wrongSigner.signPayload(body, { notBefore: now - 60, notAfter: now + 3600 }),
    () => EMPTY,
    () => pathologicalPayload(c).payload,
  ])();
  const shape = rng.int(5);
  const m: CoapMessage = shape === 0 ? { type: CoapType.Acknowledgement, code: CoapCode.Empty, mid, token: EMPTY, options: [], payload: EMPTY }
    : shape === 1 ? { type: CoapType.Reset, code: CoapCode.Empty, mid, token: EMPTY, options: [], payload: EMPTY }
    : { type: shape === 2 ? CoapType.Confirmable : shape === 3 ? CoapType.NonConfirmable : CoapType.Acknowledgement, code: rng.pick([CoapCode.Valid, CoapCode.Valid, CoapCode.Changed, CoapCode.Forbidden, CoapCode.NotFound, CoapCode.InternalServerError]), mid: shape === 4 ? mid : rng.int(0x10000), token: tok, options: [], payload };
  return { kind: "answer to the device", to: "unicast", from: "nms", fromNmsPort: true, bytes: encodeCoap(m) };
}

/** Headers and options no encoder writes (so they are built as bytes). */
function rawHeader(c: GenContext): Seed {
  const { rng } = c;
  const type = rng.int(4);
  const mid = [rng.int(256), rng.int(256)];
  const head = (tkl: number, code: number, version = 1) => Uint8Array.of((version << 6) | (type << 4) | tkl, code, ...mid);
  const get = CoapCode.Get;
  const c1 = Uint8Array.of(0xb1, 0x63); // Uri-Path "c"
  const shapes: [string, () => Uint8Array][] = [
    ["short datagram", () => rng.bytes(rng.int(4))],
    ["version 0/2/3", () => concatBytes([head(0, get, rng.pick([0, 2, 3])), c1])],
    ["token length 9..15", () => concatBytes([head(rng.range(9, 15), get), rng.bytes(rng.int(16))])],
    ["reserved code class", () => concatBytes([head(0, rng.pick([0x20, 0x3f, 0xc0, 0xdf, 0xe0, 0xff])), c1])],
    ["empty with a token or payload", () => concatBytes([head(rng.int(3), 0), rng.bytes(rng.range(1, 4))])],
    ["option delta overflow", () => concatBytes([head(0, get), c1, new Uint8Array(rng.range(1, 300) * 2).map((_, i) => (i & 1 ? 0xff : 0xd0))])],
    ["option delta past 65535", () => concatBytes([head(0, get), Uint8Array.of(0xe0, 0xff, 0xff, 0xe0, 0xff, 0xff)])],
    ["reserved nibble 15", () => concatBytes([head(0, get), c1, Uint8Array.of(rng.pick([0xf0, 0x0f, 0xff, 0xf1, 0x1f]))])],
    ["option length past the end", () => concatBytes([head(0, get), Uint8Array.of(0xbe, 0xff, 0xff), utf8("c")])],
    ["payload marker without payload", () => concatBytes([head(0, get), c1, Uint8Array.of(0xff)])],
    ["hundreds of Uri-Query options", () => concatBytes([head(0, get), c1, Uint8Array.of(0x45, ...utf8("q=1+2")), new Uint8Array(rng.range(50, 200) * 6).map((_, i) => [0x05, ...utf8("q=1+2")][i % 6])])],
    ["Uri-Query over 255 bytes", () => concatBytes([head(0, get), c1, Uint8Array.of(0x4d, 0xff), utf8(`q=${"1+".repeat(135)}`).subarray(0, 268)])],
    ["Uri-Path of 255 bytes", () => concatBytes([head(0, get), Uint8Array.of(0xbd, 0xf2), new Uint8Array(255).fill(0x63)])],
  ];
  const [name, make] = rng.pick(shapes);
  return { kind: `raw header: ${name}`, to: rng.chance(0.15) ? "multicast" : "unicast", from: "nms", fromNmsPort: false, bytes: make().subarray(0, MAX_INPUT) };
}

function emptyMessage(c: GenContext): Seed {
  const { rng } = c;
  const m: CoapMessage = { type: rng.int(4) as CoapType, code: CoapCode.Empty, mid: rng.int(0x10000), token: EMPTY, options: [], payload: EMPTY };
  return seed("empty message", m, rng.chance(0.1), rng);
}

function captured(c: GenContext): Seed {
  const { rng } = c;
  return { kind: "FND capture", to: rng.chance(0.15) ? "multicast" : "unicast", from: "nms", fromNmsPort: rng.chance(0.5), bytes: rng.pick(c.captured) };
}

function seed(kind: string, m: CoapMessage, multicast: boolean, rng: Rng): Seed {
  return { kind, to: multicast ? "multicast" : "unicast", from: rng.chance(0.9) ? "nms" : "other", fromNmsPort: false, bytes: encodeCoap(m).subarray(0, MAX_INPUT) };
}

/** One seed input, by weight. */
export function generateSeed(c: GenContext): Seed {
  const makers: [number, (c: GenContext) => Seed][] = [
    [4, get], [7, postC], [2, answer], [3, rawHeader], [1, emptyMessage],
  ];
  if (c.captured.length) makers.push([2, captured]);
  return c.rng.weighted(makers)(c);
}
