// Firmware update end to end on one device, with the real image files from
// shared/vectors: transfer, blocks (duplicates, out of range, wrong hash),
// FirmwareImageInfo bitmaps, verification, scheduled load, reboot into the
// new image, and every response code a request deserves.
import { describe, it, expect, beforeEach } from "vitest";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createWorld, addDevice, agentLog, type World, type Device } from "./support/testbed.ts";
import { exchange, signed, postTo, getTlvs, nmsKeyHex } from "./support/nms-ops.ts";
import { encodeTlvs, type Tlv } from "../host/nms/tlv.ts";
import { MemoryStorage } from "../host/storage.ts";

const VECTORS = new URL("../../shared/vectors/", import.meta.url).pathname;
const IMAGE_68 = readFileSync(`${VECTORS}opencsmp-node-6.8-sample-image.bin`);
const IMAGE_69 = readFileSync(`${VECTORS}opencsmp-node-6.9-sample-image.bin`);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();
const BLOCK = 512;

let world: World;
let device: Device;

function transferRequest(image: Uint8Array, over: Record<string, unknown> = {}) {
  return { type: "TransferRequest", value: {
    hwInfo: { hwId: "OPENCSMP" }, fileHash: sha(image), fileName: "opencsmp-node", version: "6.9.99",
    fileSize: image.length, blockSize: BLOCK, ...over,
  } };
}

function blockTlv(image: Uint8Array, n: number, hash = sha(image)) {
  return { type: "ImageBlock", value: { fileHash: hash, blockNum: n, blockData: image.subarray(n * BLOCK, (n + 1) * BLOCK) } };
}

async function post(tlvs: { type: string; value: unknown }[], sign = true) {
  const payload = sign ? signed(world, tlvs as never) : encodeTlvs(tlvs as never);
  return exchange(world, device, postTo(payload));
}

function response(tlvs: Tlv[], type: number): number {
  return (tlvs.find((t) => t.type === type)!.value as { response?: number }).response ?? 0;
}

async function images(): Promise<Record<string, unknown>[]> {
  return (await exchange(world, device, getTlvs([75]))).tlvs.map((t) => t.value as Record<string, unknown>);
}

beforeEach(() => {
  world = createWorld();
  const storage = new MemoryStorage({ slotSizes: [64 * 1024, 64 * 1024, 64 * 1024] });
  storage.installImage(0, IMAGE_68);
  device = addDevice(world, { storage, nmsKey: nmsKeyHex, extra: { "fw.hwid": "OPENCSMP" } });
});

describe("the running image", () => {
  it("is described from its header on first boot", async () => {
    const [running] = await images();
    expect(running).toMatchObject({ index: 0, fileName: "opencsmp-node", version: "6.8.99", fileSize: IMAGE_68.length, isRunning: true, isDefault: true, hwInfo: { hwId: "OPENCSMP" } });
    expect(Buffer.from(running.fileHash as Uint8Array).equals(sha(IMAGE_68))).toBe(true);
  });
});

describe("a transfer", () => {
  it("completes, verifies, loads at its time and reboots into the new version", async () => {
    const blocks = Math.ceil(IMAGE_69.length / BLOCK);
    const t = await post([transferRequest(IMAGE_69)]);
    expect(t.code).toBe("2.01");
    expect(response(t.tlvs, 71)).toBe(0);
    // TransferResponse even for OK, with the file's hash (the draft: the NMS proceeds on an OK answer).
    expect(Buffer.from((t.tlvs.find((x) => x.type === 71)!.value as { fileHash: Uint8Array }).fileHash).equals(sha(IMAGE_69))).toBe(true);
    // Blocks out of order, some twice, unsigned (ImageBlock is exempt), the last with a DescriptionRequest.
    const order = [...Array(blocks).keys()].reverse();
    for (const n of order.slice(0, -1)) expect((await post([blockTlv(IMAGE_69, n)], false)).code).toBe("2.01");
    await post([blockTlv(IMAGE_69, 3)], false);
    const last = await post([blockTlv(IMAGE_69, 0), { type: "DescriptionRequest", value: { tlvid: ["75"] } }], false);
    const upload = last.tlvs.filter((t) => t.type === 75).map((t) => t.value as Record<string, unknown>).find((i) => i.index === 1)!;
    expect(Buffer.from(upload.bitmap as Uint8Array).every((b, i, a) => b === 0xff || (i === a.length - 1 && b === ((0xff << (8 - (blocks % 8 || 8))) & 0xff)))).toBe(true);
    expect(agentLog(device)).toContain("firmware upload complete and verified");

    // Load in two minutes.
    const at = Math.floor(world.clock.wallTimeMs() / 1000) + 120;
    const l = await post([{ type: "LoadRequest", value: { fileHash: sha(IMAGE_69), loadTime: at } }]);
    expect(response(l.tlvs, 72)).toBe(0);
    const boots = device.host.bootCount;
    world.clock.advance(100_000);
    expect(device.host.bootCount).toBe(boots);
    world.clock.runUntil(() => device.host.bootCount > boots, 60_000);
    world.clock.advance(10);
    const after = await images();
    expect(after.find((i) => i.isRunning)).toMatchObject({ version: "6.9.99", index: 0 });
    expect(Buffer.from(after.find((i) => i.isRunning)!.fileHash as Uint8Array).equals(sha(IMAGE_69))).toBe(true);
  });

  it("an image that does not come up: the boot loader falls back and the device keeps running 6.8", async () => {
    // The host's trial boot fails for the 6.9 image (as a broken build would).
    world = createWorld();
    const storage = new MemoryStorage({ slotSizes: [64 * 1024, 64 * 1024, 64 * 1024] });
    storage.installImage(0, IMAGE_68);
    const fallbacks: string[] = [];
    device = addDevice(world, {
      storage, nmsKey: nmsKeyHex, extra: { "fw.hwid": "OPENCSMP" },
      imageFails: (s) => {
        const r = s.slotRead(0, 0, IMAGE_69.length);
        return r.ok && Buffer.from(r.value).equals(IMAGE_69) ? "6.9 does not come up" : null;
      },
    });
    await post([transferRequest(IMAGE_69)]);
    for (let n = 0; n < Math.ceil(IMAGE_69.length / BLOCK); n++) await post([blockTlv(IMAGE_69, n)], false);
    const boots = device.host.bootCount;
    await post([{ type: "LoadRequest", value: { fileHash: sha(IMAGE_69) } }]);
    world.clock.runUntil(() => device.host.bootCount > boots, 60_000);
    world.clock.advance(10);
    expect(device.logs.some((e) => /fell back to the previous image/.test(e.text))).toBe(true);
    fallbacks.push(...agentLog(device).filter((l) => l.startsWith("firmware activation did not take effect")));
    expect(fallbacks).toHaveLength(1);
    const running = (await images()).find((i) => i.isRunning)!;
    expect(running).toMatchObject({ version: "6.8.99" });
    expect(Buffer.from(running.fileHash as Uint8Array).equals(sha(IMAGE_68))).toBe(true);
    const s0 = storage.slotRead(0, 0, IMAGE_68.length);
    expect(s0.ok && Buffer.from(s0.value).equals(IMAGE_68)).toBe(true);
  });

  it("LoadRequest with loadTime 0 loads now, like 1 and like no loadTime", async () => {
    await post([transferRequest(IMAGE_69)]);
    for (let n = 0; n < Math.ceil(IMAGE_69.length / BLOCK); n++) await post([blockTlv(IMAGE_69, n)], false);
    const load = { type: "LoadRequest", value: { fileHash: sha(IMAGE_69), loadTime: 0 } };
    expect(encodeTlvs([load]).length).toBe(2 + 34 + 2); // loadTime 0 is on the wire, not left out
    const boots = device.host.bootCount;
    const l = await post([load]);
    expect(response(l.tlvs, 72)).toBe(0);
    world.clock.runUntil(() => device.host.bootCount > boots, 5_000);
    world.clock.advance(10);
    expect((await images()).find((i) => i.isRunning)).toMatchObject({ version: "6.9.99" });
    // The restart is counted as the agent's own (docs/device-config.md, reset.cause).
    expect((await exchange(world, device, getTlvs([86]))).tlvs[0].value).toMatchObject({ total: 2, softwareReset: { total: 1, FWLoadReset: 1 } });
  });

  it("a pending load survives a reboot and fires when due", async () => {
    await post([transferRequest(IMAGE_69)]);
    for (let n = 0; n < Math.ceil(IMAGE_69.length / BLOCK); n++) await post([blockTlv(IMAGE_69, n)], false);
    const at = Math.floor(world.clock.wallTimeMs() / 1000) + 600;
    await post([{ type: "LoadRequest", value: { fileHash: sha(IMAGE_69), loadTime: at } }]);
    device.host.powerCycle();
    world.clock.advance(10);
    const boots = device.host.bootCount;
    world.clock.runUntil(() => device.host.bootCount > boots, 900_000);
    world.clock.advance(10);
    expect((await images()).find((i) => i.isRunning)).toMatchObject({ version: "6.9.99" });
  });

  it("ignores and counts blocks of another file, out of range or of the wrong length", async () => {
    await post([transferRequest(IMAGE_69)]);
    await post([blockTlv(IMAGE_69, 9999)], false);
    await post([blockTlv(IMAGE_69, 1, sha(IMAGE_68))], false);
    await post([{ type: "ImageBlock", value: { fileHash: sha(IMAGE_69), blockNum: 1, blockData: new Uint8Array(7) } }], false);
    const log = agentLog(device).filter((l) => l.startsWith("image block ignored"));
    expect(log).toEqual([
      "image block ignored: block number out of range",
      "image block ignored: no transfer of that file",
      "image block ignored: wrong block length",
    ]);
  });

  it("a file that does not hash to fileHash fails verification and cannot be loaded", async () => {
    const bad = Buffer.from(IMAGE_69);
    await post([transferRequest(IMAGE_69)]);
    bad[1000] ^= 1; // a flipped bit in transit, same hash announced
    for (let n = 0; n < Math.ceil(bad.length / BLOCK); n++) await post([blockTlv(bad, n, sha(IMAGE_69))], false);
    expect(agentLog(device).some((l) => l.startsWith("firmware upload complete but FAILED"))).toBe(true);
    const l = await post([{ type: "LoadRequest", value: { fileHash: sha(IMAGE_69) } }]);
    expect(response(l.tlvs, 72)).toBe(5); // SIGNATURE_FAILED
  });
});

describe("response codes", () => {
  it("TransferRequest: INCOMPATIBLE_HW, FILE_SIZE_TOO_BIG, INVALID_BLOCK_SIZE, INVALID_REQ, IMAGE_RUNNING, PENDING_REBOOT", async () => {
    const code = async (over: Record<string, unknown>, image = IMAGE_69) => response((await post([transferRequest(image, over)])).tlvs, 71);
    expect(await code({ hwInfo: { hwId: "OTHER" } })).toBe(1);
    expect(await code({ fileSize: 10_000_000 })).toBe(4);
    expect(await code({ blockSize: 4 })).toBe(7);
    expect(await code({ fileHash: new Uint8Array(5) })).toBe(6);
    expect(await code({}, IMAGE_68)).toBe(9);
    expect(await code({})).toBe(0);
    for (let n = 0; n < Math.ceil(IMAGE_69.length / BLOCK); n++) await post([blockTlv(IMAGE_69, n)], false);
    await post([{ type: "LoadRequest", value: { fileHash: sha(IMAGE_69), loadTime: Math.floor(world.clock.wallTimeMs() / 1000) + 3600 } }]);
    const other = Buffer.from(IMAGE_69); other[300] ^= 1;
    expect(await code({ fileHash: sha(other) })).toBe(8);
  });

  it("LoadRequest: UNKNOWN_HASH, IMAGE_INCOMPLETE, IMAGE_RUNNING; Cancel and SetBackup", async () => {
    const load = async (hash: Uint8Array) => response((await post([{ type: "LoadRequest", value: { fileHash: hash } }])).tlvs, 72);
    expect(await load(new Uint8Array(32))).toBe(3);
    expect(await load(sha(IMAGE_68))).toBe(9);
    await post([transferRequest(IMAGE_69)]);
    expect(await load(sha(IMAGE_69))).toBe(2);
    const cancel = await post([{ type: "CancelLoadRequest", value: { fileHash: sha(IMAGE_69) } }]);
    expect(response(cancel.tlvs, 73)).toBe(6); // nothing scheduled for it
    const backup = await post([{ type: "SetBackupRequest", value: { fileHash: sha(IMAGE_68) } }]);
    expect(response(backup.tlvs, 74)).toBe(0);
    const rows = await images();
    expect(rows.find((i) => i.index === 2)).toMatchObject({ version: "6.8.99" });
  });
});
