// Power cuts during a firmware download: the real agent on a FaultStorage
// (host/fault-storage.ts) that loses power at durable write N, for every N
// across one whole download (transfer, every block, verification, load, the
// boot loader's swap and the boot into the new image), the write skipped or,
// for a slot write, torn. After the cut the device power-cycles and a unicast campaign
// (host/nms/campaign.ts) carries on until it is done. Then: no block was
// ever marked received without its data in the slot, the download
// completes, the device boots the 6.9 file, and what it reports about its
// slots is true. (This sweep found five ordering bugs in the agent's
// firmware state, A-E in the history; slot infos and state are now one
// record, written once per change.)
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { VirtualFleet } from "../host/nms/campaign-fleet.ts";
import { FirmwareCampaign, type CampaignProgress } from "../host/nms/campaign.ts";
import { FaultStorage, type CutMode, type DurableWrite, type PowerCut } from "../host/fault-storage.ts";
import { MemoryStorage } from "../host/storage.ts";
import { markedButWrong, rowsNotTrue, storageFlash, type Row } from "./support/firmware-flash.ts";

const VECTORS = new URL("../../shared/vectors/", import.meta.url).pathname;
const IMAGE_68 = readFileSync(`${VECTORS}opencsmp-node-6.8-sample-image.bin`);
const IMAGE_69 = readFileSync(`${VECTORS}opencsmp-node-6.9-sample-image.bin`);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const HASH_69 = sha(IMAGE_69);
const BLOCK = 1024;
const BLOCKS = Math.ceil(IMAGE_69.length / BLOCK); // 24

interface Outcome {
  progress: CampaignProgress;
  /** Every write counted from the start of the download (the cut one included). */
  journal: DurableWrite[];
  cut: DurableWrite | null;
  /** Marked blocks compared with the slot at the cut. */
  marksChecked: number;
  /** What is wrong at the end (empty: all good). */
  problems: string[];
  boots: number;
}

/** One download of 6.9 onto a device running 6.8, with an optional power cut; the campaign runs to its end. */
async function download(cut: PowerCut | null): Promise<Outcome> {
  const fleet = new VirtualFleet({ seed: 9 });
  const inner = new MemoryStorage({ slotSizes: [32 * 1024, 32 * 1024, 32 * 1024] });
  inner.installImage(0, IMAGE_68);
  const storage = new FaultStorage(inner);
  const device = fleet.addDevice({ storage, extra: { "fw.hwid": "OPENCSMP" } });
  const problems: string[] = [];
  let marksChecked = 0;
  storage.onCut = () => {
    const { checked, wrong } = markedButWrong(storageFlash(inner), IMAGE_69, BLOCK);
    marksChecked += checked;
    if (wrong.length) problems.push(`at the cut, blocks ${wrong.join(",")} are marked but not written`);
    device.host.powerCycle();
  };
  expect(fleet.waitRegistered()).toBe(true);
  storage.reset();
  storage.journaling = true;
  storage.cutAt(cut);
  const campaign = new FirmwareCampaign({
    nms: fleet.nms, timers: fleet.clock, devices: [device.eui64], blockSize: BLOCK, settleMs: 500,
    image: { file: IMAGE_69, hwId: "OPENCSMP", fileName: "opencsmp-node", version: "6.9.99" },
  });
  const progress = await fleet.drive(campaign.run(fleet.nms.nowPosix() + 30, 600_000));
  campaign.close();
  const journal = [...storage.journal];
  storage.journaling = false;

  const d = progress.devices[0];
  if (d.phase !== "running") problems.push(`campaign ended ${d.phase}: ${d.error ?? ""}`);
  const slot0 = inner.slotRead(0, 0, IMAGE_69.length);
  if (!slot0.ok || sha(slot0.value) !== HASH_69) problems.push("slot 0 does not hold the 6.9 file");
  // Every row for a whole file must describe what its slot holds.
  const rows = (await fleet.drive(fleet.nms.get(device.eui64, [75]))).tlvs.map((t) => t.value as Row);
  problems.push(...rowsNotTrue(storageFlash(inner), rows));
  // The new image is good: a device that falls back from it did so by mistake,
  // unless the power took the activation itself (the boot loader never heard of it).
  const fellBack = fleet.agentLines(device).some((l) => l.startsWith("firmware activation did not take effect"));
  if (fellBack && storage.cut?.kind !== "slot-activate") problems.push("the device fell back from the good image");
  return { progress, journal, cut: storage.cut, marksChecked, problems, boots: device.host.bootCount };
}

let clean: Outcome;

beforeAll(async () => {
  clean = await download(null);
});

describe("FaultStorage", () => {
  it("counts writes, tears a slot write at the cut, and refuses everything until the next boot", () => {
    const inner = new MemoryStorage({ slotSizes: [16, 16] });
    const s = new FaultStorage(inner);
    const cuts: DurableWrite[] = [];
    s.onCut = (w) => cuts.push(w);
    s.cutAt({ at: 3, mode: "torn", tornBytes: 2 });
    expect(s.write("a", Uint8Array.of(1)).ok).toBe(true);
    expect(s.slotErase(1).ok).toBe(true);
    expect(s.slotWrite(1, 4, Uint8Array.of(1, 2, 3, 4)).ok).toBe(false);
    expect(cuts).toEqual([{ n: 3, kind: "slot-write", slot: 1, offset: 4, bytes: 4 }]);
    expect(inner.slotRead(1, 0, 8).ok && [...(inner.slotRead(1, 0, 8) as { value: Uint8Array }).value]).toEqual([255, 255, 255, 255, 1, 2, 255, 255]);
    expect(s.write("b", Uint8Array.of(2)).ok).toBe(false);
    expect(s.slotActivate(1).ok).toBe(false);
    expect(inner.read("b")).toEqual({ ok: true, value: null });
    expect(s.applyPendingBoot()).toEqual({ ok: true, value: null });
    expect(s.write("b", Uint8Array.of(2)).ok).toBe(true);
    expect(s.counts).toMatchObject({ count: 4, bytes: 6, byKind: { "record-write": { count: 2, bytes: 2 }, "slot-write": { count: 1, bytes: 4 } } });
  });
});

describe("a power cut at every durable write of a download", () => {
  it("the clean download: what it writes", () => {
    expect(clean.problems).toEqual([]);
    const kinds = clean.journal.map((w) => `${w.kind}${w.key ? ` ${w.key}` : ""}`);
    expect(kinds.filter((k) => k === "slot-write")).toHaveLength(BLOCKS);
    expect(clean.journal.filter((w) => w.kind === "slot-write").reduce((n, w) => n + w.bytes, 0)).toBe(IMAGE_69.length);
    expect(kinds.filter((k) => k === "record-write fwbits")).toHaveLength(BLOCKS);
    // The activation, then the boot loader's swap at the reboot (both cut in the sweep below).
    expect(kinds).toContain("slot-activate");
    expect(kinds.indexOf("boot-swap")).toBeGreaterThan(kinds.indexOf("slot-activate"));
    expect(kinds.filter((k) => k === "boot-swap")).toHaveLength(1);
    // Slot infos and state change together, in one record: a few writes per download, never a mix.
    expect(kinds.filter((k) => k.startsWith("record-write fw") && k !== "record-write fwbits" && k !== "record-write fwmeta")).toEqual([]);
  });

  it("every cut, skipped or torn: nothing marked unwritten, the download completes, 6.9 boots, the slots are described truly", async () => {
    const unexpected: string[] = [];
    let runs = 0;
    let marksChecked = 0;
    for (const w of clean.journal) {
      const modes: CutMode[] = w.kind === "slot-write" ? ["skip", "torn"] : ["skip"];
      for (const mode of modes) {
        const o = await download({ at: w.n, mode });
        runs++;
        marksChecked += o.marksChecked;
        const problems = o.cut ? o.problems : ["the cut was never reached", ...o.problems];
        if (problems.length) unexpected.push(`write ${w.n} (${w.kind} ${w.key ?? w.slot}) ${mode}: ${problems.join("; ")}`);
      }
    }
    expect(runs).toBe(clean.journal.length + BLOCKS);
    // The bitmap check saw blocks at most cuts during the blocks (1 + 2 + ... marked blocks).
    expect(marksChecked).toBeGreaterThan(BLOCKS * BLOCKS);
    expect(unexpected).toEqual([]);
  });
});
