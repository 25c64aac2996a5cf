// The simulated NMS (host/nms/sim.ts) without the agent: the 2.03 "only what
// differs" rule, signed answers checked with sign.ts's verifier, inventory
// updates from the real registration and answer bytes in the FND captures
// (replayed over the host's LoopNetwork on a virtual clock), report and event
// recording, and the shape of what it sends to devices and groups.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VirtualClock } from "../host/clock.ts";
import { formatAddress, requireAddress } from "../host/ipv6.ts";
import { LoopNetwork, type LoopEndpoint } from "../host/loop-network.ts";
import { readUdpDatagrams } from "../host/pcap.ts";
import { CoapCode, CoapType, decodeCoap, encodeCoap, post as coapPost, uriPath, uriQueries, type CoapMessage } from "../host/nms/coap.ts";
import { CoapTimeoutError } from "../host/nms/client.ts";
import { loadOrCreateNmsKey } from "../host/nms/key-file.ts";
import {
  registeredState, registrationAnswerTlvs, sameSubscription, type DesiredConfiguration, type RegisteredState,
} from "../host/nms/profile.ts";
import { answersRequest, parsePeer, tlvIdText } from "../host/nms/requests.ts";
import { publicKeyFromHex, verifySignedPayload } from "../host/nms/sign.ts";
import { SimulatedNms, type RegistrationEvent, type ReportEvent, type SimulatedNmsOptions } from "../host/nms/sim.ts";
import { registrationLines, reportLines } from "../host/nms/sim-log.ts";
import { decodeTlvs, encodeTlvs, tlvIdOf, type Tlv, type TlvInput } from "../host/nms/tlv.ts";
import { mulberry32 } from "./support/prng.ts";

const VECTORS = "/work/shared/vectors";
const FND_DEVICE = "0A0027FFFE3B2AB2";
/** The NMS address in the captures. */
const NMS_ADDRESS = "2018::2";
const NMS_PORT = 61628;
/** Just after the captured registrations (2020-12-17T02:59:33Z, 05:56:59Z). */
const CAPTURE_WALL_MS = Date.UTC(2020, 11, 17, 6, 0, 0);

interface Captured {
  message: CoapMessage;
  address: string;
  port: number;
}

function captured(file: string): Captured[] {
  return readUdpDatagrams(join(VECTORS, file)).map((d) => ({ message: decodeCoap(d.payload), address: formatAddress(d.src), port: d.srcPort }));
}

/** The real POST /r of the reference agent, from each capture. */
const registerCapture = captured("csmp_register.pcap");
const getCapture = captured("csmp_get.pcap");
const realRegistration = registerCapture.find((c) => uriPath(c.message) === "/r")!;
const secondRegistration = getCapture.find((c) => uriPath(c.message) === "/r")!;
/** A real 2.05 answer with two InterfaceMetrics rows (GET /c?q=23). */
const realMetricsAnswer = (() => {
  const req = getCapture.find((c) => uriQueries(c.message).includes("q=23"))!;
  return getCapture.find((c) => c.message.type === CoapType.Acknowledgement && c.message.mid === req.message.mid && c.message.payload.length > 0)!;
})();

const names = (tlvs: readonly Tlv[]) => tlvs.map((t) => t.name);
const objectOf = (t: Tlv | undefined) => (t && !(t.value instanceof Uint8Array) ? t.value : {}) as Record<string, unknown>;
const find = (tlvs: readonly Tlv[], name: string) => tlvs.find((t) => t.name === name);

/** An NMS on a LoopNetwork at the captures' NMS address, and a raw endpoint at a captured device's. */
class Rig {
  readonly clock = new VirtualClock({ wallStartMs: CAPTURE_WALL_MS, wallSynchronised: true });
  readonly network = new LoopNetwork({ clock: this.clock });
  readonly replies: { message: CoapMessage; from: string }[] = [];
  readonly registrations: RegistrationEvent[] = [];
  readonly reports: ReportEvent[] = [];
  nms!: SimulatedNms;
  private readonly endpoints = new Map<string, LoopEndpoint>();

  async start(options: Omit<SimulatedNmsOptions, "transport" | "client"> = {}): Promise<this> {
    this.nms = await SimulatedNms.bind(this.network, NMS_ADDRESS, NMS_PORT, { clock: this.clock, random: mulberry32(7), ...options });
    this.nms.on("registration", (e) => this.registrations.push(e));
    this.nms.on("report", (e) => this.reports.push(e));
    return this;
  }

  /** Sends a device's datagram (as captured, or built) to the NMS and runs the network. */
  fromDevice(message: CoapMessage, address: string, port: number): void {
    const key = `[${address}]:${port}`;
    let ep = this.endpoints.get(key);
    if (!ep) {
      ep = this.network.bindSync(address, port);
      ep.onReceive((d) => this.replies.push({ message: decodeCoap(d.payload), from: formatAddress(d.src) }));
      this.endpoints.set(key, ep);
    }
    expect(ep.send(requireAddress(NMS_ADDRESS), NMS_PORT, encodeCoap(message))).toBe(0);
    this.clock.advance(10);
  }

  replay(c: Captured): void {
    this.fromDevice(c.message, c.address, c.port);
  }

  lastReply(): CoapMessage {
    expect(this.replies.length).toBeGreaterThan(0);
    return this.replies[this.replies.length - 1].message;
  }
}

/** The NMS's view of a device that reports `have`, wanting `want`. */
function desired(want: Partial<DesiredConfiguration>): DesiredConfiguration {
  return { sessionId: "1", groups: [], ...want };
}

describe("registration answer: only what differs (draft 'Registration')", () => {
  const sub = { interval: 30, tlvid: ["22", "18"] };

  it("a first registration gets SessionID, GroupAssign and ReportSubscribe", () => {
    const tlvs = registrationAnswerTlvs(desired({ groups: [{ type: 1, id: 7 }], reportSubscribe: sub }), { groups: [] });
    expect(tlvs.map((t) => t.type)).toEqual(["SessionID", "GroupAssign", "ReportSubscribe"]);
    expect(tlvs[0].value).toEqual({ id: "1" });
    expect(tlvs[1].value).toEqual({ type: 1, id: 7 });
    expect(tlvs[2].value).toEqual({ interval: 30, tlvid: ["22", "18"] });
  });

  it("a device that already has everything gets nothing", () => {
    const have: RegisteredState = { sessionId: "1", groups: [{ type: 1, id: 7 }], reportSubscribe: { ...sub } };
    expect(registrationAnswerTlvs(desired({ groups: [{ type: 1, id: 7 }], reportSubscribe: sub }), have)).toEqual([]);
  });

  it("each TLV is judged on its own: another session, group id or subscription", () => {
    const want = desired({ groups: [{ type: 1, id: 7 }, { type: 2, id: 3 }], reportSubscribe: sub });
    const have: RegisteredState = { sessionId: "1", groups: [{ type: 1, id: 8 }, { type: 2, id: 3 }], reportSubscribe: { ...sub } };
    expect(registrationAnswerTlvs(want, have).map((t) => [t.type, t.value])).toEqual([["GroupAssign", { type: 1, id: 7 }]]);
    expect(registrationAnswerTlvs(want, { ...have, groups: want.groups, sessionId: "2" }).map((t) => t.type)).toEqual(["SessionID"]);
    const reordered = { ...have, groups: want.groups, reportSubscribe: { interval: 30, tlvid: ["18", "22"] } };
    expect(registrationAnswerTlvs(want, reordered).map((t) => t.type)).toEqual(["ReportSubscribe"]);
  });

  it("heartbeat fields count only when the NMS sets them", () => {
    expect(sameSubscription(sub, { ...sub, intervalHeartBeat: 600, tlvidHeartBeat: ["2"] })).toBe(true);
    expect(sameSubscription({ ...sub, intervalHeartBeat: 600 }, sub)).toBe(false);
    expect(sameSubscription({ ...sub, tlvidHeartBeat: ["2"] }, { ...sub, tlvidHeartBeat: ["2"] })).toBe(true);
  });

  it("no profile subscription: the device keeps its own", () => {
    expect(registrationAnswerTlvs(desired({}), { sessionId: "1", groups: [], reportSubscribe: { interval: 5, tlvid: [] } })).toEqual([]);
  });

  it("reads what a registration reports: last GroupInfo per type wins", () => {
    const payload = encodeTlvs([
      { type: "SessionID", value: { id: "A" } },
      { type: "GroupInfo", value: { type: 1, id: 4 } },
      { type: "GroupInfo", value: { type: 2, id: 9 } },
      { type: "GroupInfo", value: { type: 1, id: 5 } },
      { type: "ReportSubscribe", value: { interval: 60, tlvid: ["22"] } },
    ]);
    expect(registeredState(decodeTlvs(payload))).toEqual({
      sessionId: "A", groups: [{ type: 2, id: 9 }, { type: 1, id: 5 }], reportSubscribe: { interval: 60, tlvid: ["22"] },
    });
  });
});

describe("registrations from the captured reference agent", () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await new Rig().start({ profile: { groups: [{ type: 1, id: 1 }], reportSubscribe: { interval: 30, tlvid: ["22", "18"] } } });
  });
  afterEach(() => rig.nms.close());

  it("answers the real POST /r with a signed 2.03 that verifies with the NMS key", () => {
    rig.replay(realRegistration);
    const ack = rig.lastReply();
    expect(ack.type).toBe(CoapType.Acknowledgement);
    expect(ack.mid).toBe(realRegistration.message.mid);
    expect(ack.code).toBe(CoapCode.Valid);
    const answer = decodeTlvs(ack.payload);
    // The reference agent sends no SessionID, GroupInfo or ReportSubscribe: all three differ.
    expect(names(answer)).toEqual(["SessionID", "GroupAssign", "ReportSubscribe", "SignatureValidity", "Signature"]);
    const now = Math.floor(CAPTURE_WALL_MS / 1000);
    const verdict = verifySignedPayload(ack.payload, publicKeyFromHex(rig.nms.publicKeyHex), { now });
    expect(verdict).toMatchObject({ ok: true, notBefore: now - 60, notAfter: now + 3600 });
    // Someone else's key does not verify it.
    const other = new SimulatedNms({ transport: { send() {}, onMessage() {}, close: async () => {} } });
    expect(verifySignedPayload(ack.payload, publicKeyFromHex(other.publicKeyHex)).ok).toBe(false);
  });

  it("puts the device in the inventory: address, session, identity, time, table rows", () => {
    rig.replay(realRegistration);
    const d = rig.nms.device(FND_DEVICE)!;
    expect(d).toMatchObject({
      eui64: FND_DEVICE, address: "2018::188", port: 46790, coapPort: 61628, sessionId: "1",
      registered: true, registrationAttempts: 1, registrations: 1,
      lastDeviceTime: Date.UTC(2020, 11, 17, 2, 59, 33) / 1000,
    });
    expect(d.desired.groups).toEqual([{ type: 1, id: 1 }]);
    expect(d.metrics.get("16")!.rows).toHaveLength(3);
    expect(objectOf(d.metrics.get("11")!.rows[0]).entPhysicalSerialNum).toBe(FND_DEVICE);
    expect(d.metrics.get("11")!.deviceTime).toBe(d.lastDeviceTime);
    expect(d.metrics.has("7")).toBe(false);
    const e = rig.registrations[0];
    expect(e).toMatchObject({ eui64: FND_DEVICE, outcome: "registered", code: CoapCode.Valid, from: { address: "2018::188", port: 46790 } });
    expect(registrationLines(e)[0]).toContain(`registration from ${FND_DEVICE} at [2018::188]:46790 (attempt 1): 2.03 Valid, session 1`);
  });

  it("keeps the session across registrations and counts them", async () => {
    rig.replay(realRegistration);
    const next = rig.nms.next("registration", (e) => e.from.port === secondRegistration.port);
    rig.replay(secondRegistration); // another capture: new source port, same device
    expect((await next).device!.registrations).toBe(2);
    const d = rig.nms.device(FND_DEVICE)!;
    expect(d).toMatchObject({ sessionId: "1", registrations: 2, registrationAttempts: 2, port: secondRegistration.port });
    expect(objectOf(find(decodeTlvs(rig.lastReply().payload), "SessionID"))).toEqual({ id: "1" });
    expect(rig.nms.devices).toHaveLength(1);
  });

  it("answers a device that has it all with the signing TLVs only", () => {
    rig.replay(realRegistration);
    const extra: TlvInput[] = [
      { type: "SessionID", value: { id: "1" } },
      { type: "GroupInfo", value: { type: 1, id: 1 } },
      { type: "ReportSubscribe", value: { interval: 30, tlvid: ["22", "18"] } },
      { type: "NMSStatus", value: { registered: true, lastRegReason: 2 } },
    ];
    const payload = new Uint8Array([...realRegistration.message.payload, ...encodeTlvs(extra)]);
    rig.fromDevice(coapPost("/r", payload), "2018::188", 46791);
    const answer = decodeTlvs(rig.lastReply().payload);
    expect(names(answer)).toEqual(["SignatureValidity", "Signature"]);
    expect(rig.nms.device(FND_DEVICE)!.lastRegReason).toBe(2);
    expect(rig.registrations[1].lastRegReason).toBe(2);
    expect(registrationLines(rig.registrations[1])[0]).toContain("reason administrative): 2.03 Valid, session 1, nothing to change");
  });

  it("answers unsigned when signing is off", async () => {
    rig.nms.signing = false;
    rig.replay(realRegistration);
    expect(names(decodeTlvs(rig.lastReply().payload))).toEqual(["SessionID", "GroupAssign", "ReportSubscribe"]);
  });

  it("allow-list mode: an unknown device gets 4.03 and no inventory record", () => {
    rig.nms.inventory.admission = "allow-list";
    rig.replay(realRegistration);
    expect(rig.lastReply()).toMatchObject({ code: CoapCode.Forbidden, payload: new Uint8Array(0) });
    expect(rig.nms.device(FND_DEVICE)).toBeUndefined();
    expect(rig.registrations[0]).toMatchObject({ outcome: "forbidden", device: null });
    rig.nms.inventory.allow(FND_DEVICE.toLowerCase());
    rig.replay(secondRegistration);
    expect(rig.lastReply().code).toBe(CoapCode.Valid);
  });

  it("drops, 4.04 and 4.03 on request, for a number of registrations", () => {
    rig.nms.setRegistrationAnswer("drop", { times: 1 });
    rig.replay(realRegistration);
    expect(rig.replies).toHaveLength(0);
    expect(rig.registrations[0]).toMatchObject({ outcome: "dropped", code: null });
    expect(rig.nms.device(FND_DEVICE)).toMatchObject({ registered: false, registrationAttempts: 1, registrations: 0 });

    rig.nms.setRegistrationAnswer("not-found", { device: FND_DEVICE });
    rig.replay(secondRegistration);
    expect(rig.lastReply().code).toBe(CoapCode.NotFound);
    rig.nms.setRegistrationAnswer("forbidden", { device: FND_DEVICE, times: 1 });
    rig.fromDevice({ ...realRegistration.message, mid: 7 }, realRegistration.address, realRegistration.port);
    expect(rig.lastReply().code).toBe(CoapCode.Forbidden);
    rig.fromDevice({ ...realRegistration.message, mid: 8 }, realRegistration.address, realRegistration.port);
    expect(rig.lastReply().code).toBe(CoapCode.Valid);
    expect(rig.nms.device(FND_DEVICE)).toMatchObject({ registered: true, registrationAttempts: 4, registrations: 1 });
  });

  it("redirects once: the 2.03 carries only the signed NMSRedirectRequest", () => {
    rig.nms.redirectNextRegistration("coap://[2001:db8::9]:61628", true);
    rig.replay(realRegistration);
    const answer = decodeTlvs(rig.lastReply().payload);
    expect(names(answer)).toEqual(["NMSRedirectRequest", "SignatureValidity", "Signature"]);
    expect(objectOf(answer[0])).toEqual({ url: "coap://[2001:db8::9]:61628", immediate: true });
    expect(verifySignedPayload(rig.lastReply().payload, publicKeyFromHex(rig.nms.publicKeyHex)).ok).toBe(true);
    expect(rig.nms.device(FND_DEVICE)!.registered).toBe(false);
    expect(rig.registrations[0].outcome).toBe("redirected");
    rig.replay(secondRegistration);
    expect(names(decodeTlvs(rig.lastReply().payload))).toContain("SessionID");
  });

  it("a registration without DeviceID is a 4.00", () => {
    rig.fromDevice(coapPost("/r", encodeTlvs([{ type: "CurrentTime", value: { posix: 1 } }])), "2018::188", 40000);
    expect(rig.lastReply().code).toBe(CoapCode.BadRequest);
    expect(rig.registrations[0].outcome).toBe("malformed");
  });
});

describe("reports and events (POST /c)", () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await new Rig().start();
    rig.replay(realRegistration);
  });
  afterEach(() => rig.nms.close());

  /** A NON POST /c with SessionID, CurrentTime and then `body` (bytes as a device sends them). */
  function report(body: Uint8Array, posix: number, session = "1"): CoapMessage {
    const head = encodeTlvs([{ type: "SessionID", value: { id: session } }, { type: "CurrentTime", value: { posix, source: 1 } }]);
    return { ...coapPost("/c", new Uint8Array([...head, ...body]), { confirmable: false }), mid: posix & 0xffff };
  }

  it("records the real InterfaceMetrics rows under the device's time, and answers nothing", () => {
    const t = Date.UTC(2020, 11, 17, 6, 0, 0) / 1000;
    const replies = rig.replies.length;
    rig.fromDevice(report(realMetricsAnswer.message.payload, t), "2018::188", 46790);
    expect(rig.replies).toHaveLength(replies);
    const d = rig.nms.device(FND_DEVICE)!;
    const m = d.metrics.get("23")!;
    expect(m.rows.map((r) => objectOf(r).ifIndex)).toEqual([1, 2]);
    expect(objectOf(m.rows[1]).ifInOctets).toBe(2640);
    expect(m).toMatchObject({ name: "InterfaceMetrics", deviceTime: t, receivedAtMs: rig.clock.wallTimeMs() - 9 });
    expect(d).toMatchObject({ reports: 1, lastDeviceTime: t });
    expect(rig.reports[0]).toMatchObject({ device: d, answered: false });
    expect(reportLines(rig.reports[0])[0]).toBe(`report #1 from ${FND_DEVICE} at [2018::188]:46790, 4 TLVs`);
  });

  it("a later report replaces that TLV's rows, others stay", () => {
    rig.fromDevice(report(realMetricsAnswer.message.payload, 100), "2018::188", 46790);
    rig.fromDevice(report(encodeTlvs([{ type: "Uptime", value: { sysUpTime: 42 } }]), 200), "2018::188", 46790);
    const d = rig.nms.device(FND_DEVICE)!;
    expect(d.metrics.get("23")!.deviceTime).toBe(100);
    expect(d.metrics.get("22")).toMatchObject({ deviceTime: 200, rows: [expect.objectContaining({ name: "Uptime" })] });
    expect(d.reports).toBe(2);
  });

  it("records EventReports once, counts repeats, emits one event each", () => {
    const events: unknown[] = [];
    rig.nms.on("event", (e) => events.push(e.event));
    const ev = (seq: number, code: number): TlvInput => ({
      type: "EventReport", value: { seqIndex: seq, timestamp: 1_600_000_000 + seq, id: { ianaen: 9, code }, relatedTlvIds: ["22"] },
    });
    rig.fromDevice(report(encodeTlvs([ev(1, 8), ev(2, 1)]), 300), "2018::188", 46790);
    rig.fromDevice(report(encodeTlvs([ev(2, 1)]), 310), "2018::188", 46790); // a high-priority repeat
    const d = rig.nms.device(FND_DEVICE)!;
    expect(d.events).toEqual([
      { seqIndex: 1, timestamp: 1_600_000_001, id: { ianaen: 9, code: 8 }, relatedTlvIds: ["22"], receivedAtMs: expect.any(Number), repeats: 0 },
      { seqIndex: 2, timestamp: 1_600_000_002, id: { ianaen: 9, code: 1 }, relatedTlvIds: ["22"], receivedAtMs: expect.any(Number), repeats: 1 },
    ]);
    expect(d.eventReports).toBe(3);
    expect(events).toHaveLength(2);
    expect(d.metrics.has("500")).toBe(false);
  });

  it("a report with an unknown session is not filed under any device", () => {
    rig.fromDevice(report(new Uint8Array(0), 1, "FFFF"), "2018::188", 46790);
    expect(rig.reports[0].device).toBeNull();
    expect(rig.nms.device(FND_DEVICE)!.reports).toBe(0);
  });

  it("a CON POST /c is acknowledged 2.04; other resources are 4.04", () => {
    rig.fromDevice({ ...report(new Uint8Array(0), 5), type: CoapType.Confirmable }, "2018::188", 46790);
    expect(rig.lastReply().code).toBe(CoapCode.Changed);
    rig.fromDevice({ ...coapPost("/x", new Uint8Array(0)), mid: 77 }, "2018::188", 46790);
    expect(rig.lastReply().code).toBe(CoapCode.NotFound);
  });
});

describe("requests to devices and groups", () => {
  let rig: Rig;
  let sent: { message: CoapMessage; to: string; port: number }[];
  beforeEach(async () => {
    rig = await new Rig().start({ devicePort: 61628 });
    sent = [];
    rig.network.tap((d) => {
      if (formatAddress(d.src) === NMS_ADDRESS) sent.push({ message: decodeCoap(d.payload), to: formatAddress(d.dst), port: d.dstPort });
    });
    rig.replay(realRegistration);
    sent.length = 0;
  });
  afterEach(() => rig.nms.close());

  const verify = (payload: Uint8Array) => verifySignedPayload(payload, publicKeyFromHex(rig.nms.publicKeyHex), { now: Math.floor(rig.clock.wallTimeMs() / 1000) });

  it("GET /c?q=11+12+16 goes CON to the device's CSMP port; no answer is a timeout", async () => {
    const pending = rig.nms.get(FND_DEVICE, [11, "InterfaceDesc", "16"], { timeoutMs: 5000 });
    const failed = expect(pending).rejects.toBeInstanceOf(CoapTimeoutError);
    rig.clock.advance(6000);
    await failed;
    expect(sent[0].to).toBe("2018::188");
    expect(sent[0].port).toBe(61628);
    expect(sent[0].message.type).toBe(CoapType.Confirmable);
    expect(uriPath(sent[0].message)).toBe("/c");
    expect(uriQueries(sent[0].message)).toEqual(["q=11+12+16"]);
    expect(sent[0].message.token.length).toBeGreaterThan(0);
  });

  it("GET /c without ids, and GET /c/{id} by path", async () => {
    void rig.nms.get({ address: "2001:db8::5", port: 5683 }, [], { timeoutMs: 10 }).catch(() => {});
    void rig.nms.get("[2001:db8::5]:5683", [75], { byPath: true, timeoutMs: 10 }).catch(() => {});
    rig.clock.advance(20);
    expect(sent.map((s) => [uriPath(s.message), uriQueries(s.message), s.port])).toEqual([["/c", [], 5683], ["/c/75", [], 5683]]);
  });

  it("a signed POST puts SignatureValidity and Signature last, and they verify", async () => {
    void rig.nms.setReportSubscription(FND_DEVICE, { interval: 30, tlvid: ["22", "CurrentTime"] }, { timeoutMs: 10 }).catch(() => {});
    rig.clock.advance(20);
    const m = sent[0].message;
    expect(m.type).toBe(CoapType.Confirmable);
    const tlvs = decodeTlvs(m.payload);
    expect(names(tlvs)).toEqual(["ReportSubscribe", "SignatureValidity", "Signature"]);
    expect(objectOf(tlvs[0])).toEqual({ interval: 30, tlvid: ["22", "18"], tlvidHeartBeat: [] });
    const now = Math.floor(rig.clock.wallTimeMs() / 1000);
    expect(verify(m.payload)).toMatchObject({ ok: true, notBefore: now - 60, notAfter: now + 3600 });
  });

  it("command helpers build the TLVs CSMP defines", async () => {
    const o = { timeoutMs: 10 };
    const calls = [
      rig.nms.setRegIntervals(FND_DEVICE, { max: 7200 }, o),
      rig.nms.setSignatureSettings(FND_DEVICE, { reqTimeSyncPost: false }, o),
      rig.nms.redirect(FND_DEVICE, "coap://[2001:db8::9]:61628", false, o),
      rig.nms.reboot(FND_DEVICE, 0, o),
      rig.nms.subscribeEvents(FND_DEVICE, [{ ianaen: 9, code: 1 }, { code: 8 }], o),
      rig.nms.setTime(FND_DEVICE, 1_700_000_000, o),
      rig.nms.assignGroup(FND_DEVICE, { type: 2, id: 4 }, o),
      rig.nms.evictGroup(FND_DEVICE, { type: 1 }, o),
    ];
    for (const c of calls) c.catch(() => {});
    rig.clock.advance(20);
    const first = sent.map((s) => decodeTlvs(s.message.payload)[0]);
    expect(first.map((t) => [t.name, objectOf(t)])).toEqual([
      ["NMSSettings", { regIntervalMax: 7200 }],
      ["SignatureSettings", { reqTimeSyncPost: false }],
      ["NMSRedirectRequest", { url: "coap://[2001:db8::9]:61628", immediate: false }],
      ["RebootRequest", { flag: 0 }],
      ["EventSubscribe", { id: [{ ianaen: 9, code: 1 }, { code: 8 }] }],
      ["CurrentTime", { posix: 1_700_000_000 }],
      ["GroupAssign", { type: 2, id: 4 }],
      ["GroupEvict", { type: 1 }],
    ]);
    for (const s of sent) expect(verify(s.message.payload).ok).toBe(true);
  });

  it("a multicast POST is NON with GroupMatch first, and needs one", async () => {
    await expect(rig.nms.post("ff05::1", [{ type: "RebootRequest", value: { flag: 0 } }])).rejects.toThrow(/GroupMatch/);
    const r = await rig.nms.post("ff05::1", [{ type: "RebootRequest", value: { flag: 0 } }], { groupMatch: { type: 1, id: 3 } });
    expect(r).toEqual({ code: null, tlvs: [], answers: [] });
    rig.clock.advance(5);
    const m = sent[0].message;
    expect(sent[0]).toMatchObject({ to: "ff05::1", port: 61628 });
    expect(m.type).toBe(CoapType.NonConfirmable);
    expect(names(decodeTlvs(m.payload))).toEqual(["GroupMatch", "RebootRequest", "SignatureValidity", "Signature"]);
    expect(verify(m.payload).ok).toBe(true);
  });

  it("a multicast GET needs a; it is NON with q and a", async () => {
    await expect(rig.nms.get("ff05::1", [22])).rejects.toThrow(/a option/);
    const pending = rig.nms.get("ff05::1", [22], { a: 3 });
    rig.clock.advance(3000 + 5000);
    expect(await pending).toEqual({ code: null, tlvs: [], answers: [] });
    expect(sent[0].message.type).toBe(CoapType.NonConfirmable);
    expect(uriQueries(sent[0].message)).toEqual(["q=22", "a=3"]);
  });

  it("GET with a resolves with the device's asynchronous answer (a NON POST /c), not with an unrelated report", async () => {
    const pending = rig.nms.get(FND_DEVICE, [23], { a: 10 });
    const answer = (ids: Uint8Array, mid: number) => ({
      ...coapPost("/c", new Uint8Array([...encodeTlvs([{ type: "SessionID", value: { id: "1" } }]), ...ids]), { confirmable: false }), mid,
    });
    rig.fromDevice(answer(encodeTlvs([{ type: "Uptime", value: { sysUpTime: 1 } }]), 500), "2018::188", 46790);
    rig.fromDevice(answer(realMetricsAnswer.message.payload, 501), "2018::188", 46790);
    const r = await pending;
    expect(r.code).toBeNull();
    expect(r.answers).toHaveLength(1);
    expect(r.answers[0]).toMatchObject({ eui64: FND_DEVICE, code: null });
    expect(names(r.tlvs)).toEqual(["SessionID", "InterfaceMetrics", "InterfaceMetrics"]);
    expect(rig.reports.map((e) => e.answered)).toEqual([false, true]);
    expect(uriQueries(sent[0].message)).toEqual(["q=23", "a=10"]);
    expect(sent[0].message.type).toBe(CoapType.NonConfirmable);
  });

  it("successful configuration POSTs update what the NMS wants the device to have", async () => {
    const pending = rig.nms.assignGroup(FND_DEVICE, { type: 1, id: 9 }, { confirmable: false });
    await pending;
    expect(rig.nms.device(FND_DEVICE)!.desired.groups).toEqual([{ type: 1, id: 9 }]);
    await rig.nms.setReportSubscription(FND_DEVICE, { interval: 60, tlvid: ["22"] }, { confirmable: false });
    await rig.nms.evictGroup(FND_DEVICE, { type: 1, id: 8 }, { confirmable: false }); // another id: stays
    expect(rig.nms.device(FND_DEVICE)!.desired).toMatchObject({ groups: [{ type: 1, id: 9 }], reportSubscribe: { interval: 60, tlvid: ["22"] } });
    // The next registration asks for exactly that.
    rig.replay(secondRegistration);
    const answer = decodeTlvs(rig.lastReply().payload);
    expect(names(answer).slice(0, 3)).toEqual(["SessionID", "GroupAssign", "ReportSubscribe"]);
    expect(objectOf(answer[1])).toEqual({ type: 1, id: 9 });
  });

  it("close() fails what is pending", async () => {
    const pending = rig.nms.get(FND_DEVICE, [22], { a: 60 });
    await rig.nms.close();
    await expect(pending).rejects.toThrow(/closed/);
  });
});

describe("helpers", () => {
  it("tlvIdText and parsePeer accept what people type", () => {
    expect([22, "22", "Uptime", "e9.1", "EventReport"].map(tlvIdText)).toEqual(["22", "22", "22", "e9.1", "500"]);
    expect(() => tlvIdText("22x")).toThrow();
    expect(parsePeer("[::1]:61629")).toEqual({ address: "::1", port: 61629 });
    expect(parsePeer("2001:DB8::1")).toEqual({ address: "2001:db8::1", port: 61628 });
    expect(() => parsePeer("[::1]:0")).toThrow();
  });

  it("answersRequest: requested TLVs plus SessionID and CurrentTime only", () => {
    const tlvs = (...list: TlvInput[]) => decodeTlvs(encodeTlvs(list));
    const session = { type: "SessionID", value: { id: "1" } };
    const uptime = { type: "Uptime", value: { sysUpTime: 1 } };
    const time = { type: "CurrentTime", value: { posix: 1 } };
    expect(answersRequest(tlvs(session, time, uptime), new Set(["22"]))).toBe(true);
    expect(answersRequest(tlvs(session, time), new Set(["22"]))).toBe(false);
    expect(answersRequest(tlvs(session, uptime, { type: "DeviceID", value: { id: "x" } }), new Set(["22"]))).toBe(false);
    expect(answersRequest(tlvs(session, time), new Set(["18"]))).toBe(true);
    expect(tlvs(uptime).map(tlvIdOf)).toEqual(["22"]);
  });

  it("the NMS key survives in a PEM file; a SimulatedNms from it has the same public key", () => {
    const dir = mkdtempSync(join(tmpdir(), "nms-key-"));
    try {
      const file = join(dir, "state", "nms-key.pem");
      const first = loadOrCreateNmsKey(file);
      const again = loadOrCreateNmsKey(file);
      expect(first.created).toBe(true);
      expect(again.created).toBe(false);
      expect(again.publicKeyHex).toBe(first.publicKeyHex);
      expect(first.publicKeyHex).toMatch(/^04[0-9a-f]{128}$/);
      const nms = new SimulatedNms({ transport: { send() {}, onMessage() {}, close: async () => {} }, key: readFileSync(file, "utf8") });
      expect(nms.publicKeyHex).toBe(first.publicKeyHex);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
