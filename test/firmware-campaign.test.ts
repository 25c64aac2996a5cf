// Firmware campaigns end to end (host/nms/campaign.ts): the simulated NMS
// rolls the real 6.9 image out to real agents holding the real 6.8 image,
// over a LoopNetwork that loses and reorders datagrams, in virtual time.
// Also the firmware response codes test/firmware.test.ts leaves out, and
// two agent behaviours a campaign relies on (both were bugs, found here).
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { VirtualFleet, type FleetDevice } from "../host/nms/campaign-fleet.ts";
import { seededUniform } from "../host/random.ts";
import { FirmwareCampaign, formatProgress, type CampaignImage, type CampaignOptions, type CampaignProgress } from "../host/nms/campaign.ts";
import { postPayload, postRequest } from "../host/nms/requests.ts";
import type { Tlv, TlvInput } from "../host/nms/tlv.ts";
import type { LinkModel } from "../host/loop-network.ts";
import { MemoryStorage } from "../host/storage.ts";
import { buildImage } from "../host/image/build.ts";
import { HEADER_LEN, parseHeader } from "../host/image/header.ts";
import { publicKeyHex } from "../host/image/sign.ts";

const VECTORS = new URL("../../shared/vectors/", import.meta.url).pathname;
const IMAGE_68 = readFileSync(`${VECTORS}opencsmp-node-6.8-sample-image.bin`);
const IMAGE_69 = readFileSync(`${VECTORS}opencsmp-node-6.9-sample-image.bin`);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();
const GROUP = { type: 2, id: 7 };
const MCAST = "ff03::1";
const V69: CampaignImage = { file: IMAGE_69, hwId: "OPENCSMP", fileName: "opencsmp-node", version: "6.9.99" };


/** `loss` of the datagrams dropped, the rest delayed 1..maxDelay ms (so reordered), per direction and receiver. */
function lossyLink(seed: number, loss: number, maxDelayMs: number): LinkModel {
  const random = seededUniform(seed);
  return () => (random() < loss ? [] : [1 + random() * maxDelayMs]);
}

/** A fleet of n devices running 6.8, configured as docs/device-config.md says, in the firmware group once registered. */
function fleetOf(n: number, o: { seed?: number; extra?: Record<string, string>; slotSizes?: number[] } = {}): { fleet: VirtualFleet; devices: FleetDevice[] } {
  const fleet = new VirtualFleet({ seed: o.seed ?? 1, nms: { profile: { groups: [GROUP] } } });
  for (let i = 0; i < n; i++) {
    const storage = new MemoryStorage({ slotSizes: o.slotSizes ?? [64 * 1024, 64 * 1024, 64 * 1024] });
    storage.installImage(0, IMAGE_68);
    fleet.addDevice({ storage, extra: { "fw.hwid": "OPENCSMP", "mcast.1": MCAST, ...o.extra } });
  }
  return { fleet, devices: fleet.devices };
}

function campaignOf(fleet: VirtualFleet, o: Partial<CampaignOptions> = {}): FirmwareCampaign {
  return new FirmwareCampaign({ nms: fleet.nms, timers: fleet.clock, image: V69, devices: fleet.devices.map((d) => d.eui64), ...o });
}

/** A variant of the 6.9 file built with the image tool: other header fields, optionally vendor-signed. */
function rebuild69(change: { hwid?: string; appBuild?: number }, key?: KeyObject): Buffer {
  const h = parseHeader(IMAGE_69);
  const meta = {
    appName: h.appName, gitBranch: h.gitBranch, gitCommit: h.gitCommit, buildDate: h.buildDate, hwid: h.hwid, subHwid: h.subHwid,
    kernelRev: h.kernelRev, appRevMajor: h.appRevMajor, appRevMinor: h.appRevMinor, appBuild: h.appBuild, gitFlag: h.gitFlag, ...change,
  };
  return buildImage(IMAGE_69.subarray(HEADER_LEN, h.appLen - 4), meta, key ? { key } : {});
}

function code(tlvs: readonly Tlv[], type: number): number | undefined {
  const t = tlvs.find((x) => x.type === type);
  return t ? Number((t.value as { response?: number }).response ?? 0) : undefined;
}

async function post(fleet: VirtualFleet, d: FleetDevice, tlvs: TlvInput[]): Promise<Tlv[]> {
  return (await fleet.drive(fleet.nms.post(d.eui64, tlvs))).tlvs;
}

async function images(fleet: VirtualFleet, d: FleetDevice): Promise<Record<string, unknown>[]> {
  return (await fleet.drive(fleet.nms.get(d.eui64, [75]))).tlvs.map((t) => t.value as Record<string, unknown>);
}

describe("a multicast campaign to 20 devices, 20 % loss and reordering both ways", () => {
  it("every device completes with the right hash, loads at the scheduled time and runs 6.9", async () => {
    const { fleet, devices } = fleetOf(20, { seed: 20 });
    fleet.net.defaultLink = lossyLink(2026, 0.2, 200);
    expect(fleet.waitRegistered()).toBe(true);
    let updates = 0;
    let last: CampaignProgress | null = null;
    // 1024-byte blocks: the campaign signs multicast blocks by default, and
    // every signed block costs each device an ECDSA verify, most of this test's time.
    const campaign = campaignOf(fleet, {
      multicast: { group: GROUP, address: MCAST },
      blockSize: 1024,
      onProgress: (p) => { updates++; last = p; },
    });
    const loadAt = fleet.nms.nowPosix() + 1800;
    const result = await fleet.drive(campaign.run(loadAt));
    campaign.close();

    const table = formatProgress(result);
    expect(result.devices.filter((d) => d.phase !== "running"), table).toEqual([]);
    for (const d of result.devices) {
      expect(d).toMatchObject({ runningHash: sha(IMAGE_69).toString("hex"), runningVersion: "6.9.99", transferCode: 0, loadCode: 0, loadTime: loadAt });
    }
    // The loss made the campaign go round again, multicast and unicast.
    expect(result.round).toBeGreaterThan(1);
    expect(result.sent.multicast).toBeGreaterThan(result.blocks);
    expect(result.sent.unicast).toBeGreaterThan(0);
    expect(updates).toBeGreaterThan(100);
    expect(last).toEqual(result);
    expect(table.split("\n")).toHaveLength(20 + 3);
    expect(table).toContain("total 20: 20 running");

    fleet.net.defaultLink = () => [5];
    for (const d of devices) {
      // It went down for the load at its time, not before.
      const loading = d.logs.find((e) => e.text === "loading firmware from slot 1, rebooting")!;
      expect(loading.wallMs).toBeGreaterThanOrEqual(loadAt * 1000);
      expect(loading.wallMs).toBeLessThan(loadAt * 1000 + 1500);
      expect(fleet.agentLines(d)).toContain("firmware upload complete and verified");
      // What it boots is the new file, byte for byte, and it says so.
      const slot0 = d.storage.slotRead(0, 0, IMAGE_69.length);
      expect(slot0.ok && sha(slot0.value).equals(sha(IMAGE_69))).toBe(true);
      const running = (await images(fleet, d)).find((i) => i.isRunning)!;
      expect(running).toMatchObject({ index: 0, version: "6.9.99", fileSize: IMAGE_69.length });
      expect(Buffer.from(running.fileHash as Uint8Array).equals(sha(IMAGE_69))).toBe(true);
    }
  });
});

describe("a unicast campaign", () => {
  it("schedules, cancels without a reboot, sets backups, loads now; a second campaign finds the image running", async () => {
    const { fleet, devices } = fleetOf(2, { seed: 3 });
    expect(fleet.waitRegistered()).toBe(true);
    const campaign = campaignOf(fleet, { blockSize: 1024 });
    await fleet.drive((async () => { await campaign.transfer(); await campaign.stream(); })());
    expect(campaign.progress().devices.map((d) => d.phase)).toEqual(["complete", "complete"]);

    await fleet.drive(campaign.load(fleet.nms.nowPosix() + 600));
    expect(campaign.progress().devices.map((d) => d.phase)).toEqual(["scheduled", "scheduled"]);
    await fleet.drive(campaign.cancelLoad());
    expect(campaign.progress().devices.map((d) => [d.phase, d.cancelCode])).toEqual([["complete", 0], ["complete", 0]]);
    const boots = devices.map((d) => d.host.bootCount);
    fleet.clock.advance(900_000);
    expect(devices.map((d) => d.host.bootCount)).toEqual(boots);

    // Backups: the new upload, the running image, and a file nobody has.
    expect([...(await fleet.drive(campaign.setBackup())).values()]).toEqual([0, 0]);
    expect((await images(fleet, devices[0])).find((i) => i.index === 2)).toMatchObject({ version: "6.9.99" });
    expect([...(await fleet.drive(campaign.setBackup(sha(IMAGE_68)))).values()]).toEqual([0, 0]);
    expect((await images(fleet, devices[0])).find((i) => i.index === 2)).toMatchObject({ version: "6.8.99" });
    expect([...(await fleet.drive(campaign.setBackup(new Uint8Array(32).fill(7)))).values()]).toEqual([3, 3]); // UNKNOWN_HASH

    await fleet.drive(campaign.load(1));
    await fleet.drive(campaign.confirm(600_000));
    expect(campaign.progress().devices.map((d) => [d.phase, d.runningVersion])).toEqual([["running", "6.9.99"], ["running", "6.9.99"]]);
    campaign.close();

    const again = campaignOf(fleet, { blockSize: 1024 });
    const result = await fleet.drive(again.run(1));
    again.close();
    expect(result.devices.map((d) => [d.phase, d.transferCode])).toEqual([["running", 9], ["running", 9]]); // IMAGE_RUNNING
    expect(result.round).toBe(0);
  });
});

describe("response codes test/firmware.test.ts does not reach", () => {
  it("fw.key set: an unsigned image fails verification (SIGNATURE_FAILED), a vendor-signed one runs", async () => {
    const vendor = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const { fleet } = fleetOf(1, { seed: 4, extra: { "fw.key": publicKeyHex(vendor.publicKey) } });
    expect(fleet.waitRegistered()).toBe(true);
    const unsigned = campaignOf(fleet);
    const refused = await fleet.drive(unsigned.run(1));
    unsigned.close();
    expect(refused.devices[0]).toMatchObject({ phase: "failed", loadCode: 5, error: "LoadRequest: SIGNATURE_FAILED" });

    const signedFile = rebuild69({}, vendor.privateKey);
    const signed = campaignOf(fleet, { image: { ...V69, file: signedFile } });
    const result = await fleet.drive(signed.run(1));
    signed.close();
    expect(result.devices[0]).toMatchObject({ phase: "running", runningHash: sha(signedFile).toString("hex"), runningVersion: "6.9.99" });
  });

  it("an image built for other hardware: announced as OPENCSMP it is received, then fails verification (SIGNATURE_FAILED)", async () => {
    const { fleet } = fleetOf(1, { seed: 5 });
    expect(fleet.waitRegistered()).toBe(true);
    const campaign = campaignOf(fleet, { image: { ...V69, file: rebuild69({ hwid: "OTHERHW" }) } });
    const result = await fleet.drive(campaign.run(1));
    campaign.close();
    expect(result.devices[0]).toMatchObject({ phase: "failed", transferCode: 0, loadCode: 5, received: result.blocks });
  });

  it("INCOMPATIBLE_HW ends a campaign for the device at once", async () => {
    const { fleet } = fleetOf(1, { seed: 6 });
    expect(fleet.waitRegistered()).toBe(true);
    const campaign = campaignOf(fleet, { image: { ...V69, hwId: "OTHERHW" } });
    const result = await fleet.drive(campaign.run(1));
    campaign.close();
    expect(result.devices[0]).toMatchObject({ phase: "failed", transferCode: 1, error: "TransferRequest: INCOMPATIBLE_HW" });
    expect(result.round).toBe(0);
  });

  it("INVALID_BLOCK_SIZE above 1024, INVALID_REQ for a past load time, UNKNOWN_HASH for cancel, IMAGE_INCOMPLETE for a backup", async () => {
    const { fleet, devices: [d] } = fleetOf(1, { seed: 7 });
    expect(fleet.waitRegistered()).toBe(true);
    const transfer = (blockSize: number): TlvInput => ({
      type: "TransferRequest", value: { hwInfo: { hwId: "OPENCSMP" }, fileHash: sha(IMAGE_69), fileSize: IMAGE_69.length, blockSize },
    });
    expect(code(await post(fleet, d, [transfer(2048)]), 71)).toBe(7);
    expect(code(await post(fleet, d, [transfer(1024)]), 71)).toBe(0);
    expect(code(await post(fleet, d, [{ type: "SetBackupRequest", value: { fileHash: sha(IMAGE_69) } }]), 74)).toBe(2);
    expect(code(await post(fleet, d, [{ type: "CancelLoadRequest", value: { fileHash: new Uint8Array(32) } }]), 73)).toBe(3);
    for (let n = 0; n < Math.ceil(IMAGE_69.length / 1024); n++) {
      await post(fleet, d, [{ type: "ImageBlock", value: { fileHash: sha(IMAGE_69), blockNum: n, blockData: IMAGE_69.subarray(n * 1024, (n + 1) * 1024) } }]);
    }
    const past = fleet.nms.nowPosix() - 60;
    expect(code(await post(fleet, d, [{ type: "LoadRequest", value: { fileHash: sha(IMAGE_69), loadTime: past } }]), 72)).toBe(6);
    expect(code(await post(fleet, d, [{ type: "LoadRequest", value: { fileHash: sha(IMAGE_69), loadTime: past + 3600 } }]), 72)).toBe(0);
    expect(code(await post(fleet, d, [{ type: "CancelLoadRequest", value: { fileHash: sha(IMAGE_69) } }]), 73)).toBe(0);
  });

  it("FILE_SIZE_TOO_BIG for a backup slot smaller than the image", async () => {
    const { fleet } = fleetOf(1, { seed: 8, slotSizes: [64 * 1024, 64 * 1024, 16 * 1024] });
    expect(fleet.waitRegistered()).toBe(true);
    const campaign = campaignOf(fleet);
    expect([...(await fleet.drive(campaign.setBackup(sha(IMAGE_68)))).values()]).toEqual([4]);
    campaign.close();
  });
});

describe("agent behaviours a campaign relies on (once bugs, fixed)", () => {
  function oneDevice(): { fleet: VirtualFleet; d: FleetDevice; reports: { at: number; tlvs: Tlv[] }[] } {
    const { fleet, devices: [d] } = fleetOf(1, { seed: 8 });
    expect(fleet.waitRegistered()).toBe(true);
    const reports: { at: number; tlvs: Tlv[] }[] = [];
    fleet.nms.on("report", (e) => reports.push({ at: fleet.clock.nowMs(), tlvs: e.tlvs }));
    return { fleet, d, reports };
  }
  const block = (n: number): TlvInput => ({ type: "ImageBlock", value: { fileHash: sha(IMAGE_69), blockNum: n, blockData: IMAGE_69.subarray(n * 512, (n + 1) * 512) } });
  const transfer: TlvInput = { type: "TransferRequest", value: { hwInfo: { hwId: "OPENCSMP" }, fileHash: sha(IMAGE_69), fileSize: IMAGE_69.length, blockSize: 512 } };

  // The reference agent (csmp-agent-lib csmpserver.c) skips GroupMatch, like the
  // signing TLVs, when it checks that an unsigned payload holds only exempt TLVs,
  // so an FND-style multicast block (GroupMatch + ImageBlock) needs no signature.
  it("accepts an unsigned multicast ImageBlock with GroupMatch (ImageBlock is exempt from signing)", async () => {
    const { fleet, d } = oneDevice();
    await post(fleet, d, [transfer]);
    fleet.nms.client.send(postRequest(postPayload([block(0)], GROUP, null), { confirmable: false }), MCAST, 61628);
    fleet.clock.advance(100);
    expect(fleet.agentLines(d)).not.toContain("NMS message rejected: signing TLVs missing");
    const upload = (await images(fleet, d)).find((i) => i.index === 1)!;
    expect((upload.bitmap as Uint8Array)[0] & 0x80).toBe(0x80);
  });

  // A deferred request (any NON POST, e.g. an ImageBlock) arriving while the
  // device waits its random 0..a s to answer a request with `a` replaces the
  // pending answer: the device then posts SessionID + CurrentTime only, and
  // the TransferResponse is lost. The campaign keeps the group quiet for the
  // whole answer window instead.
  it("keeps a pending asynchronous TransferResponse when an ImageBlock arrives meanwhile", async () => {
    const { fleet, d, reports } = oneDevice();
    const t0 = fleet.clock.nowMs();
    const signing = { keys: fleet.nms.keys, validity: fleet.nms.validityWindow() };
    fleet.nms.client.send(postRequest(postPayload([transfer], GROUP, signing), { confirmable: false, a: 10 }), MCAST, 61628);
    for (let n = 0; n < 40; n++) {
      fleet.clock.advance(300);
      fleet.nms.client.send(postRequest(postPayload([block(n)], undefined, null), { confirmable: false }), d.address, 61628);
    }
    fleet.clock.advance(5000);
    const answers = reports.filter((r) => r.at >= t0);
    expect(answers.map((r) => r.tlvs.map((t) => t.type))).toContainEqual(expect.arrayContaining([71]));
  });
});
