// The NMS-side TLV codec (host/nms/tlv.ts, protobufjs): TLV framing with
// non-minimal varints, both vendor TLV forms, presence (oneof) semantics, TLV
// id text, and the real captures of the reference agent and Cisco FND.
import { readFileSync } from "node:fs";
import { describe, it, expect } from "vitest";
import protobuf from "protobufjs";
import { readUdpDatagrams } from "../host/pcap.ts";
import { CoapCode, decodeCoap, queryValue, uriPath } from "../host/nms/coap.ts";
import {
  decodeTlvs, encodeDraftVendorTlv, encodeTlv, encodeTlvs, encodeVarint, formatTlvId, parseTlvId, parseTlvOptions,
  readVarint, tlv, tlvIdOf, tlvName, tlvSchema, tlvType, TlvDecodeError, type Tlv,
} from "../host/nms/tlv.ts";
import { mulberry32 } from "./support/prng.ts";

const VECTORS = "/work/shared/vectors";
const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const schema = tlvSchema();

function payloads(file: string) {
  return readUdpDatagrams(`${VECTORS}/${file}`).map((d) => ({ frame: d.frame, msg: decodeCoap(d.payload) }));
}

describe("schema and TLV ids", () => {
  it("maps every TLV id the brief lists to its message", () => {
    const expected: Record<number, string> = {
      1: "TlvIndex", 2: "DeviceID", 6: "NMSRedirectRequest", 7: "SessionID", 8: "DescriptionRequest", 11: "HardwareDesc",
      12: "InterfaceDesc", 13: "ReportSubscribe", 16: "IPAddress", 17: "IPRoute", 18: "CurrentTime", 21: "RPLSettings",
      22: "Uptime", 23: "InterfaceMetrics", 25: "IPRouteRPLMetrics", 30: "PingRequest", 31: "PingResponse",
      32: "RebootRequest", 33: "Ieee8021xStatus", 34: "Ieee80211iStatus", 35: "WPANStatus", 36: "DHCP6ClientStatus",
      42: "NMSSettings", 43: "NMSStatus", 47: "Ieee8021xSettings", 48: "Ieee802154BeaconStats", 53: "RPLInstance",
      55: "GroupAssign", 56: "GroupEvict", 57: "GroupMatch", 58: "GroupInfo", 62: "LowpanMacStats",
      63: "LowpanPhySettings", 65: "TransferRequest", 67: "ImageBlock", 68: "LoadRequest", 69: "CancelLoadRequest",
      70: "SetBackupRequest", 71: "TransferResponse", 72: "LoadResponse", 73: "CancelLoadResponse",
      74: "SetBackupResponse", 75: "FirmwareImageInfo", 76: "SignatureValidity", 77: "Signature",
      79: "SignatureSettings", 86: "SysResetStats", 124: "NetStat", 141: "NetworkRole", 172: "CertBundle",
      241: "MplStats", 242: "MplReset", 313: "RPLStats", 314: "DHCP6Stats", 500: "EventReport", 501: "EventIndex",
      502: "EventSubscribe", 510: "EventStats",
    };
    for (const [id, name] of Object.entries(expected)) {
      expect(tlvName(Number(id))).toBe(name);
      expect(tlvType(name)).toBe(Number(id));
    }
    expect(tlvName(999)).toBe("TLV999");
    expect(() => tlvType("NoSuchMessage")).toThrow();
  });

  it("parses the options file format strictly", () => {
    const ids = parseTlvOptions(readFileSync("proto/csmp.options", "utf8"));
    expect(ids.get("Signature")).toBe(77);
    expect(parseTlvOptions("# c\nA tlv:3 # trailing\nA.f max_count:4\n")).toEqual(new Map([["A", 3]]));
    expect(() => parseTlvOptions("A tlv:x")).toThrow(/bad TLV id/);
    expect(() => parseTlvOptions("A tlv:3 extra")).toThrow(/malformed/);
    expect(() => parseTlvOptions("A tlv:3\nB tlv:3")).toThrow(/both/);
  });

  it("formats and parses TLV id text", () => {
    expect(formatTlvId({ type: 11 })).toBe("11");
    expect(formatTlvId({ type: 12, pen: 9 })).toBe("e9.12");
    expect(parseTlvId("11")).toEqual({ type: 11 });
    expect(parseTlvId("e9.12")).toEqual({ type: 12, pen: 9 });
    expect(parseTlvId("e26484.0")).toEqual({ type: 0, pen: 26484 });
    for (const bad of ["", "011", "e9", "e.1", "e9.", "-1", "1 ", "x1", "e09.1", "4294967296", "e4294967296.1"]) {
      expect(() => parseTlvId(bad), bad).toThrow(RangeError);
    }
    expect(tlvIdOf({ type: 127, pen: 9, vendorType: 3 })).toBe("e9.3");
    expect(tlvIdOf({ type: 16 })).toBe("16");
  });
});

describe("varints", () => {
  it("writes minimal varints", () => {
    expect(encodeVarint(0)).toEqual(hex("00"));
    expect(encodeVarint(127)).toEqual(hex("7f"));
    expect(encodeVarint(128)).toEqual(hex("8001"));
    expect(encodeVarint(314)).toEqual(hex("ba02"));
    expect(encodeVarint(0xffffffff)).toEqual(hex("ffffffff0f"));
  });

  it("reads non-minimal varints, up to 10 bytes", () => {
    expect(readVarint(hex("9400"), 0)).toEqual({ value: 20, next: 2 });
    expect(readVarint(hex("80808000"), 0)).toEqual({ value: 0, next: 4 });
    expect(readVarint(hex("ff" + "80".repeat(8) + "00"), 0)).toEqual({ value: 127, next: 10 });
    expect(readVarint(hex("80".repeat(10) + "00"), 0)).toBeNull(); // 11 bytes
    expect(readVarint(hex("8080"), 0)).toBeNull(); // truncated
  });
});

describe("framing", () => {
  it("accepts non-minimal types and lengths", () => {
    // SessionID "1" with type 7 as `87 00` and length 3 as `83 80 00`.
    const [t] = decodeTlvs(hex("8700 838000 0a0131"));
    expect(t).toMatchObject({ type: 7, name: "SessionID", value: { id: "1" }, offset: 0 });
    expect(t.raw.length).toBe(8);
  });

  it("writes minimal framing", () => {
    expect(toHex(encodeTlv(tlv("SessionID", { id: "1" })))).toBe("07030a0131");
    // A value of 200 bytes needs a two-byte length; type 314 a two-byte type.
    const big = encodeTlv({ type: 2, value: new Uint8Array(200) });
    expect(toHex(big.subarray(0, 3))).toBe("02c801");
    expect(toHex(encodeTlv({ type: 314, value: {} }))).toBe("ba0200");
  });

  it("reports broken framing with the offset", () => {
    expect(() => decodeTlvs(hex("07030a0131 0705 0a01"))).toThrow(TlvDecodeError);
    try {
      decodeTlvs(hex("07030a0131 0705 0a01"));
    } catch (e) {
      expect((e as TlvDecodeError).offset).toBe(5);
      expect((e as Error).message).toMatch(/length 5 exceeds/);
    }
    expect(() => decodeTlvs(hex("07"))).toThrow(/length varint/);
    expect(() => decodeTlvs(hex("ff"))).toThrow(/type varint/);
  });

  it("keeps unknown types and undecodable values as raw bytes", () => {
    const list = decodeTlvs(hex("e70703 aabbcc 0703 0aff01"));
    expect(list[0]).toMatchObject({ type: 999, name: "TLV999", value: hex("aabbcc") });
    expect(list[1].name).toBe("SessionID");
    expect(list[1].error).toBeTruthy();
    expect(list[1].value).toEqual(hex("0aff01"));
  });

  it("flags a known field with the wrong wire type as undecodable", () => {
    // SessionID.id is a string (wire type 2); here it comes as a varint.
    const [t] = decodeTlvs(hex("0702 0801"));
    expect(t.error).toMatch(/field id \(1\) with wire type 0/);
    // Packed and unpacked repeated scalars are both fine (Ieee80211iStatus.gtkLifetimes, field 8).
    const unpacked = decodeTlvs(hex("2204 4001 4002"))[0];
    const packed = decodeTlvs(hex("2204 42020102"))[0];
    expect((unpacked.value as Record<string, unknown>).gtkLifetimes).toEqual([1, 2]);
    expect((packed.value as Record<string, unknown>).gtkLifetimes).toEqual([1, 2]);
  });

  it("lists field numbers the schema does not define", () => {
    const [t] = decodeTlvs(hex("0706 0a0131 f80101"));
    expect(t.value).toEqual({ id: "1" });
    expect(t.unknownFields).toEqual([31]);
  });
});

describe("presence", () => {
  it("encodes a zero inside a oneof and decodes it as present", () => {
    const bytes = encodeTlvs([tlv("ReportSubscribe", { interval: 0 })]);
    expect(toHex(bytes)).toBe("0d020800");
    expect(decodeTlvs(bytes)[0].value).toEqual({ interval: 0, tlvid: [], tlvidHeartBeat: [] });
  });

  it("leaves absent fields absent (regIntervalMax alone does not carry regIntervalMin)", () => {
    const bytes = encodeTlvs([tlv("NMSSettings", { regIntervalMax: 7200 })]);
    const v = decodeTlvs(bytes)[0].value as Record<string, unknown>;
    expect(v).toEqual({ regIntervalMax: 7200 });
    expect("regIntervalMin" in v).toBe(false);
  });

  it("shows proto3 fields without presence at their default", () => {
    // NetworkRole.preference has no oneof: 0 is not sent, and reads back as 0.
    const bytes = encodeTlvs([tlv("NetworkRole", { preference: 0 })]);
    expect(toHex(bytes)).toBe("8d0100");
    expect(decodeTlvs(bytes)[0].value).toEqual({ preference: 0 });
  });

  it("rejects unknown field names and wrong types instead of dropping them", () => {
    expect(() => encodeTlvs([tlv("SessionID", { ID: "1" })])).toThrow(/no field "ID"/);
    expect(() => encodeTlvs([tlv("ReportSubscribe", { interval: "soon" })])).toThrow(/integer/);
    expect(() => encodeTlvs([tlv("TransferRequest", { hwInfo: { hwid: "x" } })])).toThrow(/no field "hwid"/);
    expect(() => encodeTlvs([{ type: 999, value: {} }])).toThrow(/value bytes/);
    expect(() => encodeTlvs([tlv("NoSuch", {})])).toThrow();
  });
});

/** A value for every field of `type` (nested messages to depth 3); `zero` uses 0/""/false/empty. */
function fullObject(type: protobuf.Type, rnd: () => number, zero: boolean, depth = 0): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    const one = (): unknown => {
      if (f.resolvedType instanceof protobuf.Type) return depth < 3 ? fullObject(f.resolvedType, rnd, zero, depth + 1) : {};
      switch (f.type) {
        case "bool": return zero ? false : true;
        case "string": return zero ? "" : `s${Math.floor(rnd() * 1000)}`;
        case "bytes": return zero ? new Uint8Array(0) : Uint8Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 256));
        case "uint32": return zero ? 0 : Math.floor(rnd() * 0xffffffff);
        case "int32": case "sint32": return zero ? 0 : Math.floor(rnd() * 0xffffffff) - 0x80000000;
        default: throw new Error(`unexpected field type ${f.type}`);
      }
    };
    obj[f.name] = f.repeated ? (zero ? [] : [one(), one()]) : one();
  }
  return obj;
}

describe("every TLV message round-trips", () => {
  const rnd = mulberry32(2024);
  for (const [id, type] of schema.byType) {
    if (id === 127) continue; // vendor values are opaque bytes
    it(`${type.name} (${id})`, () => {
      for (const zero of [false, true]) {
        const value = fullObject(type, rnd, zero);
        const bytes = encodeTlvs([{ type: id, value }]);
        const [back] = decodeTlvs(bytes);
        expect(back.type).toBe(id);
        expect(back.error).toBeUndefined();
        expect(back.value).toEqual(value);
        // And the same bytes come out again.
        expect(toHex(encodeTlvs([back]))).toBe(toHex(bytes));
      }
    });
  }
});

describe("vendor TLV 127", () => {
  it("encodes the deployed form: 127 | PEN | type | length | value", () => {
    expect(toHex(encodeTlv({ type: 127, pen: 9, vendorType: 12, value: hex("010203") }))).toBe("7f090c03010203");
    expect(toHex(encodeTlv({ type: 127, pen: 26484, vendorType: 300, value: hex("aa") }))).toBe("7ff4ce01ac0201aa");
    expect(() => encodeTlv({ type: 127, value: hex("00") })).toThrow(/pen/);
  });

  it("decodes the deployed form between standard TLVs", () => {
    const bytes = hex("07030a0131 7f090c03010203 1602 0814");
    const list = decodeTlvs(bytes);
    expect(list.map((t) => t.name)).toEqual(["SessionID", "Vendor", "Uptime"]);
    expect(list[1]).toMatchObject({ type: 127, pen: 9, vendorType: 12, vendorForm: "deployed", value: hex("010203"), offset: 5 });
    expect(tlvIdOf(list[1])).toBe("e9.12");
    expect(toHex(encodeTlvs(list))).toBe(toHex(bytes));
  });

  it("decodes the draft-09 form (SubType 1 = PEN first), one entry per SubTLV", () => {
    const draft = encodeDraftVendorTlv(9, [{ subType: 16, value: hex("0801") }, { subType: 17, value: hex("") }]);
    expect(toHex(draft)).toBe("7f09" + "010109" + "10020801" + "1100");
    const list = decodeTlvs(new Uint8Array([...hex("07030a0131"), ...draft, ...hex("16020814")]));
    expect(list.map((t) => [t.name, t.vendorType, t.vendorForm])).toEqual([
      ["SessionID", undefined, undefined], ["Vendor", 16, "draft"], ["Vendor", 17, "draft"], ["Uptime", undefined, undefined],
    ]);
    expect(list[1].pen).toBe(9);
    expect(list[1].value).toEqual(hex("0801"));
    // Re-encoding writes the deployed form.
    expect(toHex(encodeTlvs(list.slice(1, 3)))).toBe("7f09100208017f091100");
  });

  it("accepts a non-minimal PEN SubTLV and multi-byte PENs in the draft form", () => {
    const list = decodeTlvs(hex("7f0a 0103f4ce01 1003aabbcc"));
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ pen: 26484, vendorType: 16, vendorForm: "draft", value: hex("aabbcc") });
  });

  it("prefers the deployed form when both read the whole payload plausibly", () => {
    // 7f 03 01 01 09: draft "PEN 9, no SubTLVs" or deployed "PEN 3, type 1, value 09".
    const [t] = decodeTlvs(hex("7f03010109"));
    expect(t).toMatchObject({ pen: 3, vendorType: 1, vendorForm: "deployed", value: hex("09") });
  });

  it("takes the draft form when the deployed reading leaves garbage after it", () => {
    // Draft: PEN 9 + SubTLV 16 = aa. Deployed would read PEN 6, type 1, value 09, then "TLV 16" = aa (not an IPAddress).
    const [t, ...rest] = decodeTlvs(hex("7f06 010109 1001aa"));
    expect(rest).toHaveLength(0);
    expect(t).toMatchObject({ pen: 9, vendorType: 16, vendorForm: "draft", value: hex("aa") });
  });

  it("takes the draft form when it reads the bytes as fewer TLVs", () => {
    // Deployed would read PEN 5, type 1, value 09, then an empty IPRoute (TLV 17): plausible, but two TLVs.
    const [t, ...rest] = decodeTlvs(hex("7f05 010109 1100"));
    expect(rest).toHaveLength(0);
    expect(t).toMatchObject({ pen: 9, vendorType: 17, vendorForm: "draft" });
  });

  it("takes the deployed form when the draft reading does not frame", () => {
    // Draft would need SubType 1 first; here the byte after the length is 0x0c.
    const [t] = decodeTlvs(hex("7f090c03010203"));
    expect(t).toMatchObject({ pen: 9, vendorType: 12, vendorForm: "deployed" });
  });
});

describe("real captures", () => {
  const [reg, fnd] = payloads("csmp_register.pcap");

  it("the registration POST /r decodes fully", () => {
    expect(uriPath(reg.msg)).toBe("/r");
    const list = decodeTlvs(reg.msg.payload);
    expect(list.map((t) => t.name)).toEqual([
      "DeviceID", "CurrentTime", "HardwareDesc", "InterfaceDesc", "InterfaceDesc", "IPAddress", "IPAddress", "IPAddress",
      "IPRoute", "InterfaceMetrics", "InterfaceMetrics", "IPRouteRPLMetrics", "WPANStatus", "RPLInstance", "FirmwareImageInfo",
    ]);
    for (const t of list) expect(t.error, t.name).toBeUndefined();
    const by = (name: string) => list.filter((t) => t.name === name).map((t) => t.value as Record<string, unknown>);
    expect(by("DeviceID")[0]).toEqual({ type: 1, id: "0A0027FFFE3B2AB2" });
    expect(by("CurrentTime")[0]).toEqual({ posix: 1608173973, source: 0 });
    expect(by("HardwareDesc")[0]).toMatchObject({
      entPhysicalIndex: 1, entPhysicalDescr: "CSMP Agent Lib test node", entPhysicalName: "lowpan",
      entPhysicalSerialNum: "0A0027FFFE3B2AB2", entPhysicalMfgName: "IOTG CRDC", entPhysicalModelName: "CSMP AGENT LIB",
      entPhysicalFunction: 1,
    });
    expect(by("InterfaceDesc").map((v) => [v.ifIndex, v.ifName])).toEqual([[1, "lo"], [2, "lowpan"]]);
    expect(by("InterfaceDesc")[1].ifPhysAddress).toEqual(hex("0a0027fffe3b2ab2"));
    expect(by("IPAddress").map((v) => [v.ipAddressIndex, toHex(v.ipAddressAddr as Uint8Array), v.ipAddressPfxLen])).toEqual([
      [1, "00000000000000000000000000000001", 128],
      [2, "fe800000000000000207810900dc0c8d", 128],
      [3, "2001000a000b000c0000000000000009", 64],
    ]);
    expect(by("IPRoute")[0]).toMatchObject({ inetCidrRoutePfxLen: 0, inetCidrRouteNextHop: hex("fe800000000000000a0027fffe3b2ab1") });
    expect(by("IPRouteRPLMetrics")[0]).toMatchObject({ rssiForward: -69, rssiReverse: -59 });
    expect(by("FirmwareImageInfo")[0]).toMatchObject({ index: 1, fileName: "vendor firmware", version: "1.0.0", isRunning: true });
    // The reference agent fills WPANStatus field 4 (master/primary), which the draft reserves.
    expect(list.filter((t) => t.unknownFields).map((t) => [t.name, t.unknownFields])).toEqual([["WPANStatus", [4]]]);
  });

  it("the reference agent writes every TLV length as two bytes; FND writes minimal ones", () => {
    const lengthBytes = (t: Tlv) => {
      const type = readVarint(t.raw, 0)!;
      return readVarint(t.raw, type.next)!.next - type.next;
    };
    for (const t of decodeTlvs(reg.msg.payload)) {
      expect(lengthBytes(t)).toBe(2);
      expect(t.raw[1] & 0x80, "first length byte carries the continuation bit").toBe(0x80);
    }
    for (const t of decodeTlvs(fnd.msg.payload)) expect(lengthBytes(t)).toBe(1);
    // Re-framing the same value bytes with minimal varints shrinks each TLV by a byte.
    const list = decodeTlvs(reg.msg.payload);
    const minimal = encodeTlvs(list.map((t) => ({ type: t.type, value: t.valueBytes })));
    expect(minimal.length).toBe(reg.msg.payload.length - list.length);
    expect(decodeTlvs(minimal).map((t) => t.value)).toEqual(list.map((t) => t.value));
    // Re-encoding from the decoded objects also keeps every value, but protobufjs drops
    // the field it does not know (WPANStatus 4, `20 00`).
    const fromObjects = encodeTlvs(list);
    expect(fromObjects.length).toBe(minimal.length - 2);
    expect(decodeTlvs(fromObjects).map((t) => t.value)).toEqual(list.map((t) => t.value));
  });

  it("FND's 2.03 answer decodes, and our encoder reproduces its bytes exactly", () => {
    expect(fnd.msg.code).toBe(CoapCode.Valid);
    const list = decodeTlvs(fnd.msg.payload);
    expect(list.map((t) => t.name)).toEqual(["ReportSubscribe", "SessionID", "SignatureValidity", "Signature"]);
    expect(list[0].value).toEqual({ interval: 20, tlvid: ["2", "22"], tlvidHeartBeat: [] });
    expect(list[1].value).toEqual({ id: "1" });
    expect(list[2].value).toEqual({ notBefore: 1557295060, notAfter: 1667295060 });
    expect(((list[3].value as { value: Uint8Array }).value).length).toBe(86);
    expect(toHex(encodeTlvs(list))).toBe(toHex(fnd.msg.payload));
  });

  it("every GET /c?q=N answer in csmp_get.pcap holds only TLVs of type N", () => {
    const all = payloads("csmp_get.pcap");
    const seen: number[] = [];
    for (let i = 0; i + 1 < all.length; i++) {
      const req = all[i].msg;
      if (req.code !== CoapCode.Get) continue;
      const q = queryValue(req, "q")!;
      const n = parseTlvId(q).type;
      const res = all[i + 1].msg;
      expect(res.mid).toBe(req.mid);
      const list = decodeTlvs(res.payload);
      for (const t of list) {
        expect(t.type, `q=${q}`).toBe(n);
        expect(t.error).toBeUndefined();
      }
      seen.push(n);
      // SessionID, GroupAssign and GroupInfo had no value on that device: 2.05 with an empty body.
      expect(list.length === 0).toBe([7, 55, 58].includes(n));
    }
    expect(seen).toEqual([1, 2, 7, 11, 12, 13, 16, 17, 18, 22, 23, 25, 35, 53, 55, 58, 75]);
  });

  it("csmp_get.pcap: TlvIndex, and a registration answer without signature", () => {
    const all = payloads("csmp_get.pcap");
    expect(decodeTlvs(all[1].msg.payload)[0].value).toEqual({
      tlvid: ["1", "2", "7", "55", "58", "13", "11", "12", "16", "17", "18", "22", "23", "25", "35", "53", "75"],
    });
    expect(decodeTlvs(all[3].msg.payload).map((t) => t.name)).toEqual(["ReportSubscribe"]);
  });
});
