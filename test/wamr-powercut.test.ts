// Power cuts in the POSIX WAMR host (csmp-agent --power-cut-at N[:torn],
// pal/posix/power_cut.c): the real agent, real UDP on [::1], real files.
// A clean run with --journal-writes numbers every durable write of a
// sequence; then, for each write swept, a fresh device runs the same
// sequence with the power cut there (test/support/power-cut-sequence.ts):
// the process must end with the power-cut exit (75) at that very write,
// and a normal start over the state it left must remove any temporary file
// and register.
//
// Records: boot and registration, signed POSTs that change records
// (ReportSubscribe, GroupAssign, EventSubscribe, NMSSettings, then a second
// ReportSubscribe and GroupAssign over the first ones) and a TransferRequest,
// every write skipped and torn. Each record file on "flash" must hold its
// value before or after the step in progress, a torn write must have left
// only its temporary file, and the restarted device answers a GET of those
// TLVs with the old or the new values.
//
// Firmware: a whole download of the 6.9 sample image onto 6.8 (transfer,
// every block, verification, LoadRequest, activation, the boot loader's
// swap and the boot into 6.9 up to its registration), every write skipped
// and every slot write torn too: the POSIX counterpart of
// test/firmware-powercut.test.ts. At the cut no block may be marked
// received without the file's bytes in slot 1; after the restart the NMS
// carries on (test/support/firmware-nms.ts) until the device runs 6.9, and
// what FirmwareImageInfo says of each slot is what the slot files hold.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { codeText } from "../host/nms/coap.ts";
import type { Tlv } from "../host/nms/tlv.ts";
import { buildCHost } from "./support/c-host.ts";
import { markedButWrong, rowsNotTrue, slotBytes, stateDirFlash, type Row } from "./support/firmware-flash.ts";
import { BLOCK, BLOCKS, finishDownload, IMAGE, imageBlock, images, loadRequest, runningRow, transferRequest, VERSION } from "./support/firmware-nms.ts";
import { inParallel, journal } from "./support/power-cut-run.ts";
import {
  cleanRun, cutLabel, cutRun, endWorld, newWorld, restartAfterCut, stepOf, type CleanRun, type Cut, type Sequence, type Target, type World,
} from "./support/power-cut-sequence.ts";

/** ReportSubscribe, GroupInfo, EventSubscribe, NMSSettings: what the record steps change. */
const GET_IDS = [13, 58, 502, 42];
/**
 * Devices running at once (each its own NMS socket, state directory and
 * process). They mostly wait (registration, the load timer), so more than
 * the CPUs; the firmware sweep has the most cases.
 */
const PARALLEL = 6;
const FIRMWARE_PARALLEL = 10;

// ---- records ---------------------------------------------------------------------------

type Records = Map<string, Buffer>;
type RecordsSeen = { records: Records; get: string };

/** <state>/records/*.rec by key, and the temporary files found beside them. */
function readRecords(stateDir: string): { records: Records; temps: string[] } {
  const dir = join(stateDir, "records");
  const records: Records = new Map();
  const temps: string[] = [];
  if (!existsSync(dir)) return { records, temps };
  for (const f of readdirSync(dir)) {
    if (f.endsWith(".tmp")) temps.push(f);
    else if (f.endsWith(".rec")) records.set(f.slice(0, -4), readFileSync(join(dir, f)));
  }
  return { records, temps };
}

/** Keys whose file is neither its value before nor after the step in progress. */
function neitherOldNorNew(now: Records, before: Records, after: Records, except: Set<string> = new Set()): string[] {
  const keys = new Set([...now.keys(), ...before.keys(), ...after.keys()]);
  const same = (a?: Buffer, b?: Buffer) => (a === undefined ? b === undefined : b !== undefined && a.equals(b));
  return [...keys].filter((k) => !except.has(k) && !same(now.get(k), before.get(k)) && !same(now.get(k), after.get(k)));
}

function comparable(tlvs: readonly Tlv[]): string {
  return JSON.stringify(tlvs.map((t) => [t.name, t.value]),
    (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
}

/** GET of the record steps' TLVs, as comparable text; the answer must be 2.05 and decode. */
async function getState(w: World, t: Target): Promise<string> {
  const r = await w.s.nms.get(t, GET_IDS, { timeoutMs: 5_000 });
  expect(codeText(r.code!), "GET of the records' TLVs").toBe("2.05");
  return comparable(r.tlvs);
}

/** Each step overwrites or adds one record; the TransferRequest erases and writes firmware state. */
const RECORDS: Sequence<RecordsSeen> = {
  steps: [
    { name: "ReportSubscribe 60 s", send: (s, t) => s.nms.setReportSubscription(t, { interval: 60, tlvid: ["22"] }) },
    { name: "GroupAssign 1/7", send: (s, t) => s.nms.assignGroup(t, { type: 1, id: 7 }) },
    { name: "EventSubscribe tamper", send: (s, t) => s.nms.subscribeEvents(t, [{ ianaen: 0, code: 3 }]) },
    // reg.min stays 1 s so every restart registers within about a second.
    { name: "NMSSettings 1..5 s", send: (s, t) => s.nms.setRegIntervals(t, { min: 1, max: 5 }) },
    { name: "ReportSubscribe 30 s", send: (s, t) => s.nms.setReportSubscription(t, { interval: 30, tlvid: ["22", "23"] }) },
    { name: "GroupAssign 2/9", send: (s, t) => s.nms.assignGroup(t, { type: 2, id: 9 }) },
    transferRequest,
  ],
  observe: async (w, t) => {
    const get = await getState(w, t);
    return { get, records: readRecords(w.stateDir).records };
  },
};
const RECORD_STEPS = RECORDS.steps.length - 1;

let records: CleanRun<RecordsSeen>;

/** The cut at a record-sequence write: records old or new at the cut and after the restart. */
async function recordCase(cut: Cut): Promise<void> {
  const w = await newWorld();
  try {
    const label = cutLabel(cut, records);
    const log = await cutRun(w, RECORDS, records, cut);
    const step = stepOf(records, cut.at);
    const before = step > 0 ? records.boundaries[step - 1].seen.records : new Map<string, Buffer>();
    const after = records.boundaries[step].seen.records;
    const onFlash = readRecords(w.stateDir);
    expect(neitherOldNorNew(onFlash.records, before, after), `${label}: records neither old nor new`).toEqual([]);
    const record = records.journal[cut.at - 1].match(/^record-write (\S+) (\d+) bytes$/);
    if (cut.torn && record) {
      // What files_write_atomic leaves when the power fails mid-write.
      expect(onFlash.temps, label).toEqual([`${record[1]}.rec.tmp`]);
      const torn = readFileSync(join(w.stateDir, "records", `${record[1]}.rec.tmp`));
      expect(torn.equals(after.get(record[1])!.subarray(0, Math.floor(Number(record[2]) / 2))), `${label}: the torn temporary holds the first half`).toBe(true);
    } else {
      expect(onFlash.temps, label).toEqual([]);
    }
    await restartAfterCut(w, label, log, async (run) => {
      const got = await getState(w, run.target);
      const allowed = step > 0 ? [records.boundaries[step - 1].seen.get, records.boundaries[step].seen.get] : [records.boundaries[0].seen.get];
      expect(allowed, `${label}: GET after the restart answered ${got}`).toContain(got);
      // Records this process has not written itself are still old or new.
      const rewritten = new Set(journal(run.log()).map((j) => j.match(/^record-(?:write|erase) (\S+)/)?.[1]).filter((k): k is string => !!k));
      expect(neitherOldNorNew(readRecords(w.stateDir).records, before, after, rewritten), `${label}: records after the restart`).toEqual([]);
    });
  } finally {
    await endWorld(w);
  }
}

// ---- firmware ----------------------------------------------------------------------------

/** The whole download, from a registered device running 6.8 to its registration running 6.9. */
const DOWNLOAD: Sequence<Row[]> = {
  steps: [transferRequest, ...Array.from({ length: BLOCKS }, (_, n) => imageBlock(n)), loadRequest],
  observe: (w, t) => images(w.s, t),
};

let download: CleanRun<Row[]>;
/** Marked blocks compared with slot 1 at the cuts, over the whole sweep. */
let marksChecked = 0;

/** The cut at a download write: no block marked without its data; then the download completes and 6.9 boots. */
async function firmwareCase(cut: Cut): Promise<void> {
  const w = await newWorld();
  try {
    const label = cutLabel(cut, download);
    const log = await cutRun(w, DOWNLOAD, download, cut);
    const { checked, wrong } = markedButWrong(stateDirFlash(w.stateDir), IMAGE, BLOCK);
    marksChecked += checked;
    expect(wrong, `${label}: blocks marked received without their data in slot 1`).toEqual([]);
    const slotWrite = download.journal[cut.at - 1].match(/^slot-write 1 @(\d+) (\d+) bytes$/);
    if (cut.torn && slotWrite) {
      // Blocks go in order: the slot ends where the torn write's first half stopped.
      const [at, half] = [Number(slotWrite[1]), Math.floor(Number(slotWrite[2]) / 2)];
      const partition = slotBytes(w.stateDir, 1, 0, at + BLOCK);
      expect(partition.subarray(0, at + half).equals(IMAGE.subarray(0, at + half)), `${label}: slot 1 up to the torn half`).toBe(true);
      expect(partition.subarray(at + half).every((b) => b === 0xff), `${label}: nothing after the torn half`).toBe(true);
    }
    await restartAfterCut(w, label, log, async (run) => {
      const rows = await finishDownload(w, run);
      expect(runningRow(rows), `${label}: the running image`).toMatchObject({ index: 0, version: VERSION, fileSize: IMAGE.length });
      expect(slotBytes(w.stateDir, 0, 0, IMAGE.length).equals(IMAGE), `${label}: slot 0 holds 6.9`).toBe(true);
      expect(rowsNotTrue(stateDirFlash(w.stateDir), rows), label).toEqual([]);
      // Only an activation the cut itself stopped may find the old image at boot.
      if (!download.journal[cut.at - 1].startsWith("slot-activate")) {
        expect(run.log(), `${label}: the device fell back from the good image`).not.toMatch(/firmware activation did not take effect/);
      }
    });
  } finally {
    await endWorld(w);
  }
}

// ---- the suite ----------------------------------------------------------------------------------

describe("csmp-agent power cuts (--power-cut-at)", () => {
  beforeAll(async () => {
    buildCHost("the C host", "build-pal.mjs");
    [records, download] = await Promise.all([cleanRun(RECORDS), cleanRun(DOWNLOAD)]);
  }, 600_000); // includes building the C host from scratch

  describe("records", () => {
    /** Boot, registration, the record steps and the TransferRequest (record and slot erases). */
    const sweep = (torn: boolean) => Array.from({ length: records.boundaries.at(-1)!.writes }, (_, i) => ({ at: i + 1, torn }));

    it("counts the durable writes of the sequence (clean run)", () => {
      expect(records.boundaries.length).toBe(RECORDS.steps.length + 1);
      // Boot and registration write records too; each record step writes exactly one record.
      expect(records.boundaries[0].writes).toBeGreaterThan(0);
      for (let i = 1; i <= RECORD_STEPS; i++) {
        const made = records.journal.slice(records.boundaries[i - 1].writes, records.boundaries[i].writes);
        expect(made, RECORDS.steps[i - 1].name).toEqual([expect.stringMatching(/^record-write \S+ \d+ bytes$/)]);
      }
      expect(records.journal.slice(records.boundaries[RECORD_STEPS].writes)).toContain("slot-erase 1");
    });

    it("every write, skipped: old or new, registers again", async () => {
      expect(await inParallel(sweep(false), PARALLEL, recordCase)).toEqual([]);
    }, 60_000);

    it("every write, torn: old or new, no temporary survives", async () => {
      expect(await inParallel(sweep(true), PARALLEL, recordCase)).toEqual([]);
    }, 60_000);
  });

  describe("a firmware download", () => {
    const from = () => download.boundaries[0].writes;
    const writes = () => download.journal.slice(from(), download.boundaries.at(-1)!.writes);

    it("the clean download: what it writes", () => {
      const [transfer, ...rest] = download.boundaries.slice(1).map((b, i) => download.journal.slice(download.boundaries[i].writes, b.writes));
      const blocks = rest.slice(0, BLOCKS);
      const load = rest[BLOCKS];
      // Bitmap and data go before the new transfer's state.
      expect(transfer).toEqual(["record-erase fwbits", "slot-erase 1", expect.stringMatching(/^record-write fwmeta \d+ bytes$/)]);
      // Each block: its data, then its mark; the last one's verification commits the state.
      for (const [n, made] of blocks.entries()) {
        const data = `slot-write 1 @${n * BLOCK} ${Math.min(BLOCK, IMAGE.length - n * BLOCK)} bytes`;
        const verified = n === BLOCKS - 1 ? [expect.stringMatching(/^record-write fwmeta/)] : [];
        expect(made, `ImageBlock ${n}`).toEqual([data, expect.stringMatching(/^record-write fwbits \d+ bytes$/), ...verified]);
      }
      // The load; the activation recorded before the platform acts; the boot
      // loader's swap at the reboot; the boot putting the infos right, then
      // dropping the bitmap (reset-cause records come in between).
      const firmware = load.filter((j) => /fwmeta|fwbits|^slot-|^boot-/.test(j)).map((j) => j.replace(/ \d+ bytes$/, ""));
      expect(firmware).toEqual([
        "record-write fwmeta", "record-write fwmeta", "slot-activate 1", "boot-swap 0 1", "record-write fwmeta", "record-erase fwbits",
      ]);
      expect(download.boundaries.at(-2)!.seen.find((r) => r.index === 1)).toMatchObject({ version: VERSION, fileSize: IMAGE.length });
      expect(runningRow(download.boundaries.at(-1)!.seen)).toMatchObject({ index: 0, version: VERSION });
    });

    it("every write skipped, every slot write also torn: nothing marked unwritten, the download completes, 6.9 boots and registers, the slots are described truly", async () => {
      const cuts: Cut[] = writes().flatMap((what, i) => {
        const at = from() + i + 1;
        return what.startsWith("slot-write") ? [{ at, torn: false }, { at, torn: true }] : [{ at, torn: false }];
      });
      expect(cuts.length).toBe(writes().length + BLOCKS);
      marksChecked = 0;
      expect(await inParallel(cuts, FIRMWARE_PARALLEL, firmwareCase)).toEqual([]);
      // The bitmap check saw blocks at most cuts during the blocks (1 + 2 + ... marked blocks, three times).
      expect(marksChecked).toBeGreaterThan(BLOCKS * BLOCKS);
    }, 180_000);
  });
});
