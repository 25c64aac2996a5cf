// The agent and the simulated NMS over a hostile mesh (host/netsim): 30 %
// loss in each direction, 2-10 s one-way latency, duplicates and reordering.
// Registration, signed configuration POSTs (the NMS client's CON
// retransmissions, and an NMS-level retry when an exchange times out),
// metrics and a firmware transfer all still complete. Duplicated requests
// are answered identically and applied once (RFC 7252 section 4.5).
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createWorld, addDevice, agentLog, NMS_ADDR, type World, type Device } from "./support/testbed.ts";
import { SimulatedNms } from "../host/nms/sim.ts";
import { CoapCode, CoapType, decodeCoap, encodeCoap, get, post } from "../host/nms/coap.ts";
import { encodeTlvs, type Tlv, type TlvInput } from "../host/nms/tlv.ts";
import { signPayload } from "../host/nms/sign.ts";
import { requireAddress } from "../host/ipv6.ts";
import { MemoryStorage } from "../host/storage.ts";
import { makeHostile, totalStats, type HostileLinkOptions, type HostileNetworkOptions, type LinkStats } from "../host/netsim/link-model.ts";
import { drive, retry } from "../host/netsim/drive.ts";
import type { Datagram } from "../host/network.ts";

const VECTORS = new URL("../../shared/vectors/", import.meta.url).pathname;
const IMAGE_68 = readFileSync(`${VECTORS}opencsmp-node-6.8-sample-image.bin`);
const IMAGE_69 = readFileSync(`${VECTORS}opencsmp-node-6.9-sample-image.bin`);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();
const S = 1000;
const H = 3600 * S;
const BLOCK = 512;
/** One exchange's worst case: RFC 7252 MAX_TRANSMIT_WAIT (93 s) plus slack for the latency. */
const EXCHANGE_MS = 120 * S;

const HOSTILE: HostileLinkOptions = { loss: 0.3, delayS: [2, 10], duplicate: 0.05, reorder: 0.1, extraDelayS: [1, 4] };

interface Rig {
  world: World;
  nms: SimulatedNms;
  device: Device;
  eui: string;
  reports: { at: number; tlvs: Tlv[] }[];
}

/** An NMS and one device (6.8 running) on a LoopNetwork made hostile by `links(deviceAddress)`. */
function rig(seed: number, links: (device: string) => HostileNetworkOptions): Rig & { stats: () => LinkStats } {
  const world = createWorld({ seed });
  const nms = new SimulatedNms({ client: world.nms, clock: world.clock });
  const storage = new MemoryStorage({ slotSizes: [64 * 1024, 64 * 1024, 64 * 1024] });
  storage.installImage(0, IMAGE_68);
  const eui = `00173BAB${seed.toString(16).padStart(8, "0").toUpperCase()}`;
  const device = addDevice(world, { eui64: eui, storage, seed, nmsKey: nms.publicKeyHex, extra: { "fw.hwid": "OPENCSMP" } });
  // Nothing was sent yet (registration waits its lead-in), so every datagram crosses the hostile links.
  const hostile = makeHostile(world.net, links(device.address));
  const reports: Rig["reports"] = [];
  nms.on("report", (e) => reports.push({ at: world.clock.nowMs(), tlvs: e.tlvs }));
  return { world, nms, device, eui, reports, stats: () => totalStats([...hostile.values()]) };
}

function registered(r: Rig, within: number): void {
  const ok = r.world.clock.runUntil(() => agentLog(r.device).includes("registered"), within);
  expect(ok, agentLog(r.device).slice(-5).join("\n")).toBe(true);
}

/** A signed CON POST as an NMS makes it: CoAP retransmits, the NMS retries an exchange that timed out. */
async function configure(r: Rig, tlvs: TlvInput[]) {
  return retry(6, () => drive(r.world.clock, r.nms.post(r.eui, tlvs), EXCHANGE_MS));
}

async function read(r: Rig, ids: number[]): Promise<Tlv[]> {
  return (await retry(6, () => drive(r.world.clock, r.nms.get(r.eui, ids), EXCHANGE_MS))).tlvs;
}

function value(tlvs: Tlv[], type: number): Record<string, unknown> | undefined {
  const t = tlvs.find((x) => x.type === type);
  return t && !(t.value instanceof Uint8Array) ? t.value : undefined;
}

/**
 * Blocks still missing in the upload slot: FirmwareImageInfo index 1 gives a
 * window of the bitmap (MSB first) starting at bitmapOffset, the first byte
 * with a gap; blocks before it are in, blocks past the window count as missing.
 */
async function missingBlocks(r: Rig, blocks: number): Promise<number[]> {
  const rows = (await read(r, [75])).filter((t) => t.type === 75).map((t) => t.value as Record<string, unknown>);
  const upload = rows.find((x) => x.index === 1) ?? {};
  const bitmap = (upload.bitmap as Uint8Array | undefined) ?? new Uint8Array(0);
  const offset = (upload.bitmapOffset as number | undefined) ?? 0;
  return [...Array(blocks).keys()].filter((n) => n >= offset && !((bitmap[(n - offset) >> 3] ?? 0) & (0x80 >> ((n - offset) & 7))));
}

describe("over a mesh with 30 % loss and 2-10 s latency", () => {
  it("registration, signed configuration, metrics and a firmware update all complete", async () => {
    const t0 = performance.now();
    const r = rig(7, () => ({ defaults: HOSTILE, seed: 7 }));
    const clock = r.world.clock;
    registered(r, 24 * H);

    // Configuration: every answer is 2.01 and a GET reads the values back.
    expect((await configure(r, [{ type: "NMSSettings", value: { regIntervalMin: 600, regIntervalMax: 7200 } }])).code).toBe(CoapCode.Created);
    expect((await configure(r, [{ type: "GroupAssign", value: { type: 1, id: 9 } }])).code).toBe(CoapCode.Created);
    expect((await configure(r, [{ type: "EventSubscribe", value: { id: [{ ianaen: 26484, code: 1 }, { ianaen: 26484, code: 3 }] } }])).code).toBe(CoapCode.Created);
    const cfg = await read(r, [42, 58]);
    expect(value(cfg, 42)).toEqual({ regIntervalMin: 600, regIntervalMax: 7200 });
    expect(value(cfg, 58)).toEqual({ type: 1, id: 9 });

    // Metrics: Uptime every 5 min, DeviceID heartbeat every 15 min, for two hours.
    expect((await configure(r, [{ type: "ReportSubscribe", value: { interval: 300, tlvid: ["22"], intervalHeartBeat: 900, tlvidHeartBeat: ["2"] } }])).code).toBe(CoapCode.Created);
    const from = clock.nowMs();
    clock.advance(2 * H);
    const got = r.reports.filter((x) => x.at >= from);
    const uptimes = got.filter((x) => x.tlvs.some((t) => t.type === 22)).length;
    const heartbeats = got.filter((x) => x.tlvs.some((t) => t.type === 2)).length;
    const sent = r.device.logs.filter((e) => e.monoMs >= from && /^(report|heartbeat) sent/.test(e.text)).length;
    // About 24 reports and 8 heartbeats go out; each crosses the lossy uplink once (NON).
    expect(sent).toBeGreaterThanOrEqual(28);
    expect(uptimes).toBeGreaterThan(0);
    expect(heartbeats).toBeGreaterThan(0);
    expect((uptimes + heartbeats) / sent).toBeGreaterThan(0.5);

    // Firmware: TransferRequest (signed CON), ImageBlocks as a NON stream, the
    // bitmap read back and the gaps resent until the image is complete, then a load.
    const blocks = Math.ceil(IMAGE_69.length / BLOCK);
    const transfer = await configure(r, [{ type: "TransferRequest", value: {
      hwInfo: { hwId: "OPENCSMP" }, fileHash: sha(IMAGE_69), fileName: "opencsmp-node", version: "6.9.99", fileSize: IMAGE_69.length, blockSize: BLOCK,
    } }]);
    expect(value(transfer.tlvs, 71)?.response ?? 0).toBe(0);
    let missing = [...Array(blocks).keys()];
    let rounds = 0;
    while (missing.length && rounds++ < 20) {
      for (const n of missing) {
        await r.nms.post(r.eui, [{ type: "ImageBlock", value: { fileHash: sha(IMAGE_69), blockNum: n, blockData: IMAGE_69.subarray(n * BLOCK, (n + 1) * BLOCK) } }], { signed: false, confirmable: false });
        clock.advance(200); // FND paces its block stream
      }
      clock.advance(30 * S);
      missing = await missingBlocks(r, blocks);
    }
    expect(missing).toEqual([]);
    expect(agentLog(r.device)).toContain("firmware upload complete and verified");
    const load = await configure(r, [{ type: "LoadRequest", value: { fileHash: sha(IMAGE_69), loadTime: Math.floor(clock.wallTimeMs() / 1000) + 120 } }]);
    expect(value(load.tlvs, 72)?.response ?? 0).toBe(0);
    const boots = r.device.host.bootCount;
    clock.runUntil(() => r.device.host.bootCount > boots, 10 * 60 * S);
    clock.advance(S);
    const running = (await read(r, [75])).map((t) => t.value as Record<string, unknown>).find((i) => i.isRunning);
    expect(running).toMatchObject({ version: "6.9.99" });

    const st = r.stats();
    console.log(`hostile mesh: ${st.offered} datagrams offered, ${st.lost} lost, ${st.duplicated} duplicated, ${st.reordered} held back; ` +
      `${rounds} block rounds; ${(clock.nowMs() / H).toFixed(1)} h virtual in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(st.lost / st.offered).toBeGreaterThan(0.2);
  });

  it("registration and a signed configuration complete under bursty loss (Gilbert-Elliott)", async () => {
    // Every link loses runs of datagrams: bad ~25 % of the time, ~3 datagrams per burst, all lost.
    const r = rig(11, () => ({ defaults: { delayS: [2, 10], loss: 0.05, burst: { enterBad: 0.1, leaveBad: 0.3 } }, seed: 11 }));
    registered(r, 48 * H);
    expect((await configure(r, [{ type: "NMSSettings", value: { regIntervalMin: 900, regIntervalMax: 9000 } }])).code).toBe(CoapCode.Created);
    expect(value(await read(r, [42]), 42)).toEqual({ regIntervalMin: 900, regIntervalMax: 9000 });
    expect(r.stats().lost).toBeGreaterThan(0);
  });
});

describe("duplicated requests (RFC 7252 4.5)", () => {
  /** Every NMS -> device datagram arrives twice, the copy 3 s later; nothing is lost. */
  function duplicating(seed: number) {
    const r = rig(seed, (device) => ({
      defaults: { delayS: 0.05 }, seed,
      links: [{ from: NMS_ADDR, to: device, options: { delayS: 0.05, duplicate: 1, extraDelayS: [3, 3] } }],
    }));
    return r;
  }

  /** The device's answers (ACKs) to message `mid`, as bytes. */
  function answers(sent: readonly Datagram[], mid: number): string[] {
    return sent.filter((d) => d.dstPort === 61629).map((d) => ({ d, m: decodeCoap(d.payload) }))
      .filter(({ m }) => m.type === CoapType.Acknowledgement && m.mid === mid).map(({ d }) => Buffer.from(d.payload).toString("hex"));
  }

  it("a duplicated ReportSubscribe starts reporting once; both copies get the same answer", async () => {
    const r = duplicating(21);
    registered(r, 2 * H);
    r.world.clock.advance(60 * S);
    const before = r.reports.length;
    const sentBefore = r.device.sent.length;
    const result = await drive(r.world.clock, r.nms.post(r.eui, [{ type: "ReportSubscribe", value: { interval: 3600, tlvid: ["22"] } }]), EXCHANGE_MS);
    expect(result.code).toBe(CoapCode.Created);
    r.world.clock.advance(10 * S); // the copy arrived 3 s after the original
    const sent = r.device.sent.slice(sentBefore);
    const mids = sent.map((d) => decodeCoap(d.payload)).filter((m) => m.type === CoapType.Acknowledgement).map((m) => m.mid);
    const acks = answers(sent, mids[0]);
    expect(acks).toHaveLength(2);
    expect(acks[1]).toBe(acks[0]);
    // reportingStart() sends the first report at once: a second application would send a second one.
    expect(r.reports.length - before).toBe(1);
  });

  it("a duplicated EventSubscribe is answered identically; a duplicated GET is answered again, fresh", async () => {
    // The agent keeps no GETs in its deduplication table (they change nothing;
    // RFC 7252 section 4.5 lets a server answer idempotent retransmissions anew),
    // so the table's room goes to requests that must not run twice.
    const r = duplicating(22);
    registered(r, 2 * H);
    for (const [op, identical] of [[() => r.nms.get(r.eui, [22]), false], [() => r.nms.subscribeEvents(r.eui, [{ ianaen: 26484, code: 3 }]), true]] as const) {
      const sentBefore = r.device.sent.length;
      await drive(r.world.clock, op(), EXCHANGE_MS);
      r.world.clock.advance(10 * S);
      const sent = r.device.sent.slice(sentBefore);
      const first = decodeCoap(sent.find((d) => decodeCoap(d.payload).type === CoapType.Acknowledgement)!.payload);
      const acks = answers(sent, first.mid);
      expect(acks).toHaveLength(2);
      if (identical) expect(acks[1]).toBe(acks[0]);
      else expect(acks[1].slice(0, 8 + 2 * first.token.length)).toBe(acks[0].slice(0, 8 + 2 * first.token.length)); // same header and token
    }
  });

  it("a duplicated POST whose answer is too large to keep for replay is still applied once", async () => {
    // DescriptionRequest makes the 2.01 answer carry several TLVs (over the
    // 256 bytes the deduplication keeps), so the copy cannot be replayed;
    // the ReportSubscribe in it must not be applied (reporting restarted) again.
    const r = duplicating(23);
    registered(r, 2 * H);
    r.world.clock.advance(60 * S);
    const before = r.reports.length;
    const sentBefore = r.device.sent.length;
    const result = await drive(r.world.clock, r.nms.post(r.eui, [
      { type: "ReportSubscribe", value: { interval: 3600, tlvid: ["22"] } },
      { type: "DescriptionRequest", value: { tlvid: ["11", "12", "16", "75", "43", "510", "23", "2"] } },
    ]), EXCHANGE_MS);
    expect(result.code).toBe(CoapCode.Created);
    r.world.clock.advance(10 * S);
    const ack = r.device.sent.slice(sentBefore).find((d) => decodeCoap(d.payload).type === CoapType.Acknowledgement)!;
    expect(ack.payload.length).toBeGreaterThan(256); // the whole CoAP answer, as the device would have to keep it
    expect(r.reports.length - before).toBe(1);
  });
  // Found by this test: the table once kept 4 exchanges, GETs included, so 4
  // other requests within EXCHANGE_LIFETIME evicted the POST.
  it("a retransmission is applied once even when other requests came in between", () => {
    // The NMS's POST applies but its ACK is lost; before the NMS retransmits
    // (2-3 s later: RFC 7252 ACK_TIMEOUT) the device serves a few other
    // requests (here the NMS's own GETs; in the field also multicast traffic
    // or an ImageBlock stream). The retransmission must still be recognised.
    const r = duplicating(24);
    registered(r, 2 * H);
    r.world.clock.advance(60 * S);
    const device = requireAddress(r.device.address);
    const payload = signPayload(encodeTlvs([{ type: "ReportSubscribe", value: { interval: 3600, tlvid: ["22"] } }]), r.nms.keys, r.nms.validityWindow());
    const postBytes = encodeCoap({ ...post("/c", payload), mid: 0x4242, token: Uint8Array.of(0x42) });
    let ackLost = false;
    r.world.net.setLink(r.device.address, NMS_ADDR, (d) => {
      const m = decodeCoap(d.payload);
      if (!ackLost && m.type === CoapType.Acknowledgement && m.mid === 0x4242) { ackLost = true; return []; }
      return [50];
    });
    r.world.net.setLink(NMS_ADDR, r.device.address, () => [50]); // no duplicating here: the NMS retransmits itself
    const before = r.reports.length;
    r.world.nmsEndpoint.send(device, r.device.port, postBytes);
    r.world.clock.advance(500);
    for (let i = 0; i < 4; i++) {
      r.world.nmsEndpoint.send(device, r.device.port, encodeCoap({ ...get("/c", ["q=22"]), mid: 0x5000 + i }));
      r.world.clock.advance(200);
    }
    r.world.clock.advance(1500);
    r.world.nmsEndpoint.send(device, r.device.port, postBytes); // the retransmission, 2.5 s after the original
    r.world.clock.advance(5 * S);
    expect(ackLost).toBe(true);
    const acks = r.device.sent.map((d) => decodeCoap(d.payload)).filter((m) => m.type === CoapType.Acknowledgement && m.mid === 0x4242);
    expect(acks.map((m) => m.code)).toEqual([CoapCode.Created, CoapCode.Created]);
    expect(r.reports.length - before).toBe(1);
  });
});
