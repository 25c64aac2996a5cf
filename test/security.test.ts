// Signed NMS messages: every way a POST can fail its signature checks is
// rejected with state unchanged; the real FND 2.03 answer parses and, its
// key being unknown, is rejected as a bad signature.
import { describe, it, expect, beforeEach } from "vitest";
import { createWorld, addDevice, agentLog, type World, type Device } from "./support/testbed.ts";
import { exchange, signed, postTo, getTlvs, nmsKeys, nmsKeyHex, nowS } from "./support/nms-ops.ts";
import { encodeTlvs, decodeTlvs, type TlvInput } from "../host/nms/tlv.ts";
import { generateNmsKeyPair, signPayload } from "../host/nms/sign.ts";
import { readUdpDatagrams } from "../host/pcap.ts";
import { decodeCoap, codeText } from "../host/nms/coap.ts";
import { requireAddress } from "../host/ipv6.ts";

const VECTORS = new URL("../../shared/vectors/", import.meta.url).pathname;
const setting: TlvInput[] = [{ type: "NMSSettings", value: { regIntervalMin: 120, regIntervalMax: 7200 } }];

let world: World;
let device: Device;

async function settings(): Promise<unknown> {
  const a = await exchange(world, device, getTlvs([42]));
  return a.tlvs[0]?.value;
}

beforeEach(() => {
  world = createWorld();
  device = addDevice(world, { nmsKey: nmsKeyHex });
});

/** Re-encodes a signed payload with its last TLV (the Signature) moved first. */
function signatureFirst(payload: Uint8Array): Uint8Array {
  const tlvs = decodeTlvs(payload);
  const sig = tlvs[tlvs.length - 1];
  return Buffer.concat([sig.raw, ...tlvs.slice(0, -1).map((t) => t.raw)]);
}

describe("signature matrix: each case rejected, settings unchanged", () => {
  const cases: [string, string, () => Uint8Array][] = [
    ["no signature", "4.03", () => encodeTlvs(setting)],
    ["bad signature (wrong bytes)", "4.01", () => { const p = signed(world, setting); p[p.length - 5] ^= 1; return p; }],
    ["wrong key", "4.01", () => signed(world, setting, undefined, generateNmsKeyPair())],
    ["signature not last", "4.01", () => Buffer.concat([signed(world, setting), encodeTlvs([{ type: "Uptime", value: {} }])])],
    ["signature first", "4.01", () => signatureFirst(signed(world, setting))],
    ["signed bytes altered", "4.01", () => { const p = signed(world, setting); p[3] ^= 0x01; return p; }],
    ["expired", "4.01", () => signed(world, setting, { notBefore: nowS(world) - 7200, notAfter: nowS(world) - 3600 })],
    ["not yet valid", "4.01", () => signed(world, setting, { notBefore: nowS(world) + 600, notAfter: nowS(world) + 7200 })],
    ["validity missing", "4.03", () => {
      const p = signed(world, setting);
      const tlvs = decodeTlvs(p);
      return Buffer.concat(tlvs.filter((t) => t.type !== 76).map((t) => t.raw));
    }],
    ["truncated DER", "4.01", () => derVariant((der) => der.subarray(0, der.length - 3))],
    ["overlong DER", "4.01", () => derVariant((der) => Buffer.concat([der, Buffer.of(0)]))],
    ["wrong OID", "4.01", () => derVariant((der) => { const d = Buffer.from(der); d[11] ^= 1; return d; })],
  ];
  for (const [name, code, make] of cases) {
    it(name, async () => {
      const before = await settings();
      const a = await exchange(world, device, postTo(make()));
      expect(a.code).toBe(code);
      expect(await settings()).toEqual(before);
      expect(agentLog(device).some((l) => l.startsWith("NMS message rejected"))).toBe(true);
    });
  }

  it("no trusted time: validity cannot be checked, rejected", async () => {
    world = createWorld({ wallSynchronised: false });
    device = addDevice(world, { nmsKey: nmsKeyHex });
    const before = await settings();
    const a = await exchange(world, device, postTo(signPayload(encodeTlvs(setting), nmsKeys, { notBefore: 0, notAfter: 2 ** 32 - 1 })));
    expect(a.code).toBe("4.01");
    expect(await settings()).toEqual(before);
  });

  it("a correctly signed POST is applied (2.01), only its present fields", async () => {
    const a = await exchange(world, device, postTo(signed(world, [{ type: "NMSSettings", value: { regIntervalMax: 9000 } }])));
    expect(a.code).toBe("2.01");
    expect(await settings()).toEqual({ regIntervalMin: 300, regIntervalMax: 9000 });
  });

  it("exempt-only payloads (DescriptionRequest) need no signature", async () => {
    const a = await exchange(world, device, postTo(encodeTlvs([{ type: "DescriptionRequest", value: { tlvid: ["2"] } }])));
    expect(a.code).toBe("2.01");
    expect(a.tlvs.map((t) => t.type)).toEqual([2, 18]); // the asked TLV, then CurrentTime (no session yet)
  });

  it("rejections are counted in EventStats", async () => {
    await exchange(world, device, postTo(encodeTlvs(setting)));
    const stats = (await exchange(world, device, getTlvs([510]))).tlvs[0].value as { cntMed: number };
    expect(stats.cntMed).toBe(1);
  });
});

/** A signed payload whose Signature.value DER is rewritten by f (the signature TLV re-encoded). */
function derVariant(f: (der: Buffer) => Buffer): Uint8Array {
  const p = signed(world, setting);
  const tlvs = decodeTlvs(p);
  const sig = tlvs[tlvs.length - 1];
  const der = Buffer.from((sig.value as { value: Uint8Array }).value);
  return Buffer.concat([...tlvs.slice(0, -1).map((t) => t.raw), encodeTlvs([{ type: "Signature", value: { value: f(der) } }])]);
}

describe("the real FND registration answer (csmp_register.pcap)", () => {
  const datagrams = readUdpDatagrams(`${VECTORS}csmp_register.pcap`);
  const answer = datagrams.find((d) => codeText(decodeCoap(d.payload).code) === "2.03")!;
  const request = datagrams.find((d) => decodeCoap(d.payload).code === 2)!;

  it("parses: ReportSubscribe, SessionID, SignatureValidity, Signature", () => {
    const tlvs = decodeTlvs(decodeCoap(answer.payload).payload);
    expect(tlvs.map((t) => t.name)).toEqual(["ReportSubscribe", "SessionID", "SignatureValidity", "Signature"]);
  });

  it("with verification on, the agent rejects it as a bad signature and stays unregistered", () => {
    // Deliver FND's answer with the message ID of the device's pending registration.
    world.nms.onRequest(() => {}); // the test answers by hand
    let mid = -1;
    world.net.tap((d) => { if (d.dstPort === 61629) mid = decodeCoap(d.payload).mid; });
    world.net.setLink("2001:db8::2", "2001:db8::1", () => []);
    world.clock.runUntil(() => mid >= 0, 3600_000);
    const bytes = Uint8Array.from(answer.payload);
    bytes[2] = mid >> 8; bytes[3] = mid & 0xff;
    world.nmsEndpoint.send(requireAddress(device.address), device.port, bytes);
    world.clock.advance(100);
    const log = agentLog(device);
    // Its validity window (2019-2022) is over too; the agent reports the first failing check.
    expect(log.some((l) => l.startsWith("NMS message rejected: signature check"))).toBe(true);
    expect(log).not.toContain("registered");
    void request;
  });
});
