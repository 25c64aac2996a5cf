// CSMP TLV framing: varint type/length (non-minimal accepted), vendor TLV 127
// in the draft-09 and the deployed encodings, TLV id text.
import { describe, it, expect, beforeAll } from "vitest";
import { loadTestModule, type TestModule } from "./support/wasm";
import { mulberry32 } from "./support/prng";

let m: TestModule;
let io = 0;
const OUT = 3000;

interface Tlv { type: number; pen: number; vendorType: number; value: number[] }

function walk(bytes: number[] | Uint8Array): { ok: boolean; tlvs: Tlv[] } {
  m.write(io, Uint8Array.from(bytes));
  const rc = m.exports.test_tlv_walk(io, bytes.length, io + OUT, 40);
  const n = rc < 0 ? -1 - rc : rc;
  const recs = new Uint32Array(m.read(io + OUT, n * 20).buffer);
  const tlvs = Array.from({ length: n }, (_, i) => {
    const [type, pen, vendorType, off, len] = recs.slice(i * 5, i * 5 + 5);
    return { type, pen, vendorType, value: [...bytes].slice(off, off + len) };
  });
  return { ok: rc >= 0, tlvs };
}

beforeAll(() => { m = loadTestModule(); io = m.exports.test_pb_io(); });

describe("TLV framing", () => {
  it("walks standard TLVs", () => {
    expect(walk([0x02, 0x02, 0x08, 0x01, 0x12, 0x00, 0x16, 0x01, 0x05]).tlvs).toEqual([
      { type: 2, pen: 0, vendorType: 0, value: [0x08, 0x01] },
      { type: 18, pen: 0, vendorType: 0, value: [] },
      { type: 22, pen: 0, vendorType: 0, value: [0x05] },
    ]);
  });
  it("accepts the reference agent's two-byte lengths (94 00 = 20) and multi-byte types", () => {
    const value = Array.from({ length: 20 }, (_, i) => i);
    expect(walk([0x02, 0x94, 0x00, ...value]).tlvs).toEqual([{ type: 2, pen: 0, vendorType: 0, value }]);
    expect(walk([0x81, 0x02, 0x01, 0xaa]).tlvs[0]).toMatchObject({ type: 257, value: [0xaa] });
  });
  it("reads the deployed vendor form 127 | PEN | type | len | value", () => {
    // PEN 26866 = 0xf2 0xd1 0x01, vendor type 3
    expect(walk([0x7f, 0xf2, 0xd1, 0x01, 0x03, 0x02, 0xde, 0xad, 0x02, 0x00]).tlvs).toEqual([
      { type: 127, pen: 26866, vendorType: 3, value: [0xde, 0xad] },
      { type: 2, pen: 0, vendorType: 0, value: [] },
    ]);
  });
  it("reads the draft-09 vendor form 127 | len | SubType 1 PEN | SubTLVs, one TLV per SubTLV", () => {
    const subs = [0x01, 0x01, 0x09, 0x10, 0x01, 0x42, 0x11, 0x00];
    expect(walk([0x7f, subs.length, ...subs, 0x07, 0x00]).tlvs).toEqual([
      { type: 127, pen: 9, vendorType: 16, value: [0x42] },
      { type: 127, pen: 9, vendorType: 17, value: [] },
      { type: 7, pen: 0, vendorType: 0, value: [] },
    ]);
    // PEN as 4 big-endian bytes
    expect(walk([0x7f, 0x09, 0x01, 0x04, 0x00, 0x00, 0x68, 0xf2, 0x10, 0x01, 0x01]).tlvs).toEqual([
      { type: 127, pen: 26866, vendorType: 16, value: [0x01] },
    ]);
  });
  it("reports malformed payloads without trapping", () => {
    for (const bad of [[0x02], [0x02, 0x05, 0x00], [0x7f], [0x7f, 0x09], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]]) {
      expect(walk(bad).ok, bad.join(",")).toBe(false);
    }
    const rnd = mulberry32(7);
    for (let i = 0; i < 2000; i++) walk(Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
  });
  it("writes minimal varints", () => {
    m.write(io, new Uint8Array(200));
    expect(m.exports.test_tlv_put_raw(2, io, 200, io + OUT, 300)).toBe(1 + 2 + 200);
    expect([...m.read(io + OUT, 3)]).toEqual([0x02, 0xc8, 0x01]);
    expect(m.exports.test_tlv_put_raw(2, io, 200, io + OUT, 202)).toBe(-1);
  });
});

describe("TLV id text", () => {
  const parse = (s: string) => { m.write(io, Buffer.from(s)); return m.exports.test_tlvid_parse(io, s.length) as bigint; };
  const text = (id: bigint) => Buffer.from(m.read(io, m.exports.test_tlvid_write(id, io))).toString();
  it("parses decimal and e<PEN>.<type> ids", () => {
    expect(parse("11")).toBe(11n);
    expect(parse("e9.12")).toBe((9n << 32n) | 12n);
    expect(parse("E26866.3")).toBe((26866n << 32n) | 3n);
    for (const bad of ["", "e", "e9", "e9.", "x1", "1a", "e.1", "-1", "99999999999"]) expect(parse(bad), bad).toBe(-1n);
  });
  it("writes them back", () => {
    expect(text(11n)).toBe("11");
    expect(text((26866n << 32n) | 3n)).toBe("e26866.3");
  });
});
