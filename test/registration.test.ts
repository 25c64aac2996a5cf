// Registration end to end in virtual time: the draft's backoff schedule,
// completion under loss, the payload, and what the 2.03 answer stores.
import { describe, it, expect } from "vitest";
import { createWorld, addDevice, agentLog, type World } from "./support/testbed.ts";
import { decodeCoap, encodeCoap, codeText, parseCodeText, CoapType, uriPath } from "../host/nms/coap.ts";
import { exchange, getTlvs } from "./support/nms-ops.ts";
import { requireAddress } from "../host/ipv6.ts";
import { decodeTlvs, encodeTlvs, type Tlv } from "../host/nms/tlv.ts";
import type { IncomingRequest } from "../host/nms/client.ts";
import { mulberry32 } from "./support/prng.ts";

const S = 1000;
const H = 3600 * S;

/** Times (virtual ms) and payloads of every POST /r the device sends. */
function watchRegistrations(world: World) {
  const sends: { at: number; tlvs: Tlv[]; mid: number }[] = [];
  world.net.tap((d) => {
    if (d.dstPort !== 61629) return;
    const m = decodeCoap(d.payload);
    if (uriPath(m) === "/r") sends.push({ at: world.clock.nowMs(), tlvs: decodeTlvs(m.payload), mid: m.mid });
  });
  return sends;
}

/** The NMS answers registrations with 2.03 and the given TLVs. */
function answerRegistrations(world: World, answer: (req: IncomingRequest) => Uint8Array = () => new Uint8Array()) {
  world.nms.onRequest((req) => {
    if (req.path === "/r") req.respond(parseCodeText("2.03"), answer(req));
  });
}

describe("registration schedule", () => {
  it("under total loss, every attempt falls in its window and the interval doubles to tIntervalMax", () => {
    const world = createWorld();
    const sends = watchRegistrations(world);
    world.net.setLink("2001:db8::2", "2001:db8::1", () => []); // nothing reaches the NMS
    addDevice(world);
    world.clock.advance(30 * H);
    // tIntervalMin 300 s, tIntervalMax 3600 s: periods 300, 600, 1200, 2400, 3600, 3600, ...
    const periods = sends.map((_, k) => Math.min(300 * 2 ** k, 3600) * S);
    expect(sends.length).toBeGreaterThan(8);
    // The lead-in (random [0, 300 s]) is unknown; one value must explain every send.
    let lo = 0, hi = 300 * S, start = 0;
    sends.forEach((s, k) => {
      lo = Math.max(lo, s.at - start - periods[k]);
      hi = Math.min(hi, s.at - start - periods[k] / 2);
      start += periods[k];
    });
    expect(lo).toBeLessThanOrEqual(hi);
    // Each attempt is a new CON (new message ID), never a retransmission.
    expect(new Set(sends.map((s) => s.mid)).size).toBe(sends.length);
    // From the fifth period on the interval stays at the maximum.
    const gaps = sends.slice(5).map((s, i) => s.at - sends[4 + i].at);
    for (const g of gaps) expect(g).toBeLessThanOrEqual(2 * 3600 * S);
  });

  it("completes under 30 % loss in both directions", () => {
    const world = createWorld();
    const rnd = mulberry32(30);
    world.net.defaultLink = () => (rnd() < 0.3 ? [] : [20]);
    answerRegistrations(world);
    const device = addDevice(world);
    const done = world.clock.runUntil(() => agentLog(device).includes("registered"), 48 * H);
    expect(done).toBe(true);
  });

  it("starts with the CON POST /r payload the draft asks for", () => {
    const world = createWorld();
    const sends = watchRegistrations(world);
    answerRegistrations(world);
    addDevice(world, { extra: { "wpan.panid": 7, "rpl.enabled": 1 } });
    world.clock.runUntil(() => sends.length > 0, H);
    const names = sends[0].tlvs.map((t) => t.name);
    expect(names).toEqual(["DeviceID", "CurrentTime", "HardwareDesc", "InterfaceDesc", "IPAddress", "NMSStatus", "WPANStatus", "RPLSettings"]);
    const status = sends[0].tlvs.find((t) => t.name === "NMSStatus")!.value as Record<string, unknown>;
    expect(status).toMatchObject({ registered: false, lastRegReason: 1 });
    const time = sends[0].tlvs[1].value as { posix: number };
    expect(time.posix).toBeGreaterThan(1_700_000_000);
  });

  it("leaves out what does not fit the payload budget: DeviceID and CurrentTime come first and always fit", () => {
    const world = createWorld();
    const sends = watchRegistrations(world);
    answerRegistrations(world);
    addDevice(world, { mtu: 128, hardware: { descr: "x".repeat(200) } });
    world.clock.runUntil(() => sends.length > 0, H);
    const names = sends[0].tlvs.map((t) => t.name);
    expect(names.slice(0, 2)).toEqual(["DeviceID", "CurrentTime"]);
    expect(names).not.toContain("HardwareDesc"); // too large: left out, the smaller ones after it still go
    expect(names).toContain("InterfaceDesc");
    expect(sends[0].tlvs.reduce((n, t) => n + t.raw.length, 0)).toBeLessThanOrEqual(128);
  });
});

describe("the 2.03 answer", () => {
  it("a 2.03 carrying a TLV the device does not take from a registration answer fails as a whole (as the reference agent)", () => {
    const world = createWorld();
    const sends = watchRegistrations(world);
    let answers = 0;
    answerRegistrations(world, () => (answers++ === 0
      ? encodeTlvs([{ type: "SessionID", value: { id: "s-1" } }, { type: "NMSSettings", value: { regIntervalMax: 900 } }])
      : new Uint8Array()));
    const device = addDevice(world);
    world.clock.runUntil(() => agentLog(device).includes("registered"), 2 * H);
    expect(agentLog(device)).toContain("NMS message rejected: TLV not supported 42");
    expect(sends.length).toBe(2); // the first answer counted as none; the second attempt registered
    expect(sends[1].tlvs.map((t) => t.name)).not.toContain("SessionID"); // nothing of the failed answer was kept
  });

  it("stores SessionID, GroupAssign and ReportSubscribe durably; they come back after a reboot", () => {
    const world = createWorld();
    const sends = watchRegistrations(world);
    answerRegistrations(world, () => encodeTlvs([
      { type: "SessionID", value: { id: "s-42" } },
      { type: "GroupAssign", value: { type: 1, id: 77 } },
      { type: "ReportSubscribe", value: { interval: 600, tlvid: ["22"] } },
    ]));
    const device = addDevice(world);
    world.clock.runUntil(() => agentLog(device).includes("registered"), H);
    device.host.powerCycle();
    world.clock.runUntil(() => sends.length >= 2, 2 * H);
    const names = sends[1].tlvs.map((t) => t.name);
    expect(names.slice(0, 5)).toEqual(["DeviceID", "CurrentTime", "SessionID", "GroupInfo", "ReportSubscribe"]);
    expect(sends[1].tlvs[2].value).toEqual({ id: "s-42" });
    expect(sends[1].tlvs[3].value).toEqual({ type: 1, id: 77 });
    expect(sends[1].tlvs[4].value).toMatchObject({ interval: 600, tlvid: ["22"] });
  });

  for (const refusal of ["4.03", "4.04"]) {
    it(`${refusal} keeps the device on its doubling schedule, with its SessionID, and records the NMS error as the reason`, () => {
      const world = createWorld();
      const sends = watchRegistrations(world);
      let refuse = false;
      world.nms.onRequest((req) => {
        if (req.path !== "/r") return;
        if (refuse) req.respond(parseCodeText(refusal));
        else req.respond(parseCodeText("2.03"), encodeTlvs([{ type: "SessionID", value: { id: "s-7" } }]));
      });
      const device = addDevice(world);
      world.clock.runUntil(() => agentLog(device).includes("registered"), H);
      refuse = true;
      device.host.powerCycle();
      const from = sends.length;
      world.clock.runUntil(() => sends.length >= from + 4, 6 * H);
      const tries = sends.slice(from);
      expect(tries).toHaveLength(4);
      expect(agentLog(device).some((l) => l.startsWith(`registration refused: ${refusal.replace(".0", ".")}`))).toBe(true);
      // Not reset to tIntervalMin, no spinning: attempt k+1 comes at least period k after attempt k (300, 600, 1200 s).
      for (let k = 0; k < 3; k++) expect(tries[k + 1].at - tries[k].at).toBeGreaterThanOrEqual(300 * 2 ** k * S);
      // The session is kept (the draft says nothing; the reference agent keeps it too).
      for (const t of tries) expect(t.tlvs.find((x) => x.name === "SessionID")?.value).toEqual({ id: "s-7" });
      const status = tries[3].tlvs.find((t) => t.name === "NMSStatus")!.value as Record<string, unknown>;
      expect(status).toMatchObject({ registered: false, lastRegReason: 6 });
    });
  }

  it("a redirect sends the device to the named NMS, once (not persisted)", () => {
    const world = createWorld();
    const sends = watchRegistrations(world);
    const second = world.net.bindSync("2001:db8::99", 61628);
    const atSecond: number[] = [];
    const statusAtSecond: Record<string, unknown>[] = [];
    second.onReceive((d) => {
      atSecond.push(d.srcPort);
      statusAtSecond.push(decodeTlvs(decodeCoap(d.payload).payload).find((t) => t.name === "NMSStatus")!.value as Record<string, unknown>);
    });
    let redirected = false;
    answerRegistrations(world, () => {
      if (redirected) return new Uint8Array();
      redirected = true;
      return encodeTlvs([{ type: "NMSRedirectRequest", value: { url: "coap://[2001:db8::99]:61628", immediate: true } }]);
    });
    const device = addDevice(world);
    world.clock.runUntil(() => atSecond.length > 0, H);
    expect(atSecond.length).toBeGreaterThan(0);
    expect(agentLog(device).some((l) => l === "registration started, reason 5")).toBe(true);
    // NMSStatus: configured NMS (origin 1) first, then the redirected one (origin 2), reason 5.
    expect(sends[0].tlvs.find((t) => t.name === "NMSStatus")!.value).toMatchObject({ NMSAddrOrigin: 1, lastRegReason: 1 });
    expect(statusAtSecond[0]).toMatchObject({ NMSAddrOrigin: 2, lastRegReason: 5 });
    expect(Buffer.from(statusAtSecond[0].NMSAddr as Uint8Array).equals(requireAddress("2001:db8::99"))).toBe(true);
    // After a reboot the configured NMS is used again.
    device.host.powerCycle();
    const before = atSecond.length;
    world.clock.runUntil(() => agentLog(device).filter((l) => l === "registered").length >= 1, 2 * H);
    expect(atSecond.length).toBe(before);
  });
});

describe("registered", () => {
  it("an error answer from the NMS to a report restarts registration with reason 6 (NMS error), as the reference agent", () => {
    const world = createWorld();
    const sends = watchRegistrations(world);
    let lost = false;
    world.nms.onRequest((req) => {
      if (req.path === "/r") req.respond(parseCodeText("2.03"), encodeTlvs([{ type: "ReportSubscribe", value: { interval: 60, tlvid: ["22"] } }]));
      else if (req.path === "/c" && lost) req.respond(parseCodeText("4.04")); // a NON 4.04: the NMS no longer knows the device
    });
    const device = addDevice(world);
    world.clock.runUntil(() => agentLog(device).includes("registered"), H);
    world.clock.advance(10 * 60 * S);
    expect(sends).toHaveLength(1); // reports go out, answered by nobody: nothing to do
    lost = true;
    world.clock.runUntil(() => sends.length >= 2, 2 * H);
    expect(sends).toHaveLength(2);
    expect(agentLog(device).filter((l) => l === "registration started, reason 6")).toHaveLength(1);
    expect(sends[1].tlvs.find((t) => t.name === "NMSStatus")!.value).toMatchObject({ registered: false, lastRegReason: 6 });
  });

  it("an error from another address does not unregister the device", () => {
    const world = createWorld();
    answerRegistrations(world);
    const device = addDevice(world);
    world.clock.runUntil(() => agentLog(device).includes("registered"), H);
    const other = world.net.bindSync("2001:db8::66", 61629);
    other.send(requireAddress(device.address), device.port, encodeCoap({ type: CoapType.NonConfirmable, code: parseCodeText("4.04"), mid: 9, token: new Uint8Array(), options: [], payload: new Uint8Array() }));
    world.clock.advance(100);
    expect(agentLog(device)).not.toContain("registration started, reason 6");
  });

  it("NMSStatus counts lastReg in seconds since the success and nextReg in seconds to the next attempt (draft)", async () => {
    const world = createWorld();
    const sends = watchRegistrations(world);
    answerRegistrations(world);
    const device = addDevice(world);
    world.clock.runUntil(() => agentLog(device).includes("registered"), H);
    const first = sends[0].tlvs.find((t) => t.name === "NMSStatus")!.value as Record<string, number>;
    expect(first.lastReg).toBeUndefined(); // never registered before
    expect(first.nextReg).toBe(300);       // the first period, tIntervalMin
    world.clock.advance(90 * S);
    const status = (await exchange(world, device, getTlvs([43]))).tlvs[0].value as Record<string, unknown>;
    expect(status).toMatchObject({ registered: true, lastReg: 90 });
    expect(status.nextReg).toBeUndefined();
  });
});

describe("metrics", () => {
  it("sends the first report right after registration, then one per period, and heartbeats on theirs", () => {
    const world = createWorld();
    const reports: { at: number; tlvs: Tlv[] }[] = [];
    world.nms.onRequest((req) => {
      if (req.path === "/r") {
        req.respond(parseCodeText("2.03"), encodeTlvs([
          { type: "SessionID", value: { id: "m-1" } },
          { type: "ReportSubscribe", value: { interval: 60, tlvid: ["22", "11", "9999"], intervalHeartBeat: 600, tlvidHeartBeat: ["2"] } },
        ]));
      } else if (req.path === "/c" && req.message.type === CoapType.NonConfirmable) {
        reports.push({ at: world.clock.nowMs(), tlvs: decodeTlvs(req.payload) });
      }
    });
    const device = addDevice(world);
    world.clock.runUntil(() => agentLog(device).includes("registered"), H);
    const registeredAt = world.clock.nowMs();
    world.clock.advance(3600 * S);
    const primary = reports.filter((r) => r.tlvs.some((t) => t.type === 22));
    const heartbeat = reports.filter((r) => r.tlvs.some((t) => t.type === 2));
    // First ones at once, with SessionID and CurrentTime first; unknown 9999 left out.
    expect(primary[0].at - registeredAt).toBeLessThan(1000);
    expect(primary[0].tlvs.map((t) => t.type)).toEqual([7, 18, 22, 11]);
    expect(heartbeat[0].tlvs.map((t) => t.type)).toEqual([7, 18, 2]);
    // One per period afterwards: about 60 per hour and 6 per hour.
    expect(primary.length).toBeGreaterThanOrEqual(59);
    expect(primary.length).toBeLessThanOrEqual(62);
    expect(heartbeat.length).toBeGreaterThanOrEqual(6);
    expect(heartbeat.length).toBeLessThanOrEqual(8);
    for (let i = 2; i < primary.length; i++) expect(primary[i].at - primary[i - 1].at).toBeLessThanOrEqual(120 * S);
  });
});

void codeText;
