// The NMS-side CoAP codec (host/nms/coap.ts): RFC 7252 framing, option
// delta/length extensions, format errors, request builders, and byte-exact
// round trips of every datagram in the real FND / reference-agent captures.
import { describe, it, expect } from "vitest";
import { readUdpDatagrams } from "../host/pcap.ts";
import {
  CoapCode, CoapFormatError, CoapOption, CoapType, codeText, decodeCoap, decodeUint, emptyMessage, encodeCoap,
  encodeUint, get, parseCodeText, post, queryValue, splitUriPath, splitUriQuery, summarizeCoap, uriPath, uriQueries,
  type CoapMessage,
} from "../host/nms/coap.ts";
import { mulberry32 } from "./support/prng.ts";

const VECTORS = "/work/shared/vectors";
const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("codes", () => {
  it("prints and parses c.dd", () => {
    expect(codeText(CoapCode.Content)).toBe("2.05");
    expect(codeText(CoapCode.Valid)).toBe("2.03");
    expect(codeText(CoapCode.Get)).toBe("0.01");
    expect(codeText(CoapCode.Forbidden)).toBe("4.03");
    expect(codeText(0xff)).toBe("7.31");
    expect(parseCodeText("2.03")).toBe(67);
    expect(parseCodeText("5.00")).toBe(160);
    for (const bad of ["2.5", "8.00", "2.32", "205", ""]) expect(() => parseCodeText(bad)).toThrow();
  });
});

describe("encode / decode", () => {
  it("builds the GET FND sends (csmp_get.pcap frame 1 bytes)", () => {
    const m = get("/c", ["q=1"]);
    expect(toHex(encodeCoap(m))).toBe("40010000b16343713d31");
  });

  it("builds a GET with a token and a POST with payload", () => {
    expect(toHex(encodeCoap({ ...get("/c", ["q=11"], hex("03")), mid: 3 }))).toBe("4101000303b16344713d3131");
    const p = post("/c", hex("0701"), { confirmable: false, query: ["a=10"] });
    expect(p.type).toBe(CoapType.NonConfirmable);
    expect(toHex(encodeCoap({ ...p, mid: 0x1234 }))).toBe("50021234b16344613d3130ff0701");
    expect(post("/r", hex("00")).type).toBe(CoapType.Confirmable);
  });

  it("uses extended option deltas and lengths at their boundaries", () => {
    // Deltas 12/13/268/269 and lengths 12/13/268/269/1000 around the 4-bit and 8-bit extensions.
    const numbers = [12, 25, 293, 562, 65000];
    const lengths = [12, 13, 268, 269, 1000];
    const m: CoapMessage = {
      type: CoapType.Confirmable, code: CoapCode.Post, mid: 0xfffe, token: hex("0102030405060708"),
      options: numbers.map((n, i) => ({ number: n, value: new Uint8Array(lengths[i]).fill(i + 1) })),
      payload: hex("aabb"),
    };
    const bytes = encodeCoap(m);
    // First option: delta 12 inline, length 12 inline.
    expect(bytes[12]).toBe(0xcc);
    // Second: delta 13 -> nibble 13 + 0, length 13 -> nibble 13 + 0.
    expect(bytes.subarray(12 + 1 + 12, 12 + 1 + 12 + 3)).toEqual(hex("dd0000"));
    expect(decodeCoap(bytes)).toEqual(m);
  });

  it("round-trips random messages", () => {
    const rnd = mulberry32(7252);
    for (let i = 0; i < 300; i++) {
      const n = Math.floor(rnd() * 6);
      let number = 0;
      const options = [];
      for (let k = 0; k < n; k++) {
        number += [0, 1, 12, 13, 200, 268, 269, 600][Math.floor(rnd() * 8)];
        const len = [0, 1, 12, 13, 14, 268, 269, 300][Math.floor(rnd() * 8)];
        options.push({ number, value: Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256)) });
      }
      const m: CoapMessage = {
        type: Math.floor(rnd() * 4) as CoapType,
        code: 1 + Math.floor(rnd() * 254),
        mid: Math.floor(rnd() * 65536),
        token: Uint8Array.from({ length: Math.floor(rnd() * 9) }, () => Math.floor(rnd() * 256)),
        options,
        payload: Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)),
      };
      expect(decodeCoap(encodeCoap(m))).toEqual(m);
    }
  });

  it("sorts options by number and keeps repeated ones in order", () => {
    const m: CoapMessage = {
      type: CoapType.Confirmable, code: CoapCode.Get, mid: 1, token: new Uint8Array(0), payload: new Uint8Array(0),
      options: [
        { number: CoapOption.UriQuery, value: Buffer.from("q=1") },
        { number: CoapOption.UriPath, value: Buffer.from("c") },
        { number: CoapOption.UriPath, value: Buffer.from("13") },
      ],
    };
    const back = decodeCoap(encodeCoap(m));
    expect(back.options.map((o) => o.number)).toEqual([11, 11, 15]);
    expect(uriPath(back)).toBe("/c/13");
    expect(uriQueries(back)).toEqual(["q=1"]);
  });

  it("encodes and decodes Empty ACK / RST", () => {
    expect(toHex(encodeCoap(emptyMessage(CoapType.Acknowledgement, 0x0102)))).toBe("60000102");
    expect(toHex(encodeCoap(emptyMessage(CoapType.Reset, 7)))).toBe("70000007");
    expect(decodeCoap(hex("70000007"))).toMatchObject({ type: CoapType.Reset, code: 0, mid: 7 });
  });

  it("refuses to encode what cannot be sent", () => {
    const base = get("/c");
    expect(() => encodeCoap({ ...base, token: new Uint8Array(9) })).toThrow(/token/);
    expect(() => encodeCoap({ ...base, mid: 65536 })).toThrow(/message id/);
    expect(() => encodeCoap({ ...emptyMessage(CoapType.Acknowledgement, 1), payload: hex("01") })).toThrow(/Empty/);
  });
});

describe("format errors", () => {
  const cases: [string, string][] = [
    ["short header", "400100"],
    ["version 2", "80010000"],
    ["token length 9", "49010000" + "00".repeat(9)],
    ["token truncated", "44010000aabb"],
    ["delta nibble 15", "40010000f1"],
    ["length nibble 15", "400100001f"],
    ["extended delta truncated", "40010000d1"],
    ["16-bit extended length truncated", "40010000be01"],
    ["option value truncated", "40010000b3aa"],
    ["marker without payload", "40010000ff"],
    ["Empty message with bytes after the header", "60000001ff01"],
    ["Empty message with a token", "61000001aa"],
  ];
  for (const [what, bytes] of cases) {
    it(`rejects ${what}`, () => {
      expect(() => decodeCoap(hex(bytes))).toThrow(CoapFormatError);
    });
  }
});

describe("URIs and options", () => {
  it("splits paths and queries", () => {
    expect(splitUriPath("/c/13")).toEqual(["c", "13"]);
    expect(splitUriPath("c")).toEqual(["c"]);
    expect(splitUriPath("/")).toEqual([]);
    expect(splitUriPath("/a%2Fb")).toEqual(["a/b"]);
    expect(splitUriQuery("?q=11+12&a=10")).toEqual(["q=11+12", "a=10"]);
    expect(splitUriQuery("")).toEqual([]);
  });

  it("finds query values", () => {
    const m = get("/c", ["q=11+12+e9.3", "a=10", "flag"]);
    expect(queryValue(m, "q")).toBe("11+12+e9.3");
    expect(queryValue(m, "a")).toBe("10");
    expect(queryValue(m, "flag")).toBe("");
    expect(queryValue(m, "r")).toBeUndefined();
  });

  it("encodes uint option values minimally", () => {
    expect(encodeUint(0)).toEqual(new Uint8Array(0));
    expect(encodeUint(255)).toEqual(hex("ff"));
    expect(encodeUint(256)).toEqual(hex("0100"));
    expect(encodeUint(0xffffffff)).toEqual(hex("ffffffff"));
    expect(decodeUint(hex("0100"))).toBe(256);
    expect(decodeUint(new Uint8Array(0))).toBe(0);
    expect(() => encodeUint(-1)).toThrow();
  });
});

describe("real captures", () => {
  for (const file of ["csmp_register.pcap", "csmp_get.pcap"]) {
    it(`${file}: every datagram decodes and re-encodes byte for byte`, () => {
      const dgrams = readUdpDatagrams(`${VECTORS}/${file}`);
      expect(dgrams.length).toBeGreaterThan(0);
      for (const d of dgrams) {
        const m = decodeCoap(d.payload);
        expect(toHex(encodeCoap(m))).toBe(toHex(d.payload));
      }
    });
  }

  it("csmp_get.pcap: FND's GETs and the device's piggybacked answers", () => {
    const dgrams = readUdpDatagrams(`${VECTORS}/csmp_get.pcap`);
    const lines = dgrams.map((d) => summarizeCoap(decodeCoap(d.payload)));
    expect(lines[0]).toBe("CON GET mid=0 /c?q=1");
    expect(lines[1]).toBe("ACK 2.05 mid=0 68B");
    expect(lines[2]).toBe("CON POST mid=0 /r 595B");
    expect(lines[3]).toBe("ACK 2.03 mid=0 11B");
    for (let i = 4; i < dgrams.length; i += 2) {
      const req = decodeCoap(dgrams[i].payload);
      const res = decodeCoap(dgrams[i + 1].payload);
      expect(req.type).toBe(CoapType.Confirmable);
      expect(uriPath(req)).toBe("/c");
      expect(req.token.length).toBe(1);
      // The reference device answers piggybacked, same mid, token echoed, no options.
      expect(res.type).toBe(CoapType.Acknowledgement);
      expect(res.code).toBe(CoapCode.Content);
      expect(res.mid).toBe(req.mid);
      expect(res.token).toEqual(req.token);
      expect(res.options).toEqual([]);
    }
  });

  it("csmp_register.pcap: CON POST /r without token, ACK 2.03 answer", () => {
    const [reg, ack] = readUdpDatagrams(`${VECTORS}/csmp_register.pcap`).map((d) => decodeCoap(d.payload));
    expect(reg).toMatchObject({ type: CoapType.Confirmable, code: CoapCode.Post, mid: 0 });
    expect(reg.token.length).toBe(0);
    expect(uriPath(reg)).toBe("/r");
    expect(ack).toMatchObject({ type: CoapType.Acknowledgement, code: CoapCode.Valid, mid: 0, options: [] });
    expect(ack.payload.length).toBe(120);
  });
});
