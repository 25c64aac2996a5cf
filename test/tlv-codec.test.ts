// The agent's table-driven protobuf codec against an independent protobuf
// implementation (protobufjs's runtime) built from the same proto/csmp.proto:
// every TLV message, random field subsets, absent-vs-zero, repeated and nested.
import { describe, it, expect, beforeAll } from "vitest";
import protobuf from "protobufjs";
import { loadTestModule, type TestModule } from "./support/wasm";
import { readOptions } from "../scripts/gen-tlv-codec.mjs";
import { mulberry32 } from "./support/prng";

const root = new protobuf.Root().loadSync("proto/csmp.proto", { keepCase: true });
root.resolveAll();
const opts = readOptions("proto/csmp.options");
const tlvTypes = [...opts.tlv.entries()].map(([name, id]) => ({ id, type: root.lookupType(`csmp.tlvs.${name}`) }));

const PB_OK = 0, PB_TRUNCATED = 1, PB_MALFORMED = -1;
let m: TestModule;
let io = 0;

function agentRoundTrip(tlv: number, bytes: Uint8Array): { rc: number; out?: Uint8Array } {
  m.write(io, bytes);
  const rc = m.exports.test_pb_decode(tlv, bytes.length);
  if (rc < 0) return { rc };
  const outPtr = io + 2048;
  const n = m.exports.test_pb_encode(tlv, outPtr, 2048);
  expect(n).toBeGreaterThanOrEqual(0);
  return { rc, out: m.read(outPtr, n) };
}

/** A random plain object for `type`, each field present or not at random. */
function randomObject(type: protobuf.Type, rnd: () => number, fill = false): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    if (!fill && rnd() < 0.4) continue;
    if (f.repeated) {
      const cap = opts.maxCount.get(`${type.name}.${f.name}`)!;
      const n = fill ? cap : Math.floor(rnd() * Math.min(cap, 6));
      obj[f.name] = Array.from({ length: n }, () => randomValue(f, rnd, fill));
    } else {
      obj[f.name] = randomValue(f, rnd, fill);
    }
  }
  return obj;
}

function pick<T>(rnd: () => number, xs: T[]): T { return xs[Math.floor(rnd() * xs.length)]; }

function randomValue(f: protobuf.Field, rnd: () => number, fill: boolean): unknown {
  if (f.resolvedType instanceof protobuf.Type) return randomObject(f.resolvedType, rnd, fill);
  if (f.resolvedType instanceof protobuf.Enum) return pick(rnd, Object.values(f.resolvedType.values));
  const u32 = () => pick(rnd, [0, 1, 127, 128, 300, 0xffffffff, Math.floor(rnd() * 2 ** 32)]);
  const i32 = () => pick(rnd, [0, -1, 1, -2147483648, 2147483647, Math.floor(rnd() * 2 ** 32) - 2 ** 31]);
  const u64 = () => pick(rnd, ["0", "1", "18446744073709551615", String(BigInt(Math.floor(rnd() * 2 ** 53)) * 1021n)]);
  const i64 = () => pick(rnd, ["0", "-1", "9223372036854775807", "-9223372036854775808", String(-Math.floor(rnd() * 2 ** 53))]);
  switch (f.type) {
    case "uint32": case "fixed32": return u32();
    case "int32": case "sint32": case "sfixed32": return i32();
    case "uint64": case "fixed64": return u64();
    case "int64": case "sint64": case "sfixed64": return i64();
    case "bool": return rnd() < 0.5;
    case "float": case "double": return pick(rnd, [0, -0.5, 1.25, 1e6, Math.floor(rnd() * 1000) / 8]);
    case "string": return pick(rnd, ["", "e9.12", "lowpan0", "ünï\u20ac", "x".repeat(Math.floor(rnd() * 200))]);
    case "bytes": return Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256));
  }
  throw new Error(`no generator for ${f.type}`);
}

const asObject = (type: protobuf.Type, bytes: Uint8Array) =>
  type.toObject(type.decode(bytes), { longs: String, bytes: Array, oneofs: true, defaults: false });

beforeAll(() => {
  m = loadTestModule();
  io = m.exports.test_pb_io();
});

describe("TLV message codec vs protobufjs", () => {
  it("knows every TLV of the schema", () => {
    expect(tlvTypes.length).toBeGreaterThanOrEqual(59);
    for (const { id } of tlvTypes) expect(m.exports.test_pb_struct_size(id)).toBeGreaterThan(0);
  });

  for (const { id, type } of tlvTypes) {
    it(`TLV ${id} ${type.name}: random field subsets decode and re-encode byte for byte`, () => {
      const rnd = mulberry32(id * 7919);
      for (let i = 0; i < 60; i++) {
        const obj = randomObject(type, rnd, false);
        const bytes = type.encode(type.fromObject(obj)).finish();
        if (bytes.length > 2000) continue;
        const { rc, out } = agentRoundTrip(id, bytes);
        expect(rc, `decode of ${JSON.stringify(obj)}`).toBe(PB_OK);
        expect(Buffer.from(out!).toString("hex")).toBe(Buffer.from(bytes).toString("hex"));
        expect(asObject(type, out!)).toEqual(asObject(type, bytes));
      }
    });
  }

  it("every field present at once, repeated fields filled to capacity", () => {
    for (const { id, type } of tlvTypes) {
      const bytes = type.encode(type.fromObject(randomObject(type, mulberry32(id), true))).finish();
      if (bytes.length > 2000) continue;
      const { rc, out } = agentRoundTrip(id, bytes);
      expect(rc, type.name).toBe(PB_OK);
      expect(Buffer.from(out!).equals(Buffer.from(bytes)), type.name).toBe(true);
    }
  });
});

describe("presence", () => {
  const DeviceID = root.lookupType("csmp.tlvs.DeviceID");
  it("a field present with value zero stays present (and is encoded)", () => {
    const bytes = DeviceID.encode(DeviceID.fromObject({ type: 0 })).finish();
    expect(Buffer.from(bytes).toString("hex")).toBe("0800");
    const { out } = agentRoundTrip(2, bytes);
    expect(m.exports.test_pb_has(0)).toBe(1); // type
    expect(m.exports.test_pb_has(1)).toBe(0); // id
    expect(Buffer.from(out!).toString("hex")).toBe("0800");
  });
  it("an absent field is not encoded", () => {
    const { out } = agentRoundTrip(2, new Uint8Array());
    expect(m.exports.test_pb_has(0)).toBe(0);
    expect(out!.length).toBe(0);
  });
  it("NMSSettings carrying only regIntervalMax leaves regIntervalMin absent", () => {
    const NMSSettings = root.lookupType("csmp.tlvs.NMSSettings");
    const bytes = NMSSettings.encode(NMSSettings.fromObject({ regIntervalMax: 7200 })).finish();
    const { out } = agentRoundTrip(42, bytes);
    expect(NMSSettings.toObject(NMSSettings.decode(out!), { oneofs: true })).toEqual({
      regIntervalMax: 7200, regIntervalMax_present: "regIntervalMax",
    });
  });
});

describe("decoder robustness", () => {
  it("accepts non-minimal varints (tags, lengths and values)", () => {
    // DeviceID { type: 1 (tag 08 written as 88 00, value 81 00), id: "ab" (length 82 00) }
    const { rc, out } = agentRoundTrip(2, Uint8Array.from([0x88, 0x00, 0x81, 0x00, 0x12, 0x82, 0x00, 0x61, 0x62]));
    expect(rc).toBe(PB_OK);
    expect(Buffer.from(out!).toString("hex")).toBe("0801120261" + "62");
  });
  it("skips unknown fields of every wire type", () => {
    const bytes = Uint8Array.from([
      0xf8, 0x07, 0x05,                         // field 127 varint
      0xf9, 0x07, 1, 2, 3, 4, 5, 6, 7, 8,       // field 127 fixed64
      0xfa, 0x07, 0x02, 0xaa, 0xbb,             // field 127 length-delimited
      0xfd, 0x07, 1, 2, 3, 4,                   // field 127 fixed32
      0x08, 0x01,                               // type = 1
    ]);
    const { rc, out } = agentRoundTrip(2, bytes);
    expect(rc).toBe(PB_OK);
    expect(Buffer.from(out!).toString("hex")).toBe("0801");
  });
  it("reports malformed input: truncation, bad wire types, overlong varints, field 0", () => {
    const bad = [
      [0x08], [0x12, 0x05, 0x61], [0x88], [0x0b], [0x0c], [0x0e, 0x00], [0x00, 0x01],
      [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
      [0x0a, 0x00], // type is a varint field, not length-delimited
    ];
    for (const b of bad) expect(agentRoundTrip(2, Uint8Array.from(b)).rc, b.join(",")).toBe(PB_MALFORMED);
  });
  it("drops repeated elements beyond capacity and says so", () => {
    const TlvIndex = root.lookupType("csmp.tlvs.TlvIndex");
    const cap = opts.maxCount.get("TlvIndex.tlvid")!;
    const ids = Array.from({ length: cap + 5 }, (_, i) => String(i + 1));
    const { rc, out } = agentRoundTrip(1, TlvIndex.encode({ tlvid: ids }).finish());
    expect(rc).toBe(PB_TRUNCATED);
    expect((TlvIndex.decode(out!) as any).tlvid).toEqual(ids.slice(0, cap));
  });
  it("accepts repeated scalars packed and unpacked", () => {
    // EventSubscribe/ReportSubscribe have only strings; find any repeated scalar in the schema.
    const target = tlvTypes.flatMap(({ id, type }) =>
      type.fieldsArray.filter((f) => f.repeated && !f.resolvedType && f.type !== "string" && f.type !== "bytes")
        .map((f) => ({ id, type, f })))[0];
    if (!target) return;
    const { id, f } = target;
    const tag = (f.id << 3);
    const unpacked = Uint8Array.from([tag, 1, tag, 2, tag, 3]);
    const { rc, out } = agentRoundTrip(id, unpacked);
    expect(rc).toBe(PB_OK);
    const packedTag = Buffer.from([(f.id << 3) | 2]).toString("hex");
    expect(Buffer.from(out!).toString("hex")).toContain(packedTag);
  });
  it("never traps on random bytes for any TLV type", () => {
    const rnd = mulberry32(42);
    for (let i = 0; i < 3000; i++) {
      const { id } = tlvTypes[i % tlvTypes.length];
      const bytes = Uint8Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256));
      m.write(io, bytes);
      const rc = m.exports.test_pb_decode(id, bytes.length);
      expect([PB_OK, PB_TRUNCATED, PB_MALFORMED]).toContain(rc);
      if (rc >= 0) expect(m.exports.test_pb_encode(id, io + 2048, 2048)).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("encoder bounds", () => {
  it("returns -1 instead of writing past the capacity", () => {
    const HardwareDesc = root.lookupType("csmp.tlvs.HardwareDesc");
    const bytes = HardwareDesc.encode(HardwareDesc.fromObject({ entPhysicalDescr: "x".repeat(100), entPhysicalIndex: 1 })).finish();
    m.write(io, bytes);
    expect(m.exports.test_pb_decode(11, bytes.length)).toBe(PB_OK);
    const out = io + 2048;
    m.write(out, new Uint8Array(200).fill(0xee));
    for (const cap of [0, 1, 50, bytes.length - 1]) {
      expect(m.exports.test_pb_encode(11, out, cap)).toBe(-1);
      expect(m.read(out + cap, 200 - cap).every((b) => b === 0xee)).toBe(true);
    }
    expect(m.exports.test_pb_encode(11, out, bytes.length)).toBe(bytes.length);
  });
});
