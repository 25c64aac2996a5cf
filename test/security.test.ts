// Signed NMS messages: every way a POST can fail its signature checks is
// rejected with state unchanged; the real FND 2.03 answer parses and, its
// key being unknown, is rejected as a bad signature.
import { describe, it, expect, beforeEach } from "vitest";
import { createWorld, addDevice, agentLog, type World, type Device } from "./support/testbed.ts";
import { exchange, signed, postTo, getTlvs, nmsKeys, nmsKeyHex, nowS } from "./support/nms-ops.ts";
import { encodeTlvs, decodeTlvs, type TlvInput } from "../host/nms/tlv.ts";
import { generateNmsKeyPair, signPayload, encodeSignatureValue } from "../host/nms/sign.ts";
import { sign as cryptoSign } from "node:crypto";
import { readUdpDatagrams } from "../host/pcap.ts";
import { decodeCoap, encodeCoap, codeText, parseCodeText, uriPath } from "../host/nms/coap.ts";
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

/** A payload signed by keys without SignatureValidity (for reqValidCheckPost off). */
function signedWithoutValidity(tlvs: TlvInput[], keys = nmsKeys): Uint8Array {
  const body = encodeTlvs(tlvs);
  const ecdsa = cryptoSign("sha256", body, { key: keys.privateKey, dsaEncoding: "der" });
  return Buffer.concat([body, encodeTlvs([{ type: "Signature", value: { value: encodeSignatureValue(ecdsa) } }])]);
}

describe("processing order: signature, then GroupMatch, then the TLVs (draft)", () => {
  const truncated = Uint8Array.of(55, 3, 0x08, 0xff, 0xff); // GroupAssign with a truncated varint
  const otherGroup: TlvInput = { type: "GroupMatch", value: { type: 1, id: 42 } };
  it("a bad or missing signature is reported before a foreign GroupMatch or a bad TLV", async () => {
    expect((await exchange(world, device, postTo(Buffer.concat([encodeTlvs([otherGroup]), truncated])))).code).toBe("4.03");
    const bad = signed(world, [otherGroup, ...setting]);
    bad[bad.length - 5] ^= 1;
    expect((await exchange(world, device, postTo(bad))).code).toBe("4.01");
  });
  it("a foreign GroupMatch (unicast CON: 4.00) is reported before a TLV the device does not apply (4.04)", async () => {
    const uptime: TlvInput = { type: "Uptime", value: { sysUpTime: 1 } };
    expect((await exchange(world, device, postTo(signed(world, [otherGroup, uptime])))).code).toBe("4.00");
    expect((await exchange(world, device, postTo(signed(world, [uptime])))).code).toBe("4.04");
    expect((await exchange(world, device, postTo(signed(world, [otherGroup, ...setting])))).code).toBe("4.00");
    expect(await settings()).toEqual({ regIntervalMin: 300, regIntervalMax: 3600 });
  });
});

describe("NON requests that fail the checks", () => {
  it("get no CoAP answer and send nothing to the NMS (no CGMSNotification), state unchanged", async () => {
    const out: { dstPort: number; payload: Uint8Array }[] = [];
    world.net.tap((d) => { if (d.srcPort === device.port) out.push(d); });
    const bad = signed(world, setting);
    bad[bad.length - 5] ^= 1;
    const cases = [
      bad,                                                                                       // bad signature
      encodeTlvs(setting),                                                                       // unsigned
      signed(world, [{ type: "GroupMatch", value: { type: 1, id: 42 } }, ...setting]),           // another group
      signed(world, [{ type: "Uptime", value: { sysUpTime: 1 } }]),                              // not applied by the device
    ];
    cases.forEach((p, i) => world.nmsEndpoint.send(requireAddress(device.address), device.port, encodeCoap({ ...postTo(p, false), mid: 300 + i })));
    world.clock.advance(30_000);
    expect(out.filter((d) => uriPath(decodeCoap(d.payload)) !== "/r")).toEqual([]);
    expect(await settings()).toEqual({ regIntervalMin: 300, regIntervalMax: 3600 });
  });
});

describe("SignatureSettings (79)", () => {
  const allOn = { reqSignedPost: true, reqValidCheckPost: true, reqTimeSyncPost: true, reqSignedResp: true, reqValidCheckResp: true, reqTimeSyncResp: true };

  it("ships with signatures, validity and trusted time required for POSTs and registration answers (reqSecLocal* unset)", async () => {
    expect((await exchange(world, device, getTlvs([79]))).tlvs[0].value).toEqual(allOn);
  });

  it("a POST changes the enforced settings, only its present fields, durably; cert is not kept and the key stays", async () => {
    const other = generateNmsKeyPair();
    const { publicKeyBytes } = await import("../host/nms/sign.ts");
    const a = await exchange(world, device, postTo(signed(world, [{ type: "SignatureSettings", value: { reqValidCheckPost: false, cert: publicKeyBytes(other) } }])));
    expect(a.code).toBe("2.01");
    const expected = { ...allOn, reqValidCheckPost: false };
    expect((await exchange(world, device, getTlvs([79]))).tlvs[0].value).toEqual(expected);
    // Enforced: a signature without SignatureValidity now passes, with the provisioned key only.
    expect((await exchange(world, device, postTo(signedWithoutValidity(setting)))).code).toBe("2.01");
    expect((await exchange(world, device, postTo(signedWithoutValidity(setting, other)))).code).toBe("4.01");
    expect((await exchange(world, device, postTo(encodeTlvs(setting)))).code).toBe("4.03"); // reqSignedPost untouched
    device.host.powerCycle();
    world.clock.advance(10);
    expect((await exchange(world, device, getTlvs([79]))).tlvs[0].value).toEqual(expected);
    expect((await exchange(world, device, postTo(signedWithoutValidity([{ type: "NMSSettings", value: { regIntervalMax: 5000 } }])))).code).toBe("2.01");
    expect(await settings()).toEqual({ regIntervalMin: 120, regIntervalMax: 5000 });
  });

  it("reqTimeSyncPost off: without trusted time only the window check is skipped", async () => {
    // Turned off while the device has time, then the device boots where there is none.
    await exchange(world, device, postTo(signed(world, [{ type: "SignatureSettings", value: { reqTimeSyncPost: false } }])));
    const storage = device.storage;
    device.host.stop();
    world = createWorld({ wallSynchronised: false });
    device = addDevice(world, { nmsKey: nmsKeyHex, storage });
    const stale = signPayload(encodeTlvs(setting), nmsKeys, { notBefore: 1, notAfter: 2 });
    expect((await exchange(world, device, postTo(stale))).code).toBe("2.01");
    expect(await settings()).toEqual({ regIntervalMin: 120, regIntervalMax: 7200 });
    const forged = signPayload(encodeTlvs(setting), generateNmsKeyPair(), { notBefore: 1, notAfter: 2 });
    expect((await exchange(world, device, postTo(forged))).code).toBe("4.01");
  });
});

describe("registration answers with nms.key", () => {
  function registeredWith(answer: () => Uint8Array): boolean {
    world.nms.onRequest((req) => { if (req.path === "/r") req.respond(parseCodeText("2.03"), answer()); });
    world.clock.runUntil(() => agentLog(device).includes("registered"), 2 * 3600_000);
    return agentLog(device).includes("registered");
  }

  it("an unsigned 2.03, even an empty one, is not accepted; a signed one is", () => {
    expect(registeredWith(() => new Uint8Array())).toBe(false);
    expect(agentLog(device)).toContain("NMS message rejected: signing TLVs missing");
    expect(registeredWith(() => encodeTlvs([{ type: "SessionID", value: { id: "x" } }]))).toBe(false);
    expect(registeredWith(() => signed(world, [{ type: "SessionID", value: { id: "x" } }]))).toBe(true);
  });

  it("with reqSignedResp off (SignatureSettings), an empty 2.03 is accepted", async () => {
    await exchange(world, device, postTo(signed(world, [{ type: "SignatureSettings", value: { reqSignedResp: false } }])));
    expect(registeredWith(() => new Uint8Array())).toBe(true);
  });
});

describe("without nms.key", () => {
  it("logs at start that unsigned NMS messages are accepted, and accepts them", async () => {
    world = createWorld();
    device = addDevice(world);
    expect(agentLog(device)).toContain("no NMS public key provisioned (nms.key): signatures cannot be checked, unsigned NMS messages are accepted");
    expect((await exchange(world, device, postTo(encodeTlvs(setting)))).code).toBe("2.01");
    expect(await settings()).toEqual({ regIntervalMin: 120, regIntervalMax: 7200 });
  });
});
