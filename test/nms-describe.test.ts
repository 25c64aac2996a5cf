// Human-readable TLV lines (host/nms/describe.ts) for the real captures and
// for every message of the schema.
import { describe, it, expect } from "vitest";
import { readUdpDatagrams } from "../host/pcap.ts";
import { decodeCoap } from "../host/nms/coap.ts";
import { describePayload, describeTlv } from "../host/nms/describe.ts";
import { decodeTlvs, encodeDraftVendorTlv, encodeTlvs, tlv, tlvSchema } from "../host/nms/tlv.ts";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const [reg, fnd] = readUdpDatagrams("/work/shared/vectors/csmp_register.pcap").map((d) => decodeCoap(d.payload).payload);

describe("real captures", () => {
  it("describes the registration", () => {
    expect(describePayload(reg)).toEqual([
      "DeviceID type=1 id=0A0027FFFE3B2AB2",
      "CurrentTime posix=2020-12-17T02:59:33Z source=0",
      'HardwareDesc[1] entPhysicalDescr="CSMP Agent Lib test node" entPhysicalClass=9 entPhysicalName=lowpan entPhysicalHardwareRev=1.0 entPhysicalFirmwareRev=1.0.0 entPhysicalSerialNum=0A0027FFFE3B2AB2 entPhysicalMfgName="IOTG CRDC" entPhysicalModelName="CSMP AGENT LIB" entPhysicalFunction=meter',
      "InterfaceDesc[1] ifName=lo ifDescr=Loopback ifType=24",
      "InterfaceDesc[2] ifName=lowpan ifDescr=Ieee154 ifType=259 ifPhysAddress=0A0027FFFE3B2AB2",
      "IPAddress[1] ::1/128 if=1 type=unicast origin=dhcp status=preferred",
      "IPAddress[2] fe80::207:8109:dc:c8d/128 if=2 type=unicast origin=linklayer status=preferred",
      "IPAddress[3] 2001:a:b:c::9/64 if=2 type=unicast origin=dhcp status=preferred",
      "IPRoute[1] ::/0 via fe80::a00:27ff:fe3b:2ab1 if=2 nextHopType=ipv6z",
      "InterfaceMetrics[1] ifAdminStatus=1 ifOperStatus=1 ifLastChange=0 ifInOctets=0 ifOutOctets=0 ifInDiscards=0 ifInErrors=0 ifOutDiscards=0 ifOutErrors=0",
      "InterfaceMetrics[2] ifAdminStatus=1 ifOperStatus=9 ifLastChange=10 ifInOctets=1320 ifOutOctets=610 ifInDiscards=23 ifInErrors=0 ifOutDiscards=0 ifOutErrors=0",
      "IPRouteRPLMetrics[1] instanceIndex=1 rank=256 hops=1 pathEtx=2 linkEtx=2 rssiForward=-69 rssiReverse=-59 lqiForward=60 lqiReverse=8 dagSize=4",
      'WPANStatus ifIndex=2 SSID="CRDC" panid=1234 dot1xEnabled=false securityLevel=1 rank=256 beaconValid=true beaconVersion=32695 beaconAge=253 txPower=28 dagSize=4 metric=1 lastChanged=10 lastChangedReason=0 +unknown-fields=4',
      "RPLInstance[1] instanceId=170 doDagId=2001:db8:: doDagVersionNumber=206 rank=256 parentCount=1 dagSize=4",
      'FirmwareImageInfo[1] fileHash=3132333435000000000000000000000000000000000000000000000000000000 fileName="vendor firmware" version=1.0.0 fileSize=246272 isDefault=true isRunning=true hwInfo={hwId="" vendorHwId="vendor hardware ID"}',
    ]);
  });

  it("describes FND's signed answer", () => {
    expect(describePayload(fnd)).toEqual([
      "ReportSubscribe interval=20 tlvid=[2,22]",
      "SessionID id=1",
      "SignatureValidity notBefore=2019-05-08T05:57:40Z notAfter=2022-11-01T09:31:00Z",
      "Signature ecdsa-with-SHA256 r=A9041435C2DB2974A37A953F19AD78942458393387EA422F7CE7E96706D78496 s=1EC225FB324CA2F20B48F18536340D99F9DC513A7443FB36041743E483C5842E",
    ]);
  });
});

describe("fallbacks", () => {
  it("vendor TLVs in both forms, unknown types, undecodable values, empty messages", () => {
    const payload = new Uint8Array([
      ...encodeTlvs([{ type: 127, pen: 9, vendorType: 12, value: hex("0102") }]),
      ...encodeDraftVendorTlv(26484, [{ subType: 16, value: hex("aa") }]),
      ...hex("e70702 beef"),
      ...hex("0703 0aff01"),
      ...encodeTlvs([tlv("SessionID", {})]),
    ]);
    expect(describePayload(payload)).toEqual([
      "Vendor e9.12 (deployed form) len=2 0102",
      "Vendor e26484.16 (draft form) len=1 AA",
      "TLV999 (unknown type) len=2 BEEF",
      expect.stringMatching(/^SessionID undecodable \(.+\) len=3 0AFF01$/),
      "SessionID (empty)",
    ]);
  });

  it("a broken payload becomes one line with its bytes", () => {
    expect(describePayload(hex("0705 0a01"))).toEqual([expect.stringMatching(/^undecodable payload \(bad TLV framing: .*\): 07050A01$/)]);
    expect(describePayload(new Uint8Array(0))).toEqual(["(no TLVs)"]);
  });

  it("times, load-now, response codes and lists", () => {
    const lines = describePayload(encodeTlvs([
      tlv("LoadRequest", { fileHash: hex("00ff"), loadTime: 1 }),
      tlv("LoadResponse", { response: 3, loadTime: 1700000000 }),
      tlv("CurrentTime", { posix: 0 }),
      tlv("TlvIndex", { tlvid: ["1", "e9.12"] }),
      tlv("NMSStatus", { NMSAddr: hex("20010db8000000000000000000000001"), lastRegReason: 3 }),
      tlv("Signature", { value: hex("3000") }),
    ]));
    expect(lines).toEqual([
      "LoadRequest fileHash=00FF loadTime=now",
      "LoadResponse response=UNKNOWN_HASH loadTime=2023-11-14T22:13:20Z",
      "CurrentTime posix=0",
      "TlvIndex tlvid=[1,e9.12]",
      "NMSStatus NMSAddr=2001:db8::1 lastRegReason=ip-changed",
      expect.stringMatching(/^Signature value=3000 \(malformed: .+\)$/),
    ]);
  });

  it("gives every message of the schema a line starting with its name", () => {
    const schema = tlvSchema();
    for (const [id, type] of schema.byType) {
      if (id === 127) continue;
      const [t] = decodeTlvs(encodeTlvs([{ type: id, value: {} }]));
      expect(describeTlv(t)).toMatch(new RegExp(`^${type.name}\\b`));
    }
  });
});
