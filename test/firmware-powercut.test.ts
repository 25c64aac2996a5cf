// Power cuts during a firmware download: the real agent on a FaultStorage
// (host/fault-storage.ts) that loses power at durable write N, for every N
// across one whole download (transfer, every block, verification, load and
// the boot into the new image), the write skipped or, for a slot write,
// torn. After the cut the device power-cycles and a unicast campaign
// (host/nms/campaign.ts) carries on until it is done. Then: no block was
// ever marked received without its data in the slot, the download
// completes, the device boots the 6.9 file, and what it reports about its
// slots is true. Cuts that hit known agent bugs are listed and reproduced
// one by one at the end.
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { VirtualFleet } from "../host/nms/campaign-fleet.ts";
import { FirmwareCampaign, type CampaignProgress } from "../host/nms/campaign.ts";
import { blockData } from "../host/nms/campaign-bitmap.ts";
import { FaultStorage, type CutMode, type DurableWrite, type PowerCut } from "../host/fault-storage.ts";
import { MemoryStorage } from "../host/storage.ts";
import { decodeTlvs, encodeVarint } from "../host/nms/tlv.ts";

const VECTORS = new URL("../../shared/vectors/", import.meta.url).pathname;
const IMAGE_68 = readFileSync(`${VECTORS}opencsmp-node-6.8-sample-image.bin`);
const IMAGE_69 = readFileSync(`${VECTORS}opencsmp-node-6.9-sample-image.bin`);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const HASH_69 = sha(IMAGE_69);
const BLOCK = 1024;
const BLOCKS = Math.ceil(IMAGE_69.length / BLOCK); // 24
const knownAgentBug = process.env.AGENT_BUGS_STRICT ? it : it.fails;

type Row = Record<string, unknown>;

/** A slot record ("fw0".."fw2": a FirmwareImageInfo's protobuf encoding), decoded by the NMS's schema. */
function slotRecord(s: MemoryStorage, key: string): Row | null {
  const r = s.read(key);
  if (!r.ok || !r.value) return null;
  const framed = Buffer.concat([encodeVarint(75), encodeVarint(r.value.length), r.value]);
  return decodeTlvs(framed)[0].value as Row;
}

/**
 * Blocks the durable bitmap marks received whose bytes in slot 1 are not
 * the file's, while slot 1's record is the 6.9 upload. Not during an
 * activation (the agent's "fwstate" record: u32 upload state, i32 slot to
 * load, u32 load time, i32 slot being activated): the boot loader has
 * swapped the slots then, and the agent puts the records right at boot.
 */
function markedButWrong(s: MemoryStorage): { checked: number; wrong: number[] } {
  const info = slotRecord(s, "fw1");
  const bits = s.read("fwbits");
  const state = s.read("fwstate");
  const none = { checked: 0, wrong: [] };
  if (!info || Buffer.from(info.fileHash as Uint8Array).toString("hex") !== HASH_69) return none;
  if (!bits.ok || !bits.value) return none;
  if (state.ok && state.value && state.value.length >= 16 && Buffer.from(state.value).readInt32LE(12) >= 0) return none;
  const wrong: number[] = [];
  let checked = 0;
  for (let n = 0; n < BLOCKS; n++) {
    if ((bits.value[n >> 3] & (0x80 >> (n & 7))) === 0) continue;
    checked++;
    const want = blockData(IMAGE_69, BLOCK, n);
    const got = s.slotRead(1, n * BLOCK, want.length);
    if (!got.ok || !Buffer.from(got.value).equals(want)) wrong.push(n);
  }
  return { checked, wrong };
}

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
    const { checked, wrong } = markedButWrong(inner);
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
  for (const r of rows) {
    const bitmap = r.bitmap as Uint8Array | undefined;
    if (bitmap && bitmap.length && !bitmap.subarray(0, -1).every((b) => b === 0xff)) continue; // an upload in progress
    const content = inner.slotRead(Number(r.index ?? 0), 0, Number(r.fileSize ?? 0));
    if (!content.ok || sha(content.value) !== Buffer.from(r.fileHash as Uint8Array).toString("hex")) {
      problems.push(`FirmwareImageInfo row ${String(r.index)} says ${String(r.version)} but the slot holds something else`);
    }
  }
  // The new image is good: a device that falls back from it did so by mistake.
  if (fleet.agentLines(device).some((l) => l.startsWith("firmware activation failed"))) problems.push("the device fell back from the good image");
  return { progress, journal, cut: storage.cut, marksChecked, problems, boots: device.host.bootCount };
}

/**
 * Cut points (write numbers of the clean download) where the agent is known
 * to go wrong today, by what the write is. Found by the sweep below; each is
 * reproduced on its own at the end of this file.
 */
function knownBugs(journal: DurableWrite[]): Map<number, string> {
  const is = (w: DurableWrite | undefined, kind: DurableWrite["kind"], key?: string) => !!w && w.kind === kind && (key === undefined || w.key === key);
  const out = new Map<number, string>();
  const firstState = journal.findIndex((w) => is(w, "record-write", "fwstate"));
  if (is(journal[firstState - 1], "record-write", "fw1")) out.set(journal[firstState].n, "A");
  const lastBits = journal.map((w) => is(w, "record-write", "fwbits")).lastIndexOf(true);
  if (is(journal[lastBits + 1], "record-write", "fwstate")) out.set(journal[lastBits + 1].n, "B");
  const activate = journal.findIndex((w) => is(w, "slot-activate"));
  if (is(journal[activate + 1], "record-write", "fwstate")) out.set(journal[activate + 1].n, "C");
  const swap = journal.findIndex((w, i) => i > activate && is(w, "record-write", "fw1"));
  if (is(journal[swap - 1], "record-write", "fw0")) out.set(journal[swap].n, "D");
  if (is(journal[swap + 1], "record-erase", "fwbits")) out.set(journal[swap + 1].n, "E");
  if (is(journal[swap + 2], "record-write", "fwstate")) out.set(journal[swap + 2].n, "E");
  return out;
}

let clean: Outcome;
let bugs: Map<number, string>;
const bugAt = (label: string): number => [...bugs].find(([, l]) => l === label)![0];

beforeAll(async () => {
  clean = await download(null);
  bugs = knownBugs(clean.journal);
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
    expect(kinds).toContain("slot-activate");
    expect(bugs.size).toBe(6); // the known bugs' cut points are all where they were found
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
        if (problems.length && !(mode === "skip" && bugs.has(w.n))) unexpected.push(`write ${w.n} (${w.kind} ${w.key ?? w.slot}) ${mode}: ${problems.join("; ")}`);
      }
    }
    expect(runs).toBe(clean.journal.length + BLOCKS);
    // The bitmap check saw blocks at most cuts during the blocks (1 + 2 + ... marked blocks).
    expect(marksChecked).toBeGreaterThan(BLOCKS * BLOCKS);
    expect(unexpected).toEqual([]);
  });
});

describe("known agent bugs: a power cut at one write", () => {
  const at = async (label: string) => (await download({ at: bugAt(label), mode: "skip" })).problems;

  // transfer(): the upload slot's record ("fw1", with the new fileHash) is
  // durable before the upload state says RECEIVING. Cut between them, the
  // next TransferRequest finds the hash in slot 1 and answers OK ("resume"),
  // but the state is NONE, so every ImageBlock is ignored ("no transfer of
  // that file") for ever: the download can never complete.
  knownAgentBug("A: between the transfer's slot record and its state, the device accepts the transfer but ignores every block", async () => {
    expect(await at("A")).toEqual([]);
  });

  // onImageBlock(): the last block's bit is saved, then verifyUpload() saves
  // VERIFIED. Cut between them, the device has every bit set and the state
  // RECEIVING; nothing runs the verification again (blocks are duplicates
  // now), so LoadRequest answers IMAGE_INCOMPLETE for ever.
  knownAgentBug("B: between the last block's bit and the verified state, LoadRequest answers IMAGE_INCOMPLETE for ever", async () => {
    expect(await at("B")).toEqual([]);
  });

  // loadTimer(): pal_slot_activate before the state records "activating".
  // Cut between them, the boot loader boots 6.9, the agent does not know it
  // was an activation, fires the still-pending load again and activates
  // slot 1, which now holds 6.8: the device reverts itself ("activation
  // failed, fell back"); only the NMS asking again brings 6.9 back.
  knownAgentBug("C: between slot activation and the activating state, the device boots 6.9 then reverts itself to 6.8", async () => {
    expect(await at("C")).toEqual([]);
  });

  // finishActivation() swaps the slot records fw0/fw1 in place, not
  // idempotently: cut after fw0 is rewritten, the next boot swaps the
  // half-swapped records again and both rows describe 6.9, while slot 1
  // holds 6.8 (a LoadRequest or SetBackupRequest for 6.8 then says UNKNOWN_HASH).
  knownAgentBug("D: in the middle of the records' swap after activation, slot 1's row claims 6.9 while it holds 6.8", async () => {
    expect(await at("D")).toEqual([]);
  });

  // finishActivation(): the records are swapped, then the bitmap erased and
  // the state cleared. Cut before the state is cleared, the next boot runs
  // finishActivation again on the swapped records, reports "activation
  // failed, fell back" (raising the firmware event) although 6.9 runs, and
  // leaves the upload state VERIFIED.
  knownAgentBug("E: after the swap, before the state is cleared, the device reports a failed activation though 6.9 runs", async () => {
    const n = [...bugs].filter(([, l]) => l === "E").map(([k]) => k);
    for (const w of n) expect((await download({ at: w, mode: "skip" })).problems).toEqual([]);
  });
});
