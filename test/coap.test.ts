// The CoAP codec (assembly/coap/) against RFC 7252 §3: hand-written wire
// bytes for every encoding edge and malformation, a small reference parser
// written here from the RFC for differential checks on truncated and random
// datagrams, and build -> parse round trips.
import { describe, it, expect, beforeAll } from "vitest";
import { loadTestModule, type TestModule } from "./support/wasm";
import { mulberry32 } from "./support/prng";

let m: TestModule;
let x: Record<string, any>;
let IN = 0, OUT = 0, CAP = 0;
let OK = 0, IGNORE = 0, FORMAT = 0, BAD = 0;

beforeAll(() => {
  m = loadTestModule();
  x = m.exports;
  IN = x.coapTestIn(); OUT = x.coapTestOut(); CAP = x.coapTestCap();
  OK = x.COAP_OK.value; IGNORE = x.COAP_IGNORE.value;
  FORMAT = x.COAP_FORMAT_ERROR.value; BAD = x.COAP_BAD_OPTION.value;
});

/** "44 01 12 34" -> bytes; extra byte arrays are appended. */
function h(hex: string, ...more: Uint8Array[]): Uint8Array {
  const head = hex.trim() ? hex.trim().split(/\s+/).map((b) => parseInt(b, 16)) : [];
  const out = new Uint8Array(head.length + more.reduce((n, a) => n + a.length, 0));
  out.set(head);
  let at = head.length;
  for (const a of more) { out.set(a, at); at += a.length; }
  return out;
}
const ascii = (s: string) => new TextEncoder().encode(s);
const fill = (n: number, v = 0x61) => new Uint8Array(n).fill(v);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Parses bytes placed at the input scratch; the rest of the scratch holds `pad`. */
function parse(bytes: Uint8Array, pad = 0): number {
  expect(bytes.length).toBeLessThanOrEqual(CAP);
  m.write(IN, fill(CAP, pad));
  m.write(IN, bytes);
  return x.coapParse(IN, bytes.length);
}

interface Snapshot {
  rc: number; version: number; type: number; code: number; mid: number;
  token: number[]; options: [number, number]; payload: [number, number]; bad: number;
}
/** Everything coapParse recorded, pointers relative to the input. */
function snapshot(rc: number): Snapshot {
  return {
    rc, version: x.coapTestVersion(), type: x.coapTestType(), code: x.coapTestCode(), mid: x.coapTestMid(),
    token: [...m.read(x.coapTestTokenPtr(), x.coapTestTokenLen())],
    options: [x.coapTestOptionsPtr() - IN, x.coapTestOptionsEnd() - IN],
    payload: [x.coapTestPayloadPtr() - IN, x.coapTestPayloadLen()],
    bad: x.coapTestBadOption(),
  };
}

/** Every value of option `num` in order, as the iteration API yields them. */
function values(num: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let more = x.coapOptionFirst(num); more; more = x.coapOptionNext()) {
    expect(x.coapTestOptNum()).toBe(num);
    out.push(m.read(x.coapTestOptPtr(), x.coapTestOptLen()));
    expect(out.length).toBeLessThan(2000);
  }
  return out;
}
const payload = () => m.read(x.coapTestPayloadPtr(), x.coapTestPayloadLen());
const uintOpt = (num: number) => Number(x.coapOptionUint(num));

// ---- a reference parser, straight from RFC 7252 §3, §3.1, §4.1, §5.4, §12.1 ----

const UNDERSTOOD: Record<number, [number, number]> = { 3: [1, 255], 7: [0, 2], 11: [0, 255], 15: [0, 255], 17: [0, 2], 23: [0, 3], 27: [0, 3] };
interface RefOption { num: number; at: number; len: number }
interface Ref { rc: number; type?: number; code?: number; mid?: number; tkl?: number; opts?: RefOption[]; optEnd?: number; payload?: [number, number]; bad?: number }

function refParse(b: Uint8Array): Ref {
  const n = b.length;
  if (n < 4 || b[0] >> 6 !== 1) return { rc: IGNORE };
  const head = { type: (b[0] >> 4) & 3, code: b[1], mid: (b[2] << 8) | b[3] };
  const tkl = b[0] & 15;
  const cls = b[1] >> 5;
  if (tkl > 8 || 4 + tkl > n || cls === 1 || cls >= 6 || (b[1] === 0 && n !== 4)) return { rc: FORMAT, ...head };
  let i = 4 + tkl, num = 0, bad = 0;
  const opts: RefOption[] = [];
  const ext = (v: number): number => {
    if (v < 13) return v;
    if (v === 13) return i < n ? b[i++] + 13 : -1;
    if (v === 14) { if (i + 2 > n) return -1; const r = b[i] * 256 + b[i + 1] + 269; i += 2; return r; }
    return -1;
  };
  while (i < n && b[i] !== 0xff) {
    const byte = b[i++];
    const d = ext(byte >> 4); if (d < 0) return { rc: FORMAT, ...head };
    const l = ext(byte & 15); if (l < 0 || i + l > n) return { rc: FORMAT, ...head };
    num += d; if (num > 65535) return { rc: FORMAT, ...head };
    opts.push({ num, at: i, len: l });
    const u = UNDERSTOOD[num];
    if (num % 2 === 1 && !bad && !(u && l >= u[0] && l <= u[1])) bad = num;
    i += l;
  }
  if (i < n && i + 1 === n) return { rc: FORMAT, ...head };
  return { rc: bad ? BAD : OK, ...head, tkl, opts, optEnd: i, payload: i < n ? [i + 1, n - i - 1] : [n, 0], bad };
}

/** Parses with two different paddings (a read past the end would show) and checks against refParse. */
function checkAgainstReference(bytes: Uint8Array): number {
  const a = snapshot(parse(bytes, 0x00));
  const b = snapshot(parse(bytes, 0xff));
  expect(b).toEqual(a);
  const r = refParse(bytes);
  expect(a.rc).toBe(r.rc);
  if (r.rc === FORMAT) expect([a.type, a.code, a.mid]).toEqual([r.type, r.code, r.mid]);
  if (r.rc === OK || r.rc === BAD) {
    expect([a.type, a.code, a.mid, a.token.length, a.bad]).toEqual([r.type, r.code, r.mid, r.tkl, r.bad]);
    expect(a.options).toEqual([4 + r.tkl!, r.optEnd]);
    expect(a.payload).toEqual(r.payload);
    for (const num of new Set(r.opts!.map((o) => o.num))) {
      const want = r.opts!.filter((o) => o.num === num).map((o) => [...bytes.subarray(o.at, o.at + o.len)]);
      expect(values(num).map((v) => [...v])).toEqual(want);
    }
  }
  return a.rc;
}

// ---- a reference encoder, for generating inputs (RFC 7252 §3.1) ----

function encodeOptions(opts: [number, Uint8Array][]): Uint8Array {
  const out: number[] = [];
  let last = 0;
  const nib = (v: number) => (v < 13 ? v : v < 269 ? 13 : 14);
  const ext = (v: number) => (v < 13 ? [] : v < 269 ? [v - 13] : [(v - 269) >> 8, (v - 269) & 255]);
  for (const [num, val] of opts) {
    const d = num - last; last = num;
    out.push((nib(d) << 4) | nib(val.length), ...ext(d), ...ext(val.length), ...val);
  }
  return new Uint8Array(out);
}

// =============================================================================

describe("coapParse: header", () => {
  it("decodes a Cisco FND style GET /c?q=11 (CON, 4-byte token)", () => {
    // 0x44: version 1, CON, TKL 4; 0.01 GET; Uri-Path(11) "c" = B1 63; Uri-Query(15) "q=11" = 44 ...
    const req = h("44 01 12 34 de ad be ef b1 63 44 71 3d 31 31");
    expect(parse(req)).toBe(OK);
    expect(snapshot(OK)).toMatchObject({ version: 1, type: 0, code: 1, mid: 0x1234, token: [0xde, 0xad, 0xbe, 0xef], payload: [15, 0], bad: 0 });
    expect(x.coapIsRequest()).toBe(1);
    expect(x.coapIsResponse()).toBe(0);
    expect(x.coapIsEmpty()).toBe(0);
    expect(values(11).map(text)).toEqual(["c"]);
    expect(values(15).map(text)).toEqual(["q=11"]);
    expect(values(12)).toEqual([]);
    expect(x.coapTestPathBytes(OUT, writeOut("c"))).toBe(1);
  });

  it.each([
    [0, "CON"], [1, "NON"], [2, "ACK"], [3, "RST"],
  ])("decodes message type %i (%s)", (type) => {
    expect(parse(h(`${(0x40 | (type << 4)).toString(16)} 45 ab cd`))).toBe(OK);
    expect([x.coapTestType(), x.coapTestCode(), x.coapTestMid()]).toEqual([type, 0x45, 0xabcd]);
    expect(x.coapIsResponse()).toBe(1);
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8])("accepts token length %i", (tkl) => {
    const token = Uint8Array.from({ length: tkl }, (_, i) => 0xa0 + i);
    expect(parse(h(`${(0x50 | tkl).toString(16)} 02 00 07`, token, h("ff 01")))).toBe(OK);
    expect(snapshot(OK).token).toEqual([...token]);
    expect(x.coapTestOptionsPtr() - IN).toBe(4 + tkl);
    expect([...payload()]).toEqual([1]);
  });

  it.each([9, 10, 11, 12, 13, 14, 15])("rejects reserved token length %i (§3)", (tkl) => {
    expect(parse(h(`${(0x40 | tkl).toString(16)} 01 00 09`, fill(20)))).toBe(FORMAT);
    // The header is still known, so the caller can send an RST for this message ID.
    expect([x.coapTestType(), x.coapTestMid()]).toEqual([0, 9]);
  });

  it("rejects a token cut short", () => {
    expect(parse(h("48 01 00 01 01 02 03 04 05 06 07"))).toBe(FORMAT);
    expect(parse(h("41 01 00 01"))).toBe(FORMAT);
  });

  it.each([0, 1, 2, 3])("ignores a datagram of %i bytes (no header)", (n) => {
    expect(parse(h("40 01 00 01").subarray(0, n))).toBe(IGNORE);
  });

  it.each([0x00, 0x80, 0xc0, 0x10, 0xb0])("ignores version bits in first byte %i (§3)", (b0) => {
    expect(parse(h(`${b0.toString(16)} 01 00 01`))).toBe(IGNORE);
  });

  it.each([0x20, 0x25, 0x3f, 0xc0, 0xc5, 0xe0, 0xff])("rejects code 0x%s of a reserved class (§12.1)", (code) => {
    expect(parse(h(`40 ${code.toString(16)} 00 01`))).toBe(FORMAT);
  });

  it("accepts the request, success, error and class-3 codes", () => {
    for (const code of [0x01, 0x04, 0x1f, 0x41, 0x45, 0x5f, 0x60, 0x84, 0xa0, 0xbf]) {
      expect(parse(h(`60 ${code.toString(16)} 00 01`))).toBe(OK);
    }
  });

  it("accepts an Empty message: ping, empty ACK, RST (§4.1)", () => {
    for (const b0 of ["40", "60", "70"]) {
      expect(parse(h(`${b0} 00 77 88`))).toBe(OK);
      expect([x.coapIsEmpty(), x.coapIsRequest(), x.coapIsResponse(), x.coapTestMid()]).toEqual([1, 0, 0, 0x7788]);
    }
  });

  it.each([
    ["a token", "41 00 00 01 aa"],
    ["an option", "40 00 00 01 40"],
    ["a payload", "70 00 00 01 ff 01"],
    ["a bare payload marker", "60 00 00 01 ff"],
  ])("rejects an Empty message with %s (§4.1)", (_what, hex) => {
    expect(parse(h(hex))).toBe(FORMAT);
  });
});

describe("coapParse: options (§3.1)", () => {
  // Each case: the encoded options after a 4-byte header, and the option
  // (number, value length) it must decode to.
  it.each([
    ["delta 12", "c0", 12, 0],
    ["delta 13 (first 1-byte extension)", "d0 00", 13, 0],
    ["delta 14", "d0 01", 14, 0],
    ["delta 268 (last 1-byte extension)", "d0 ff", 268, 0],
    ["delta 269 (first 2-byte extension)", "e0 00 00", 269, 0],
    ["delta 270", "e0 00 01", 270, 0],
    ["delta 524 (269 + 255)", "e0 00 ff", 524, 0],
    ["delta 525 (high byte used)", "e0 01 00", 525, 0],
    ["delta 65535 (largest number)", "e0 fe f2", 65535, 0],
  ])("decodes %s", (_what, hex, num, len) => {
    const rc = parse(h(`50 01 00 01 ${hex}`));
    expect(rc).toBe(num % 2 && !UNDERSTOOD[num] ? BAD : OK);
    expect(values(num).map((v) => v.length)).toEqual([len]);
  });

  it.each([
    [12, "4c"], [13, "4d 00"], [14, "4d 01"], [268, "4d ff"], [269, "4e 00 00"], [270, "4e 00 01"], [600, "4e 01 4b"],
  ])("decodes value length %i", (len, hex) => {
    const value = Uint8Array.from({ length: len }, (_, i) => i * 7);
    expect(parse(h(`50 01 00 01 ${hex}`, value, h("ff 55")))).toBe(OK); // ETag (4), elective
    expect(values(4)).toEqual([value]);
    expect([...payload()]).toEqual([0x55]);
  });

  it.each([
    ["delta 13, length 13", "dd 00 00", 13, 13],
    ["delta 13, length 269", "de 01 00 00", 14, 269],
    ["delta 269, length 13", "ed 00 01 00", 270, 13],
    ["delta 269, length 269", "ee 00 01 00 00", 270, 269],
    ["delta 268, length 268", "dd ff ff", 268, 268],
  ])("decodes both extended: %s (delta bytes come first)", (_what, hex, num, len) => {
    const value = fill(len, 0x33);
    const rc = parse(h(`50 01 00 01 ${hex}`, value));
    expect(rc).toBe(num % 2 ? BAD : OK);
    expect(values(num)).toEqual([value]);
    expect(x.coapTestOptionsEnd() - IN).toBe(4 + hex.split(" ").length + len);
  });

  it("accumulates deltas up to 65535 and rejects the number after it", () => {
    // ETag(4), then +65531 = 65535 (delta 65531 = 269 + 0xfeee).
    expect(parse(h("50 01 00 01 40 e0 fe ee"))).toBe(BAD);
    expect(x.coapTestBadOption()).toBe(65535);
    expect(values(65535).length).toBe(1);
    expect(parse(h("50 01 00 01 40 e0 fe ee 00"))).toBe(BAD); // delta 0 repeats 65535
    expect(parse(h("50 01 00 01 40 e0 fe ee 10"))).toBe(FORMAT); // 65536
    expect(parse(h("50 01 00 01 e0 fe f3"))).toBe(FORMAT); // 65536 in one step
    expect(parse(h("50 01 00 01 e0 ff ff"))).toBe(FORMAT); // 65804
    expect(parse(h("50 01 00 01 40 e0 ff ff"))).toBe(FORMAT);
  });

  it.each([
    ["delta nibble 15", "f0"],
    ["delta nibble 15 with a length", "f3 01 02 03"],
    ["length nibble 15", "4f"],
    ["length nibble 15 after delta 0", "0f 00"],
    ["1-byte delta extension missing", "d0"],
    ["2-byte delta extension missing", "e0"],
    ["2-byte delta extension half there", "e0 00"],
    ["1-byte length extension missing", "4d"],
    ["2-byte length extension missing", "4e"],
    ["2-byte length extension half there", "4e 00"],
    ["length extension after a delta extension missing", "dd 00"],
    ["value running past the end", "43 01 02"],
    ["extended value running past the end", "4d 00 01 02 03"],
    ["2-byte extended value running past the end", "4e 00 00 01"],
    ["a bad option after a good one", "b1 63 f1 00"],
    ["a payload marker with no payload", "b1 63 ff"],
    ["only a payload marker", "ff"],
  ])("rejects %s", (_what, hex) => {
    expect(parse(h(`44 01 00 05 01 02 03 04 ${hex}`))).toBe(FORMAT);
    expect([x.coapTestType(), x.coapTestMid()]).toEqual([0, 5]);
    // No options survive a format error.
    expect(x.coapOptionFirst(11)).toBe(0);
  });

  it("visits repeated Uri-Path and Uri-Query options in order", () => {
    const opts = encodeOptions([
      [11, ascii("r")], [11, ascii("123")], [11, ascii("")], [11, fill(20, 0x7a)],
      [12, h("3c")], [15, ascii("a=1")], [15, ascii("b")], [15, ascii("c=xyz")], [60, h("01 00")],
    ]);
    expect(parse(h("42 02 00 10 aa bb", opts, h("ff"), ascii("body")))).toBe(OK);
    expect(values(11).map(text)).toEqual(["r", "123", "", "z".repeat(20)]);
    expect(values(15).map(text)).toEqual(["a=1", "b", "c=xyz"]);
    expect(uintOpt(12)).toBe(60);
    expect(uintOpt(60)).toBe(256);
    expect(uintOpt(14)).toBe(-1);
    expect(text(payload())).toBe("body");
    // Iteration restarts cleanly and interleaves with other lookups.
    expect(x.coapOptionFirst(11)).toBe(1);
    expect(x.coapOptionNext()).toBe(1);
    expect(text(m.read(x.coapTestOptPtr(), x.coapTestOptLen()))).toBe("123");
    expect(x.coapOptionFirst(15)).toBe(1);
    expect(text(m.read(x.coapTestOptPtr(), x.coapTestOptLen()))).toBe("a=1");
    expect(x.coapOptionFirst(13)).toBe(0);
    expect(x.coapOptionFirst(61)).toBe(0);
  });

  it("reads uint options (§3.2)", () => {
    const opts = encodeOptions([
      [4, h("")], [6, h("00 00 3c")], [12, h("ff ff ff ff")], [14, h("01 02 03 04 05")], [28, h("07")],
    ]);
    expect(parse(h("40 01 00 01", opts))).toBe(OK);
    expect(uintOpt(4)).toBe(0);
    expect(uintOpt(6)).toBe(60);
    expect(uintOpt(12)).toBe(0xffffffff);
    expect(uintOpt(28)).toBe(7);
    expect(x.coapTestOptionMalformed()).toBe(0);
    expect(uintOpt(14)).toBe(-1); // 5 bytes: more than the agent deals in
    expect(x.coapTestOptionMalformed()).toBe(1);
    expect(uintOpt(8)).toBe(-1);
    parse(h("40 01 00 01"));
    expect(x.coapTestOptionMalformed()).toBe(0);
  });
});

describe("coapParse: critical and elective options (§5.4.1)", () => {
  it.each([
    [1, "If-Match", 0], [5, "If-None-Match", 0], [9, "unassigned", 1], [13, "unassigned", 0],
    [35, "Proxy-Uri", 10], [39, "Proxy-Scheme", 4], [65001, "unassigned", 0],
  ])("reports unrecognized critical option %i (%s)", (num, _name, len) => {
    expect(parse(h("44 01 00 01 01 02 03 04", encodeOptions([[num, fill(len)]]), h("ff 01")))).toBe(BAD);
    expect(x.coapTestBadOption()).toBe(num);
    // The rest of the message is there for the 4.02 response.
    expect(snapshot(BAD).token).toEqual([1, 2, 3, 4]);
    expect([...payload()]).toEqual([1]);
  });

  it.each([
    [3, 1], [3, 255], [7, 0], [7, 2], [11, 0], [11, 255], [15, 255], [17, 2], [23, 3], [27, 0], [27, 3],
  ])("understands critical option %i with a %i-byte value", (num, len) => {
    expect(parse(h("40 01 00 01", encodeOptions([[num, fill(len)]])))).toBe(OK);
    expect(values(num)).toEqual([fill(len)]);
  });

  it.each([
    [3, 0], [3, 256], [7, 3], [17, 3], [23, 4], [27, 5], [11, 256], [15, 300],
  ])("treats critical option %i with an out-of-range %i-byte value as unrecognized (§5.4.3)", (num, len) => {
    expect(parse(h("40 01 00 01", encodeOptions([[num, fill(len)]])))).toBe(BAD);
    expect(x.coapTestBadOption()).toBe(num);
  });

  it("skips unknown elective options silently", () => {
    const opts = encodeOptions([[2, fill(3)], [4, h("")], [11, ascii("c")], [258, fill(1)], [2000, fill(40)], [65534, h("")]]);
    expect(parse(h("40 01 00 01", opts))).toBe(OK);
    expect(values(11).map(text)).toEqual(["c"]);
    expect(values(2000)).toEqual([fill(40)]);
  });

  it("records the first unrecognized critical option, and a later format error wins", () => {
    expect(parse(h("40 01 00 01", encodeOptions([[9, h("")], [11, ascii("x")], [13, h("")]])))).toBe(BAD);
    expect(x.coapTestBadOption()).toBe(9);
    expect(parse(h("40 01 00 01", encodeOptions([[9, h("")]]), h("f0")))).toBe(FORMAT);
  });

  it("applies to responses too (rejected, §5.4.1)", () => {
    expect(parse(h("60 45 00 01", encodeOptions([[1, fill(2)]])))).toBe(BAD);
  });
});

describe("coapParse: payload marker (§3)", () => {
  it("keeps a one-byte and a long payload, with and without options", () => {
    expect(parse(h("50 02 00 01 ff 00"))).toBe(OK);
    expect([...payload()]).toEqual([0]);
    expect(x.coapTestOptionsEnd() - IN).toBe(4);
    const body = Uint8Array.from({ length: 700 }, (_, i) => i & 255);
    expect(parse(h("52 02 00 01 aa bb b1 63 ff", body))).toBe(OK);
    expect(payload()).toEqual(body);
    expect(x.coapTestOptionsEnd() - IN).toBe(8);
  });

  it("takes 0xff bytes inside the payload and inside values literally", () => {
    expect(parse(h("50 02 00 01 42 ff ff ff ff ff"))).toBe(OK);
    expect(values(4)).toEqual([h("ff ff")]);
    expect([...payload()]).toEqual([0xff, 0xff]);
  });

  it("reports no payload (and no marker) when the message ends after the options", () => {
    expect(parse(h("50 02 00 01 b1 63"))).toBe(OK);
    expect([x.coapTestPayloadLen(), x.coapTestPayloadPtr() - IN, x.coapTestOptionsEnd() - IN]).toEqual([0, 6, 6]);
  });

  it("rejects a marker followed by nothing", () => {
    expect(parse(h("50 02 00 01 ff"))).toBe(FORMAT);
    expect(parse(h("52 02 00 01 aa bb b1 63 ff"))).toBe(FORMAT);
  });
});

describe("coapParse: hostile input", () => {
  const sample = () => h("48 02 be ef 01 02 03 04 05 06 07 08", encodeOptions([
    [3, ascii("nms")], [11, ascii("r")], [11, ascii("123")], [12, h("3c")], [15, ascii("q=11")],
    [300, fill(20)], [1000, fill(300)],
  ]), h("ff"), ascii("0123456789"));

  it("checks a valid message truncated at every byte against the reference", () => {
    const msg = sample();
    expect(checkAgainstReference(msg)).toBe(OK);
    const seen = new Set<number>();
    for (let n = 0; n < msg.length; n++) seen.add(checkAgainstReference(msg.subarray(0, n)));
    expect([...seen].sort()).toEqual([OK, IGNORE, FORMAT].sort());
  });

  it("survives thousands of random datagrams, agreeing with the reference", () => {
    const rnd = mulberry32(0xc0a9);
    const byte = () => (rnd() * 256) | 0;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const len = (rnd() * (i % 10 === 0 ? 400 : 40)) | 0;
      const b = Uint8Array.from({ length: len }, byte);
      // Mostly well-formed headers, so the option decoder sees most of the traffic.
      if (len > 0 && rnd() < 0.8) b[0] = 0x40 | (b[0] & 0x30) | ((rnd() * 9) | 0);
      if (len > 1 && rnd() < 0.7) b[1] = rnd() < 0.5 ? 1 + ((rnd() * 4) | 0) : 0x45;
      // Small option headers chain further than random ones.
      for (let k = 4; k < len; k++) if (rnd() < 0.3) b[k] = byte() & 0x73;
      counts[checkAgainstReference(b)]++;
    }
    expect(counts.every((c) => c > 50)).toBe(true);
  });

  it("survives mutations of a valid message", () => {
    const rnd = mulberry32(7252);
    const msg = sample();
    for (let i = 0; i < 3000; i++) {
      const b = msg.slice(0, (rnd() * (msg.length + 1)) | 0);
      for (let k = 0; k < 1 + rnd() * 3; k++) b[(rnd() * b.length) | 0] = (rnd() * 256) | 0;
      checkAgainstReference(b);
    }
  });

  it("never finds options when there is no message", () => {
    expect(parse(h("40"))).toBe(IGNORE);
    expect(x.coapOptionFirst(0)).toBe(0);
    expect(uintOpt(11)).toBe(-1);
    expect(x.coapTestPathBytes(OUT, 0)).toBe(1); // no Uri-Path at all
  });
});

/** Writes an ASCII literal to the output scratch for coapTestPathBytes. */
function writeOut(s: string): number {
  m.write(OUT, ascii(s));
  return s.length;
}

describe("coapPathIs", () => {
  const path = (s: string) => x.coapTestPathBytes(OUT, writeOut(s));
  const request = (...segments: string[]) =>
    expect(parse(h("40 01 00 01", encodeOptions([[4, h("")], ...segments.map((s) => [11, ascii(s)] as [number, Uint8Array]), [15, ascii("c")]])))).toBe(OK);

  it("matches a one-segment path", () => {
    request("c");
    expect([path("c"), path("/c")]).toEqual([1, 1]);
    expect([path(""), path("/"), path("cc"), path("C"), path("d"), path("c/d"), path("c/"), path("/c/")]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("matches several segments", () => {
    request("r", "123");
    expect([path("r/123"), path("/r/123")]).toEqual([1, 1]);
    expect([path("r"), path("r/12"), path("r/1234"), path("r/123/"), path("r/123/x"), path("r123"), path("123")]).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it("matches the root only without Uri-Path", () => {
    request();
    expect([path(""), path("/"), path("c"), path("/c")]).toEqual([1, 1, 0, 0]);
  });

  it("keeps empty segments significant (§6.4)", () => {
    request("c", "");
    expect([path("c/"), path("c"), path("c//")]).toEqual([1, 0, 0]);
    // A lone empty segment is no path any URI decomposes into (§6.4 step 8).
    request("");
    expect([path(""), path("/"), path("//"), path("c")]).toEqual([0, 0, 0, 0]);
  });

  it("works on the string literals agent code passes", () => {
    const literal = (i: number) => x.coapTestPathLiteral(i); // "", "c", "/c", "r/123", "/"
    request("c");
    expect([0, 1, 2, 3, 4].map(literal)).toEqual([0, 1, 1, 0, 0]);
    request("r", "123");
    expect([0, 1, 2, 3, 4].map(literal)).toEqual([0, 0, 0, 1, 0]);
    request();
    expect([0, 1, 2, 3, 4].map(literal)).toEqual([1, 0, 0, 0, 1]);
  });
});

// ---- builder ---------------------------------------------------------------

const SENTINEL = 0xee;
/** Runs build(out, cap) over a sentinel-filled output; returns the message and checks nothing past cap changed. */
function build(cap: number, steps: (out: number, cap: number) => number): Uint8Array | null {
  m.write(OUT, fill(CAP, SENTINEL));
  const n = steps(OUT, cap);
  const after = m.read(OUT + cap, CAP - cap);
  expect(after.every((b) => b === SENTINEL)).toBe(true);
  if (n < 0) return null;
  expect(n).toBeLessThanOrEqual(cap);
  return m.read(OUT, n);
}
/** Puts token bytes in the input scratch (the builder copies them). */
function token(bytes: Uint8Array): number {
  m.write(IN, bytes);
  return IN;
}
/** Puts an option value after the token area of the input scratch. */
let valueAt = 0;
function value(bytes: Uint8Array): number {
  const p = IN + 16 + valueAt;
  m.write(p, bytes);
  valueAt = (valueAt + bytes.length) % 400;
  return p;
}
const addOpt = (num: number, bytes: Uint8Array) => x.coapAddOption(num, value(bytes), bytes.length);
const hexOf = (b: Uint8Array | null) => (b ? [...b].map((v) => v.toString(16).padStart(2, "0")).join(" ") : null);

describe("coapBegin / coapFinish", () => {
  it("writes an empty ACK and an RST for a message ID (§4.2, §4.1)", () => {
    expect(hexOf(build(CAP, (o, c) => x.coapEmpty(o, c, 2, 0x1234)))).toBe("60 00 12 34");
    expect(hexOf(build(CAP, (o, c) => x.coapEmpty(o, c, 3, 0xbeef)))).toBe("70 00 be ef");
    expect(hexOf(build(4, (o, c) => x.coapEmpty(o, c, 0, 0)))).toBe("40 00 00 00");
    expect(build(3, (o, c) => x.coapEmpty(o, c, 3, 1))).toBeNull();
  });

  it("writes a piggybacked 2.05 with token, Content-Format and payload", () => {
    const msg = build(CAP, (o, c) => {
      expect(x.coapBegin(o, c, 2, 0x45, 0x1234, token(h("aa bb")), 2)).toBe(1);
      expect(x.coapTestAddOptionUint(12, 60)).toBe(1);
      const p = x.coapPayloadStart();
      m.write(p, ascii("hi"));
      return x.coapFinish(2);
    });
    expect(hexOf(msg)).toBe("62 45 12 34 aa bb c1 3c ff 68 69");
  });

  it("writes a CON POST with Uri-Path and Uri-Query and no payload marker", () => {
    const msg = build(CAP, (o, c) => {
      x.coapBegin(o, c, 0, 2, 1, 0, 0);
      addOpt(11, ascii("r"));
      addOpt(15, ascii("a=1"));
      x.coapPayloadStart();
      return x.coapFinish(0);
    });
    expect(hexOf(msg)).toBe("40 02 00 01 b1 72 43 61 3d 31");
  });

  it("writes the FND-style GET /c?q=11 that the parser reads back", () => {
    const msg = build(CAP, (o, c) => {
      x.coapBegin(o, c, 0, 1, 0x1234, token(h("de ad be ef")), 4);
      addOpt(11, ascii("c"));
      addOpt(15, ascii("q=11"));
      return x.coapFinish(0);
    });
    expect(hexOf(msg)).toBe("44 01 12 34 de ad be ef b1 63 44 71 3d 31 31");
  });

  it.each([0, 1, 5, 8])("copies a %i-byte token", (n) => {
    const tok = Uint8Array.from({ length: n }, (_, i) => 0xf0 + i);
    const msg = build(CAP, (o, c) => (x.coapBegin(o, c, 1, 0x44, 0xffff, token(tok), n) ? x.coapFinish(0) : -1));
    expect(msg).toEqual(h(`${(0x50 | n).toString(16)} 44 ff ff`, tok));
  });

  it("refuses a token longer than 8 bytes or a header that does not fit", () => {
    expect(build(CAP, (o, c) => (x.coapBegin(o, c, 0, 1, 1, token(fill(9)), 9) ? 0 : x.coapFinish(0)))).toBeNull();
    expect(build(CAP, (o, c) => (x.coapBegin(o, c, 0, 1, 1, 0, -1) ? 0 : x.coapFinish(0)))).toBeNull();
    expect(build(7, (o, c) => (x.coapBegin(o, c, 0, 1, 1, token(fill(4)), 4) ? 0 : x.coapFinish(0)))).toBeNull();
    expect(build(8, (o, c) => (x.coapBegin(o, c, 0, 1, 1, token(fill(4)), 4) ? x.coapFinish(0) : -1))?.length).toBe(8);
  });
});

describe("coapAddOption", () => {
  const oneOption = (num: number, len: number) => build(CAP, (o, c) => {
    x.coapBegin(o, c, 0, 1, 0, 0, 0);
    expect(addOpt(num, fill(len, 0x5a))).toBe(1);
    return x.coapFinish(0);
  });

  it.each([
    [12, "c0"], [13, "d0 00"], [14, "d0 01"], [268, "d0 ff"], [269, "e0 00 00"], [270, "e0 00 01"],
    [525, "e0 01 00"], [65535, "e0 fe f2"],
  ])("encodes option number %i as %s", (num, hex) => {
    expect(hexOf(oneOption(num, 0))).toBe(`40 01 00 00 ${hex}`);
  });

  it.each([
    [12, "4c"], [13, "4d 00"], [14, "4d 01"], [268, "4d ff"], [269, "4e 00 00"], [270, "4e 00 01"], [600, "4e 01 4b"],
  ])("encodes a %i-byte value with header %s", (len, hex) => {
    expect(oneOption(4, len)).toEqual(h(`40 01 00 00 ${hex}`, fill(len, 0x5a)));
  });

  it("encodes delta and length extensions together, delta bytes first", () => {
    expect(oneOption(13, 13)).toEqual(h("40 01 00 00 dd 00 00", fill(13, 0x5a)));
    expect(oneOption(300, 269)).toEqual(h("40 01 00 00 ee 00 1f 00 00", fill(269, 0x5a)));
    expect(oneOption(14, 300)).toEqual(h("40 01 00 00 de 01 00 1f", fill(300, 0x5a)));
  });

  it("encodes deltas between options, repeats with delta 0", () => {
    const msg = build(CAP, (o, c) => {
      x.coapBegin(o, c, 0, 1, 0, 0, 0);
      addOpt(11, ascii("a")); addOpt(11, ascii("b")); addOpt(11, ascii(""));
      addOpt(15, ascii("x")); addOpt(28, h("")); addOpt(300, h("")); addOpt(65535, h(""));
      return x.coapFinish(0);
    });
    // 15->28: delta 13; 28->300: delta 272 = 269+3; 300->65535: 65235 = 269+0xfdc6
    expect(hexOf(msg)).toBe("40 01 00 00 b1 61 01 62 00 41 78 d0 00 e0 00 03 e0 fd c6");
  });

  it("rejects options out of order, past 65535, or after the payload started, and poisons the message", () => {
    const attempt = (bad: () => number) => build(CAP, (o, c) => {
      x.coapBegin(o, c, 0, 1, 0, 0, 0);
      addOpt(11, ascii("a"));
      expect(bad()).toBe(0);
      expect(addOpt(60, h(""))).toBe(0); // stays failed
      expect(x.coapPayloadRoom()).toBe(0);
      return x.coapFinish(0);
    });
    expect(attempt(() => addOpt(4, h("")))).toBeNull();
    expect(attempt(() => addOpt(65536, h("")))).toBeNull();
    expect(attempt(() => x.coapAddOption(12, IN, -1))).toBeNull();
    expect(attempt(() => { x.coapPayloadStart(); return addOpt(12, h("")); })).toBeNull();
  });

  it("writes nothing past cap: options that just fit and just do not", () => {
    const withOption = (cap: number, len: number) => build(cap, (o, c) => {
      x.coapBegin(o, c, 0, 1, 0, 0, 0);
      addOpt(4, fill(len));
      return x.coapFinish(0);
    });
    for (const len of [0, 5, 12, 13, 100, 268, 269, 300]) {
      const size = 4 + 1 + (len < 13 ? 0 : len < 269 ? 1 : 2) + len;
      expect(withOption(size, len)?.length).toBe(size);
      expect(withOption(size - 1, len)).toBeNull();
    }
  });
});

describe("coapAddOptionUint", () => {
  it.each([
    [0, ""], [1, "01"], [255, "ff"], [256, "01 00"], [65535, "ff ff"], [65536, "01 00 00"],
    [0xffffff, "ff ff ff"], [0x1000000, "01 00 00 00"], [0xffffffff, "ff ff ff ff"],
  ])("encodes %i in the fewest bytes (§3.2)", (v, hex) => {
    const msg = build(CAP, (o, c) => {
      x.coapBegin(o, c, 2, 0x45, 0, 0, 0);
      expect(x.coapTestAddOptionUint(12, v | 0)).toBe(1);
      return x.coapFinish(0);
    });
    const bytes = h(hex);
    expect(msg).toEqual(h(`60 45 00 00 ${(0xc0 | bytes.length).toString(16)}`, bytes));
    expect(parse(msg!)).toBe(OK);
    expect(uintOpt(12)).toBe(v);
  });
});

describe("payload", () => {
  it("reports the room after the marker and refuses a payload that does not fit", () => {
    const attempt = (cap: number, len: number) => build(cap, (o, c) => {
      x.coapBegin(o, c, 1, 2, 9, 0, 0);
      addOpt(11, ascii("c"));
      const p = x.coapPayloadStart();
      expect(p).toBe(o + 7);
      expect(x.coapPayloadRoom()).toBe(Math.max(0, cap - 7));
      if (len <= x.coapPayloadRoom()) m.write(p, fill(len, 0x42));
      return x.coapFinish(len);
    });
    expect(attempt(10, 3)).toEqual(h("50 02 00 09 b1 63 ff 42 42 42"));
    expect(attempt(9, 3)).toBeNull();
    expect(attempt(7, 0)).toEqual(h("50 02 00 09 b1 63")); // no room for a marker, none needed
    expect(attempt(6, 0)).toEqual(h("50 02 00 09 b1 63"));
    expect(attempt(6, 1)).toBeNull();
  });

  it("never writes a marker for an empty payload", () => {
    const msg = build(CAP, (o, c) => {
      x.coapBegin(o, c, 0, 3, 9, 0, 0);
      x.coapPayloadStart();
      return x.coapFinish(0);
    });
    expect(msg).toEqual(h("40 03 00 09"));
    expect(m.read(OUT + 4, 1)[0]).toBe(SENTINEL);
    expect(parse(msg!)).toBe(OK);
  });

  it("refuses a negative payload length", () => {
    expect(build(CAP, (o, c) => { x.coapBegin(o, c, 0, 3, 9, 0, 0); return x.coapFinish(-1); })).toBeNull();
  });
});

describe("round trips: parse(build(x))", () => {
  it("reproduces random messages field for field", () => {
    const rnd = mulberry32(2014);
    const int = (n: number) => (rnd() * n) | 0;
    const elective = [4, 6, 8, 12, 14, 20, 28, 60, 258, 1000, 65000];
    for (let i = 0; i < 500; i++) {
      const type = int(4);
      const code = [1, 2, 3, 4, 0x41, 0x44, 0x45, 0x84, 0xa0][int(9)];
      const mid = int(65536);
      const tok = Uint8Array.from({ length: int(9) }, () => int(256));
      const opts: [number, Uint8Array][] = [];
      for (let k = int(8); k > 0; k--) {
        const num = rnd() < 0.5 ? [11, 15, 11, 7, 17, 23][int(6)] : elective[int(elective.length)];
        const max = num === 7 || num === 17 ? 2 : num === 23 ? 3 : rnd() < 0.1 ? (num & 1 ? 255 : 300) : 20;
        opts.push([num, Uint8Array.from({ length: int(max + 1) }, () => int(256))]);
      }
      opts.sort((a, b) => a[0] - b[0]);
      const body = Uint8Array.from({ length: rnd() < 0.3 ? 0 : int(200) }, () => int(256));

      const msg = build(CAP, (o, c) => {
        expect(x.coapBegin(o, c, type, code, mid, token(tok), tok.length)).toBe(1);
        for (const [num, v] of opts) expect(addOpt(num, v)).toBe(1);
        m.write(x.coapPayloadStart(), body);
        return x.coapFinish(body.length);
      })!;
      // The reference encoder agrees byte for byte.
      expect(msg).toEqual(h(`${(0x40 | (type << 4) | tok.length).toString(16)} ${code.toString(16)} ${(mid >> 8).toString(16)} ${(mid & 255).toString(16)}`,
        tok, encodeOptions(opts), body.length ? h("ff") : h(""), body));

      expect(parse(msg)).toBe(OK);
      expect(snapshot(OK)).toMatchObject({ version: 1, type, code, mid, token: [...tok], bad: 0 });
      expect(payload()).toEqual(body);
      for (const num of new Set(opts.map((o) => o[0]))) {
        expect(values(num)).toEqual(opts.filter((o) => o[0] === num).map((o) => o[1]));
      }
    }
  });
});
