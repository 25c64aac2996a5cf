// POST /c commands and settings, groups and multicast, asynchronous
// answers, alarms, and re-registration triggers, end to end in virtual time.
import { describe, it, expect, beforeEach } from "vitest";
import { createWorld, addDevice, agentLog, type World, type Device } from "./support/testbed.ts";
import { exchange, signed, postTo, getTlvs, nmsKeyHex } from "./support/nms-ops.ts";
import { decodeCoap, parseCodeText, CoapType, uriPath, get, post, type CoapMessage } from "../host/nms/coap.ts";
import { decodeTlvs, encodeTlvs, type Tlv, type TlvInput } from "../host/nms/tlv.ts";
import { requireAddress } from "../host/ipv6.ts";
import { encodeCoap } from "../host/nms/coap.ts";

const H = 3600_000;
const GROUP = "ff03::1";

let world: World;
let device: Device;
/** Device-originated POST /c messages the NMS received (reports, events, async answers). */
let posts: { at: number; tlvs: Tlv[] }[];

function register(d: Device, answer: TlvInput[] = [{ type: "SessionID", value: { id: "sess-1" } }]): void {
  world.clock.runUntil(() => agentLog(d).includes("registered"), 2 * H);
  expect(agentLog(d)).toContain("registered");
  void answer;
}

beforeEach(() => {
  world = createWorld();
  posts = [];
  world.nms.onRequest((req) => {
    if (req.path === "/r") req.respond(parseCodeText("2.03"), signed(world, [{ type: "SessionID", value: { id: "sess-1" } }]));
    else if (req.path === "/c") posts.push({ at: world.clock.nowMs(), tlvs: decodeTlvs(req.payload) });
  });
  device = addDevice(world, { nmsKey: nmsKeyHex, extra: { "mcast.1": GROUP } });
});

/** Exactly one device POST /c arrived, within withinMs of t0, carrying these TLV types in order. */
function expectOneAnswer(t0: number, withinMs: number, types: number[]): void {
  expect(posts).toHaveLength(1);
  expect(posts[0].at - t0).toBeLessThanOrEqual(withinMs);
  expect(posts[0].tlvs.map((t) => t.type)).toEqual(types);
}

/** Sends raw CoAP to an address (a multicast group too) and runs time; returns the device's direct answers. */
function sendRaw(msg: CoapMessage, to = device.address): CoapMessage[] {
  const got: CoapMessage[] = [];
  const untap = world.net.tap((d) => { if (d.srcPort === device.port && d.dstPort === 61629) got.push(decodeCoap(d.payload)); });
  world.nmsEndpoint.send(requireAddress(to), device.port, encodeCoap(msg));
  world.clock.advance(100);
  untap();
  return got;
}

describe("settings", () => {
  it("NMSSettings changes the registration intervals durably", async () => {
    register(device);
    expect((await exchange(world, device, postTo(signed(world, [{ type: "NMSSettings", value: { regIntervalMin: 60, regIntervalMax: 600 } }])))).code).toBe("2.01");
    device.host.powerCycle();
    expect((await exchange(world, device, getTlvs([42]))).tlvs[0].value).toEqual({ regIntervalMin: 60, regIntervalMax: 600 });
  });

  it("refuses a schedule that cannot work (max below min) and changes nothing", async () => {
    await exchange(world, device, postTo(signed(world, [{ type: "NMSSettings", value: { regIntervalMin: 900, regIntervalMax: 600 } }])));
    expect((await exchange(world, device, getTlvs([42]))).tlvs[0].value).toEqual({ regIntervalMin: 300, regIntervalMax: 3600 });
  });

  it("ReportSubscribe to a registered device is answered 2.01, then the first report follows", async () => {
    register(device);
    posts = [];
    const a = await exchange(world, device, postTo(signed(world, [{ type: "ReportSubscribe", value: { interval: 60, tlvid: ["22", "18"] } }])));
    expect(a.code).toBe("2.01");
    world.clock.advance(1000);
    expect(posts).toHaveLength(1);
    expect(posts[0].tlvs.map((t) => t.type)).toEqual([7, 18, 22]); // CurrentTime once, though subscribed
  });

  it("a retransmitted CON POST (same message ID) is answered again but applied once (RFC 7252 section 4.5)", () => {
    register(device);
    posts = [];
    const msg = { ...postTo(signed(world, [{ type: "ReportSubscribe", value: { interval: 600, tlvid: ["22"] } }])), mid: 4242, token: Uint8Array.of(1) };
    const acks = (ms: CoapMessage[]) => ms.filter((m) => m.type === CoapType.Acknowledgement);
    const first = acks(sendRaw(msg));
    const second = acks(sendRaw(msg));
    expect(first).toHaveLength(1);
    expect(second).toEqual(first);
    world.clock.advance(1000);
    expect(posts).toHaveLength(1); // one first report: the subscription was applied once
    // A NON duplicate is dropped.
    const non = { ...postTo(signed(world, [{ type: "ReportSubscribe", value: { interval: 700, tlvid: ["22"] } }]), false), mid: 4343 };
    sendRaw(non);
    sendRaw(non);
    world.clock.advance(1000);
    expect(posts).toHaveLength(2);
  });

  it("the last of duplicate TLVs wins", async () => {
    await exchange(world, device, postTo(signed(world, [
      { type: "NMSSettings", value: { regIntervalMax: 1000 } },
      { type: "NMSSettings", value: { regIntervalMax: 2000 } },
    ])));
    expect((await exchange(world, device, getTlvs([42]))).tlvs[0].value).toMatchObject({ regIntervalMax: 2000 });
  });

  it("a malformed TLV rejects the whole POST (4.00) and nothing of it applies", async () => {
    const good = encodeTlvs([{ type: "NMSSettings", value: { regIntervalMax: 1234 } }]);
    const bad = Uint8Array.of(55, 3, 0x08, 0xff, 0xff); // GroupAssign with a truncated varint
    const now = Math.floor(world.clock.wallTimeMs() / 1000);
    const { signPayload } = await import("../host/nms/sign.ts");
    const { nmsKeys } = await import("./support/nms-ops.ts");
    const p = signPayload(Buffer.concat([good, bad]), nmsKeys, { notBefore: now - 1, notAfter: now + 60 });
    expect((await exchange(world, device, postTo(p))).code).toBe("4.00");
    expect((await exchange(world, device, getTlvs([42]))).tlvs[0].value).toMatchObject({ regIntervalMax: 3600 });
  });

  it("CurrentTime from the NMS sets the device clock", async () => {
    await exchange(world, device, postTo(signed(world, [{ type: "CurrentTime", value: { posix: 2_000_000_000 } }])));
    const t = (await exchange(world, device, getTlvs([18]))).tlvs[0].value as { posix: number };
    expect(t.posix - 2_000_000_000).toBeLessThan(5);
  });

  it("NMSRedirectRequest by POST: immediate registers with the new NMS now, otherwise on the usual schedule; until reboot", async () => {
    register(device);
    const second = world.net.bindSync("2001:db8::99", 61628);
    const atSecond: { at: number; reason: number }[] = [];
    second.onReceive((d) => {
      const m = decodeCoap(d.payload);
      if (uriPath(m) === "/r") atSecond.push({ at: world.clock.nowMs(), reason: (decodeTlvs(m.payload).find((t) => t.type === 43)!.value as { lastRegReason: number }).lastRegReason });
    });
    const redirect = (immediate: boolean) => exchange(world, device, postTo(signed(world, [{ type: "NMSRedirectRequest", value: { url: "coap://[2001:db8::99]:61628", immediate } }])));
    let t0 = world.clock.nowMs();
    expect((await redirect(true)).code).toBe("2.01");
    world.clock.advance(1000);
    expect(atSecond).toHaveLength(1);
    expect(atSecond[0].at - t0).toBeLessThan(1000);
    expect(atSecond[0].reason).toBe(5);
    t0 = world.clock.nowMs();
    expect((await redirect(false)).code).toBe("2.01");
    world.clock.runUntil(() => atSecond.length > 1, 2 * H);
    // The draft's start: a random [0, tIntervalMin] lead-in, then a send in the second half of tIntervalMin.
    expect(atSecond[1].at - t0).toBeGreaterThanOrEqual(150_000);
    expect(atSecond[1].at - t0).toBeLessThanOrEqual(600_000);
    expect(atSecond[1].reason).toBe(5);
    // Not persisted: after a reboot the configured NMS again.
    device.host.powerCycle();
    const before = atSecond.length;
    register(device);
    expect(atSecond).toHaveLength(before);
  });

  it("RebootRequest: answered first, then the device restarts and re-registers (reason 2, administrative)", async () => {
    register(device);
    const reasons: number[] = [];
    world.net.tap((d) => {
      const m = decodeCoap(d.payload);
      if (uriPath(m) === "/r") reasons.push((decodeTlvs(m.payload).find((t) => t.type === 43)!.value as { lastRegReason: number }).lastRegReason);
    });
    const boots = device.host.bootCount;
    const a = await exchange(world, device, postTo(signed(world, [{ type: "RebootRequest", value: { flag: 0 } }])));
    expect(a.code).toBe("2.01");
    world.clock.runUntil(() => device.host.bootCount > boots, 60_000);
    expect(device.host.bootCount).toBe(boots + 1);
    world.clock.advance(10);
    // SysResetStats: the first boot (power-on), then the NMS's reboot.
    expect((await exchange(world, device, getTlvs([86]))).tlvs[0].value).toEqual({
      total: 2, hardwareReset: { total: 1, powerOnReset: 1 }, softwareReset: { total: 1, CSMPRebootReset: 1 },
    });
    const unsupported = await exchange(world, device, postTo(signed(world, [{ type: "RebootRequest", value: { flag: 1 } }])));
    expect(unsupported.code).toBe("4.04");
    world.clock.runUntil(() => reasons.length > 0, 2 * H);
    expect(reasons).toEqual([2]);
    // A power cut is a cold start again.
    device.host.powerCycle();
    world.clock.runUntil(() => reasons.length > 1, 2 * H);
    expect(reasons).toEqual([2, 1]);
  });
});

describe("groups and multicast", () => {
  it("GroupAssign (unicast) is durable; multicast POSTs apply only with a matching GroupMatch", async () => {
    register(device);
    expect((await exchange(world, device, postTo(signed(world, [{ type: "GroupAssign", value: { type: 1, id: 5 } }])))).code).toBe("2.01");
    device.host.powerCycle();
    expect((await exchange(world, device, getTlvs([58]))).tlvs[0].value).toEqual({ type: 1, id: 5 });
    // FND also GETs GroupAssign (csmp_get.pcap): the same rows.
    expect((await exchange(world, device, getTlvs([55]))).tlvs.map((t) => [t.type, t.value])).toEqual([[55, { type: 1, id: 5 }]]);

    const setMax = (max: number, match?: { type: number; id: number }) => {
      const tlvs: TlvInput[] = match ? [{ type: "GroupMatch", value: match }] : [];
      tlvs.push({ type: "NMSSettings", value: { regIntervalMax: max } });
      return { ...postTo(signed(world, tlvs), false), mid: max & 0xffff };
    };
    // Multicast answers nothing directly (RFC 7252 section 8.1), so check the effect.
    expect(sendRaw(setMax(4000), GROUP)).toEqual([]);                          // no GroupMatch: ignored
    expect(sendRaw(setMax(4100, { type: 1, id: 6 }), GROUP)).toEqual([]);      // other group: ignored
    expect((await exchange(world, device, getTlvs([42]))).tlvs[0].value).toMatchObject({ regIntervalMax: 3600 });
    sendRaw(setMax(4200, { type: 1, id: 5 }), GROUP);                         // our group: applied
    expect((await exchange(world, device, getTlvs([42]))).tlvs[0].value).toMatchObject({ regIntervalMax: 4200 });
  });

  it("GroupAssign and GroupEvict are never accepted by multicast", async () => {
    register(device);
    await exchange(world, device, postTo(signed(world, [{ type: "GroupAssign", value: { type: 1, id: 5 } }])));
    sendRaw({ ...postTo(signed(world, [{ type: "GroupMatch", value: { type: 1, id: 5 } }, { type: "GroupEvict", value: { type: 1, id: 5 } }]), false), mid: 77 }, GROUP);
    expect((await exchange(world, device, getTlvs([58]))).tlvs[0].value).toEqual({ type: 1, id: 5 });
    // By unicast it is.
    await exchange(world, device, postTo(signed(world, [{ type: "GroupEvict", value: { type: 1, id: 5 } }])));
    expect((await exchange(world, device, getTlvs([58]))).tlvs).toEqual([]);
  });

  it("GroupEvict leaves a group only when its id matches, or whatever the id when none is given", async () => {
    register(device);
    const post = (tlv: TlvInput) => exchange(world, device, postTo(signed(world, [tlv])));
    await post({ type: "GroupAssign", value: { type: 1, id: 5 } });
    await post({ type: "GroupAssign", value: { type: 2, id: 9 } });
    expect((await post({ type: "GroupEvict", value: { type: 1, id: 6 } })).code).toBe("2.01"); // another id: stays
    expect((await exchange(world, device, getTlvs([58]))).tlvs.map((t) => t.value)).toEqual([{ type: 1, id: 5 }, { type: 2, id: 9 }]);
    await post({ type: "GroupEvict", value: { type: 1 } });                                     // no id: whatever it is
    expect((await exchange(world, device, getTlvs([58]))).tlvs.map((t) => t.value)).toEqual([{ type: 2, id: 9 }]);
  });

  it("keeps group types 1 to 4, one id each; GroupAssign of another type is logged and ignored (2.01)", async () => {
    register(device);
    const post = (tlvs: TlvInput[]) => exchange(world, device, postTo(signed(world, tlvs)));
    const a = await post([1, 2, 3, 4, 5].map((type) => ({ type: "GroupAssign", value: { type, id: 10 + type } })));
    expect(a.code).toBe("2.01");
    expect(agentLog(device)).toContain("GroupAssign: unsupported group type 5");
    await post([{ type: "GroupAssign", value: { type: 3, id: 99 } }]); // replaces that type's id
    expect((await exchange(world, device, getTlvs([58]))).tlvs.map((t) => t.value)).toEqual([
      { type: 1, id: 11 }, { type: 2, id: 12 }, { type: 3, id: 99 }, { type: 4, id: 14 },
    ]);
  });

  it("a multicast GET without `a` has nobody to answer: nothing is sent", () => {
    register(device);
    posts = [];
    const got = sendRaw({ ...get("/c", ["q=2"]), type: CoapType.NonConfirmable, mid: 98 }, GROUP);
    world.clock.advance(30_000);
    expect(got).toEqual([]);
    expect(posts).toEqual([]);
  });

  it("a multicast GET with `a` is answered by a NON POST to the NMS within a seconds", async () => {
    register(device);
    await exchange(world, device, postTo(signed(world, [{ type: "GroupAssign", value: { type: 1, id: 5 } }])));
    posts = [];
    const t0 = world.clock.nowMs();
    const msg = { ...get("/c", ["q=2+22", "a=10"]), type: CoapType.NonConfirmable, mid: 99 };
    expect(sendRaw(msg, GROUP)).toEqual([]);
    world.clock.advance(11_000);
    expectOneAnswer(t0, 10_100, [7, 18, 2, 22]);
  });

  it("draws the `a` delay from all of [0, a] (the reference agent waits a/2..2a)", () => {
    register(device);
    const delays: number[] = [];
    for (let i = 0; i < 30; i++) {
      posts = [];
      const t0 = world.clock.nowMs();
      sendRaw({ ...get("/c", ["q=22", "a=10"]), type: CoapType.NonConfirmable, mid: 500 + i });
      world.clock.advance(10_900);
      expect(posts).toHaveLength(1);
      delays.push(posts[0].at - t0);
    }
    expect(Math.max(...delays)).toBeLessThanOrEqual(10_100);
    expect(delays.filter((d) => d < 5000).length).toBeGreaterThan(5);
    expect(delays.filter((d) => d > 5000).length).toBeGreaterThan(5);
  });

  it("a unicast NON POST gets no CoAP answer; its outputs go out at once by NON POST, SessionID and CurrentTime first", () => {
    register(device);
    posts = [];
    const t0 = world.clock.nowMs();
    const got = sendRaw({ ...postTo(encodeTlvs([{ type: "DescriptionRequest", value: { tlvid: ["22", "2"] } }]), false), mid: 31 });
    expect(got.filter((m) => m.code >= 64)).toEqual([]); // no response, only the device's own POST
    expectOneAnswer(t0, 99, [7, 18, 22, 2]);
  });

  it("a request arriving while an asynchronous answer waits joins it: one answer, at the first one's time", () => {
    register(device);
    posts = [];
    const t0 = world.clock.nowMs();
    sendRaw({ ...get("/c", ["q=2", "a=20"]), type: CoapType.NonConfirmable, mid: 41 });
    sendRaw({ ...get("/c", ["q=22", "a=1"]), type: CoapType.NonConfirmable, mid: 42 });
    world.clock.advance(21_000);
    expectOneAnswer(t0, 20_200, [7, 18, 2, 22]);
  });

  it("the `r` option sends the asynchronous answer to another URL", async () => {
    const other = world.net.bindSync("2001:db8::77", 5683);
    const got: Tlv[][] = [];
    other.onReceive((d) => { const m = decodeCoap(d.payload); if (uriPath(m) === "/c") got.push(decodeTlvs(m.payload)); });
    const msg = { ...get("/c", ["q=2", "a=0", "r=coap://[2001:db8::77]:5683"]), type: CoapType.NonConfirmable, mid: 5 };
    sendRaw(msg);
    world.clock.advance(1000);
    expect(got).toHaveLength(1);
    expect(got[0].map((t) => t.type)).toEqual([18, 2]);
  });

  it("a PingRequest with `r` sends its PingResponse to that URL, later pings to the NMS again", async () => {
    register(device);
    world.net.bindSync("2001:db8::50", 7); // a neighbour that answers echoes
    const other = world.net.bindSync("2001:db8::77", 5683);
    const got: Tlv[][] = [];
    other.onReceive((d) => { const m = decodeCoap(d.payload); if (uriPath(m) === "/c") got.push(decodeTlvs(m.payload)); });
    const ping = (count: number) => signed(world, [{ type: "PingRequest", value: { dest: "2001:db8::50", count, delay: 1 } }]);
    posts = [];
    // NON, as FND sends PingRequest; a CON would get an empty ACK and nothing more here.
    sendRaw({ ...post("/c", ping(2), { confirmable: false, query: ["r=coap://[2001:db8::77]:5683"] }), mid: 31 });
    await settle(10_000);
    expect(got.flatMap((tlvs) => tlvs).find((t) => t.type === 31)?.value).toMatchObject({ sent: 2, received: 2 });
    expect(posts.flatMap((p) => p.tlvs).some((t) => t.type === 31)).toBe(false);
    // Without `r` the next result goes to the NMS, not to the earlier URL.
    got.length = 0;
    await exchange(world, device, postTo(ping(1)));
    await settle(10_000);
    expect(posts.flatMap((p) => p.tlvs).find((t) => t.type === 31)?.value).toMatchObject({ sent: 1, received: 1 });
    expect(got).toEqual([]);
  });
});

describe("alarms", () => {
  it("a subscribed host event reaches the NMS within a second, unsubscribed ones do not", async () => {
    register(device);
    const sub = await exchange(world, device, postTo(signed(world, [{ type: "EventSubscribe", value: { id: [{ ianaen: 0, code: 3 }] } }])));
    expect(sub.code).toBe("2.01");
    posts = [];
    const t0 = world.clock.nowMs();
    expect(device.host.raiseEvent(3)).toBe(0); // tamper: subscribed
    expect(device.host.raiseEvent(6, 16)).toBe(0); // IP changed: not subscribed
    world.clock.advance(1000);
    const events = posts.filter((p) => p.tlvs.some((t) => t.type === 500));
    expect(events, agentLog(device).slice(-8).join("\n")).toHaveLength(1);
    expect(events[0].at - t0).toBeLessThan(1000);
    const report = events[0].tlvs.find((t) => t.type === 500)!.value as { seqIndex: number; id: { code: number } };
    expect(report.id.code).toBe(3);
    expect(report.seqIndex).toBe(1);
    // A related TLV is named in relatedTlvIds, for the NMS to read; its value is not sent along.
    posts = [];
    await exchange(world, device, postTo(signed(world, [{ type: "EventSubscribe", value: { id: [{ ianaen: 0, code: 6 }] } }])));
    expect(device.host.raiseEvent(6, 16)).toBe(0);
    world.clock.advance(1000);
    const withRelated = posts.find((p) => p.tlvs.some((t) => t.type === 500))!;
    expect(withRelated.tlvs.map((t) => t.type)).toEqual([7, 18, 500]);
    expect(withRelated.tlvs[2].value).toMatchObject({ seqIndex: 2, relatedTlvIds: ["16"] });
    expect(device.host.raiseEvent(999)).toBe(-1);
  });

  it("events raised before registration are sent after it; the queue bound holds under a storm", async () => {
    // Subscribe first, then reboot so the device is unregistered while events happen.
    register(device);
    await exchange(world, device, postTo(signed(world, [{ type: "EventSubscribe", value: { id: [{ ianaen: 0, code: 6 }] } }])));
    world.net.setLink(device.address, "2001:db8::1", () => []); // the NMS is unreachable
    device.host.powerCycle();
    world.clock.advance(1); // the restart happens at the next clock turn
    for (let i = 0; i < 50; i++) device.host.raiseEvent(6);
    world.net.setLink(device.address, "2001:db8::1", null);
    posts = [];
    world.clock.runUntil(() => posts.some((p) => p.tlvs.some((t) => t.type === 500)), 4 * H);
    world.clock.advance(1000);
    const seqs = posts.flatMap((p) => p.tlvs.filter((t) => t.type === 500)).map((t) => (t.value as { seqIndex: number }).seqIndex);
    expect(seqs).toEqual([43, 44, 45, 46, 47, 48, 49, 50]); // the newest 8; the oldest were dropped
  });

  it("high-priority events repeat until the NMS talks to the device", async () => {
    register(device);
    await exchange(world, device, postTo(signed(world, [{ type: "EventSubscribe", value: { id: [{ ianaen: 0, code: 1 }] } }])));
    posts = [];
    device.host.raiseEvent(1); // power outage: high priority
    world.clock.advance(35_000);
    expect(posts.filter((p) => p.tlvs.some((t) => t.type === 500)).length).toBe(3); // at 0, 10, 30 s
    await exchange(world, device, getTlvs([22])); // the NMS talks
    world.clock.advance(120_000);
    expect(posts.filter((p) => p.tlvs.some((t) => t.type === 500)).length).toBe(3);
  });
});

/** Runs virtual time, letting promise callbacks (a ping's completion) run in between. */
async function settle(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 500) { world.clock.advance(500); await Promise.resolve(); await Promise.resolve(); }
}

describe("platform TLVs and network tests", () => {
  it("PingRequest: the platform pings for real (across the links here) and the result reaches the NMS", async () => {
    register(device);
    world.net.bindSync("2001:db8::50", 7); // a neighbour that answers echoes
    posts = [];
    const a = await exchange(world, device, postTo(signed(world, [{ type: "PingRequest", value: { dest: "2001:db8::50", count: 3, delay: 1 } }])));
    expect(a.code).toBe("2.01");
    await settle(10_000);
    const r = posts.flatMap((p) => p.tlvs).find((t) => t.type === 31)!.value as Record<string, number>;
    expect(r).toMatchObject({ sent: 3, received: 3 });
    expect(r.meanRtt).toBeGreaterThan(0);
    // An address nobody has: all lost.
    posts = [];
    await exchange(world, device, postTo(signed(world, [{ type: "PingRequest", value: { dest: "2001:db8::51", count: 2 } }])));
    await settle(10_000);
    expect(posts.flatMap((p) => p.tlvs).find((t) => t.type === 31)!.value).toMatchObject({ sent: 2 });
    // Neither count nor delay: 5 echoes, 1 s apart.
    posts = [];
    const t0 = world.clock.nowMs();
    await exchange(world, device, postTo(signed(world, [{ type: "PingRequest", value: { dest: "2001:db8::50" } }])));
    await settle(10_000);
    expect(posts.flatMap((p) => p.tlvs).find((t) => t.type === 31)!.value).toMatchObject({ sent: 5, received: 5 });
    expect(posts[0].at - t0).toBeGreaterThanOrEqual(4_000);
  });

  it("PingRequest: GET 31 is empty before any ping and then serves the last result; a second request while one runs is refused", async () => {
    register(device);
    world.net.bindSync("2001:db8::50", 7);
    const get31 = async () => (await exchange(world, device, getTlvs([31]))).tlvs;
    expect(await get31()).toEqual([]);
    const ping = (count: number) => exchange(world, device, postTo(signed(world, [{ type: "PingRequest", value: { dest: "2001:db8::50", count, delay: 1 } }])));
    expect((await ping(3)).code).toBe("2.01");
    expect((await ping(7)).code).toBe("2.01"); // still answered
    expect(agentLog(device)).toContain("ping could not be started");
    await settle(10_000);
    expect((await get31()).map((t) => t.value)).toEqual([expect.objectContaining({ sent: 3, received: 3 })]);
  });

  it("NetworkRole: an empty TLV is preference 0 (the field is not in a oneof)", async () => {
    const seen: string[] = [];
    world = createWorld();
    device = addDevice(world, { nmsKey: nmsKeyHex, onHostTlv: (type, _pen, _sub, value) => { seen.push(`${type}/${value.length}`); return 0; } });
    expect((await exchange(world, device, postTo(signed(world, [{ type: "NetworkRole", value: {} }])))).code).toBe("2.01");
    expect(seen).toEqual(["141/0"]);
    const role = (await exchange(world, device, getTlvs([141]))).tlvs;
    expect(role.map((t) => t.type)).toEqual([141]);
    expect((role[0].value as { preference?: number }).preference ?? 0).toBe(0);
  });

  it("MplReset is not applied (no MPL statistics here): 4.04", async () => {
    expect((await exchange(world, device, postTo(signed(world, [{ type: "MplReset", value: { stats: true } }])))).code).toBe("4.04");
  });

  it("NetworkRole and vendor TLVs go to the platform; NetworkRole is kept and served", async () => {
    const seen: string[] = [];
    world = createWorld();
    world.nms.onRequest((req) => { if (req.path === "/r") req.respond(parseCodeText("2.03")); });
    device = addDevice(world, {
      nmsKey: nmsKeyHex,
      onHostTlv: (type, pen, subtype, value) => { seen.push(`${type}/${pen}/${subtype}/${Buffer.from(value).toString("hex")}`); return pen === 666 ? -8 : 0; },
    });
    const vendor = { type: 127, pen: 26866, vendorType: 16, value: Uint8Array.of(1, 2) };
    const a = await exchange(world, device, postTo(signed(world, [{ type: "NetworkRole", value: { preference: 2 } }, vendor as never])));
    expect(a.code).toBe("2.01");
    expect(seen).toEqual(["141/0/0/0802", "127/26866/16/0102"]);
    device.host.powerCycle();
    world.clock.advance(10);
    expect((await exchange(world, device, getTlvs([141]))).tlvs[0].value).toEqual({ preference: 2 });
  });
});

describe("re-registration triggers", () => {
  it("host events and configuration updates restart registration with the draft's reasons", () => {
    register(device);
    const regs: number[] = [];
    world.net.tap((d) => {
      const m = decodeCoap(d.payload);
      if (uriPath(m) === "/r") regs.push((decodeTlvs(m.payload).find((t) => t.type === 43)!.value as { lastRegReason: number }).lastRegReason);
    });
    device.host.raiseEvent(6, 16); // IP address changed
    world.clock.runUntil(() => regs.length >= 1, 2 * H);
    // A new NMS address through a configuration update.
    expect(device.host.updateConfig("nms.url=coap://[2001:db8::1]:61629\n")).toBe(0);
    world.clock.runUntil(() => regs.length >= 2, 2 * H);
    device.host.raiseEvent(2); // power restored
    world.clock.runUntil(() => regs.length >= 3, 2 * H);
    expect(regs).toEqual([3, 4, 8]);
  });

  it("a configuration update that does not fit the agent's buffer is refused with -3, and nothing is raised on a stopped device", () => {
    register(device);
    expect(device.host.updateConfig(`# ${"x".repeat(4096)}\n`)).toBe(-3);
    expect(device.host.updateConfig("# still room for a short one\n")).toBe(0);
    device.host.stop();
    expect(() => device.host.raiseEvent(3)).toThrow(/no agent running/);
    expect(() => device.host.updateConfig("hw.name=x\n")).toThrow(/no agent running/);
  });
});
