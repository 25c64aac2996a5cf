// Power cuts in the POSIX WAMR host (csmp-agent --power-cut-at N[:torn],
// pal/posix/power_cut.c): the real agent, real UDP on [::1], real files.
//
// A clean run with --journal-writes numbers every durable write of one
// sequence: boot and registration, signed POSTs that change records
// (ReportSubscribe, GroupAssign, EventSubscribe, NMSSettings, then a
// second ReportSubscribe and GroupAssign over the first ones), then the
// start of a firmware download. At every boundary between steps it keeps
// the record files (<state>/records/*.rec) and the answer to a GET of the
// TLVs those records hold.
//
// Then, for every write of the record steps, skipped and torn, a fresh
// device runs the same sequence with the power cut there: the process must
// end with the power-cut exit (75) at that very write, each record file on
// "flash" must hold its value before or after the step in progress, a
// torn write must have left only its temporary file; the restarted process
// must remove that, register normally, answer the GET with the old or the
// new values and keep the record files old or new. Two firmware cases cut
// inside the download (a torn slot write, a skipped bitmap write): the
// block is not claimed received, and after the restart the download
// completes and the device boots the new image.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, afterAll, describe, expect, it } from "vitest";
import { codeText } from "../host/nms/coap.ts";
import type { ExchangeResult } from "../host/nms/sim.ts";
import type { Tlv } from "../host/nms/tlv.ts";
import { IMAGE_68, IMAGE_69, prepareDeviceDir, scenarioConfig } from "./scenario/device.ts";
import { startNms, type ScenarioNms } from "./scenario/scenario.ts";
import { AGENT_WASM } from "./scenario/wamr-device.ts";
import { buildCHost, CSMP_AGENT, ROOT, startHost, stopProcess } from "./support/c-host.ts";

/** pal/posix/host.h EXIT_POWER_CUT. */
const EXIT_POWER_CUT = 75;
/** ReportSubscribe, GroupInfo, EventSubscribe, NMSSettings: what the record steps change. */
const GET_IDS = [13, 58, 502, 42];
const IMAGE = readFileSync(IMAGE_69);
const HASH = createHash("sha256").update(IMAGE).digest();
const BLOCK = 1024;
const BLOCKS = Math.ceil(IMAGE.length / BLOCK);
/** The firmware cases cut while this block is stored. */
const CUT_BLOCK = 5;
/** Devices running at once (each its own NMS socket, state directory and process). */
const PARALLEL = 6;

type Target = { address: string; port: number };
type Step = { name: string; send: (s: ScenarioNms, t: Target) => Promise<ExchangeResult> };

const imageBlock = (n: number): Step => ({
  name: `ImageBlock ${n}`,
  // ImageBlock is exempt from signing (draft), as in the scenario.
  send: (s, t) => s.nms.post(t, [{ type: "ImageBlock", value: { fileHash: HASH, blockNum: n, blockData: IMAGE.subarray(n * BLOCK, (n + 1) * BLOCK) } }], { signed: false }),
});

/** The record steps; each overwrites or adds one record. */
const RECORD_STEPS: Step[] = [
  { name: "ReportSubscribe 60 s", send: (s, t) => s.nms.setReportSubscription(t, { interval: 60, tlvid: ["22"] }) },
  { name: "GroupAssign 1/7", send: (s, t) => s.nms.assignGroup(t, { type: 1, id: 7 }) },
  { name: "EventSubscribe tamper", send: (s, t) => s.nms.subscribeEvents(t, [{ ianaen: 0, code: 3 }]) },
  // reg.min stays 1 s so every restart registers within about a second.
  { name: "NMSSettings 1..5 s", send: (s, t) => s.nms.setRegIntervals(t, { min: 1, max: 5 }) },
  { name: "ReportSubscribe 30 s", send: (s, t) => s.nms.setReportSubscription(t, { interval: 30, tlvid: ["22", "23"] }) },
  { name: "GroupAssign 2/9", send: (s, t) => s.nms.assignGroup(t, { type: 2, id: 9 }) },
];
/** The firmware steps, only as far as the firmware cases need them. */
const FIRMWARE_STEPS: Step[] = [
  { name: "TransferRequest", send: (s, t) => s.nms.post(t, [{ type: "TransferRequest", value: {
    hwInfo: { hwId: "OPENCSMP" }, fileHash: HASH, fileName: "opencsmp-node", version: "6.9.99", fileSize: IMAGE.length, blockSize: BLOCK,
  } }]) },
  ...Array.from({ length: CUT_BLOCK + 2 }, (_, n) => imageBlock(n)),
];
const STEPS = [...RECORD_STEPS, ...FIRMWARE_STEPS];

// ---- a device and its world ----------------------------------------------------------

/** One device with its own NMS, configuration and state directory. */
interface World {
  s: ScenarioNms;
  eui64: string;
  root: string;
  stateDir: string;
  args: string[];
}

let nextEui = 1;
async function newWorld(): Promise<World> {
  const s = await startNms();
  const eui64 = `00173BAB5D${(nextEui++).toString(16).toUpperCase().padStart(6, "0")}`;
  const { root, stateDir } = prepareDeviceDir(readFileSync(IMAGE_68));
  const config = join(root, "device.conf");
  writeFileSync(config, scenarioConfig(eui64, { address: s.address, port: s.port, publicKeyHex: s.nms.publicKeyHex }));
  const args = ["--module", AGENT_WASM, "--config", config, "--bind", "::1", "--port", "0", "--state", stateDir,
    "--trust-system-time", "--journal-writes"];
  return { s, eui64, root, stateDir, args };
}

async function endWorld(w: World): Promise<void> {
  await w.s.close();
  rmSync(w.root, { recursive: true, force: true });
}

/** A csmp-agent run that may lose power at any moment, even before its agent starts. */
interface Run {
  log(): string;
  port: Promise<number>;
  /** Exit code or signal, once the process has ended and its output is all in. */
  closed: Promise<number | string>;
  isClosed(): boolean;
  stop(): Promise<number | string>;
  /** Resolves once every line the process logged before this call has been read. */
  logBarrier(): Promise<void>;
}

function launch(args: string[]): Run {
  const proc = spawn(CSMP_AGENT, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  let done = false;
  // "close", not "exit": the last line (the power cut's) must be read too.
  const closed = new Promise<number | string>((res) => proc.on("close", (code, sig) => { done = true; res(code ?? sig ?? -1); }));
  const port = new Promise<number>((res, rej) => {
    const onData = (b: Buffer) => {
      log += b.toString("utf8");
      const m = log.match(/net: listening on \[::1\]:(\d+)/);
      if (m) res(Number(m[1]));
    };
    proc.stderr.on("data", onData);
    proc.stdout.on("data", onData);
    void closed.then(() => rej(new Error(`csmp-agent ended before listening:\n${log}`)));
  });
  port.catch(() => {});
  // SIGUSR1 without --event-file makes the host log one line (pal/posix/main.c)
  // after everything it logged before: seeing it means stderr has caught up.
  const logBarrier = async () => {
    const ignored = /SIGUSR1 ignored/g;
    const before = log.match(ignored)?.length ?? 0;
    proc.kill("SIGUSR1");
    const end = Date.now() + 5_000;
    while ((log.match(ignored)?.length ?? 0) === before) {
      if (done || Date.now() > end) throw new Error(`csmp-agent did not log its SIGUSR1 line:\n${log}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { log: () => log, port, closed, isClosed: () => done, stop: () => stopProcess(proc, closed), logBarrier };
}

/** The numbered durable writes a run has logged so far (--journal-writes). */
function journal(log: string): string[] {
  return [...log.matchAll(/power-cut: durable write (\d+): (.*)$/gm)].map((m) => m[2]);
}

/** Polls until done() holds or the run has ended; false when it ended first. */
async function until(run: Pick<Run, "log" | "isClosed">, what: string, done: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (run.isClosed()) return false;
    if (Date.now() > end) throw new Error(`${what} did not happen within ${timeoutMs} ms:\n${run.log()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

const registrations = (w: World) => w.s.registrations.filter((e) => e.eui64 === w.eui64 && e.outcome === "registered").length;

/** GET of the record steps' TLVs, as comparable text; the answer must be 2.05 and decode. */
async function getState(w: World, t: Target): Promise<string> {
  const r = await w.s.nms.get(t, GET_IDS, { timeoutMs: 5_000 });
  expect(codeText(r.code!), "GET of the records' TLVs").toBe("2.05");
  return comparable(r.tlvs);
}

function comparable(tlvs: readonly Tlv[]): string {
  return JSON.stringify(tlvs.map((t) => [t.name, t.value]),
    (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
}

type Records = Map<string, Buffer>;

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

// ---- the sequence ------------------------------------------------------------------------

/** What the clean run saw at each boundary: after boot and registration (0), after step i (i + 1). */
interface Boundary {
  writes: number;
  records: Records;
  get: string;
}

/**
 * Runs boot, registration and the steps on a running process. With `clean`
 * every step must succeed and each boundary is recorded; otherwise it stops
 * quietly once the process has ended (the power cut). Returns the boundaries.
 */
async function drive(w: World, run: Run, clean: boolean): Promise<Boundary[]> {
  const seen: Boundary[] = [];
  const mark = async (t: Target) => {
    // The GET's round trip makes sure the agent has handled what came
    // before; the barrier, that its log lines about it have been read.
    const get = await getState(w, t);
    await run.logBarrier();
    seen.push({ writes: journal(run.log()).length, records: readRecords(w.stateDir).records, get });
  };
  let port: number;
  try {
    port = await run.port;
  } catch {
    return seen; // the power went during the agent's start
  }
  const t = { address: "::1", port };
  if (!await until(run, "registration", () => registrations(w) > 0)) return seen;
  if (clean) await mark(t);
  else if (!await until(run, "the registration's writes", () => journal(run.log()).length >= boundaries[0].writes)) return seen;
  for (const [i, step] of STEPS.entries()) {
    const answer = step.send(w.s, t);
    answer.catch(() => {}); // unanswered when the power goes
    const r = await Promise.race([answer, run.closed.then(() => null)]);
    if (!r) return seen;
    expect(codeText(r.code!).startsWith("2."), `${step.name} answered ${codeText(r.code!)}`).toBe(true);
    if (clean) await mark(t);
    else if (!await until(run, `the writes of ${step.name}`, () => journal(run.log()).length >= boundaries[i + 1].writes)) return seen;
  }
  return seen;
}

let boundaries: Boundary[] = [];
let cleanJournal: string[] = [];

// ---- one power cut ---------------------------------------------------------------------------

/** The process started over the state a cut left. */
type Restarted = Pick<Run, "log" | "isClosed" | "stop">;

interface Cut {
  at: number;
  torn: boolean;
}

/** The boundary index of the step write n belongs to (0: boot and registration). */
const stepOf = (n: number) => boundaries.findIndex((b) => b.writes >= n);

/**
 * Runs the sequence with the power cut at write `cut.at`, checks what is on
 * "flash" (more checks in `inspect`), restarts and checks; returns the
 * restarted run.
 */
async function cutAndRestart(w: World, cut: Cut, inspect?: () => void): Promise<{ run: Restarted; target: Target; step: number }> {
  const label = `cut at write ${cut.at}${cut.torn ? " (torn)" : ""}: ${cleanJournal[cut.at - 1]}`;
  const first = launch([...w.args, "--power-cut-at", `${cut.at}${cut.torn ? ":torn" : ""}`]);
  try {
    await drive(w, first, false);
  } finally {
    if (!first.isClosed()) await first.stop();
  }
  const log = first.log();
  expect(await first.closed, `${label}: exit status\n${log}`).toBe(EXIT_POWER_CUT);
  expect(log, label).toMatch(new RegExp(`power-cut: power lost at durable write ${cut.at} \\(`));
  // The same writes as the clean run up to the cut, so the step in progress is known.
  expect(journal(log), `${label}: the journal up to the cut`).toEqual(cleanJournal.slice(0, cut.at));

  const step = stepOf(cut.at);
  const before = step > 0 ? boundaries[step - 1].records : new Map<string, Buffer>();
  const after = boundaries[step].records;
  const what = cleanJournal[cut.at - 1];
  const onFlash = readRecords(w.stateDir);
  expect(neitherOldNorNew(onFlash.records, before, after), `${label}: records neither old nor new`).toEqual([]);
  const record = what.match(/^record-write (\S+) (\d+) bytes$/);
  if (cut.torn && record) {
    // What files_write_atomic leaves when the power fails mid-write.
    expect(onFlash.temps, label).toEqual([`${record[1]}.rec.tmp`]);
    const torn = readFileSync(join(w.stateDir, "records", `${record[1]}.rec.tmp`));
    expect(torn.equals(after.get(record[1])!.subarray(0, Math.floor(Number(record[2]) / 2))), `${label}: the torn temporary holds the first half`).toBe(true);
  } else {
    expect(onFlash.temps, label).toEqual([]);
  }
  inspect?.();

  // Power back: a normal start over the same state directory.
  const regs = registrations(w);
  const host = await startHost(CSMP_AGENT, w.args, { started: /host: agent started/, what: "csmp-agent" });
  const run = { log: host.log, isClosed: () => host.proc.exitCode !== null, stop: () => stopProcess(host.proc, host.exited) };
  try {
    const target = { address: "::1", port: host.port };
    expect(readdirSync(join(w.stateDir, "records")).filter((f) => f.endsWith(".tmp")), `${label}: temporaries after the start`).toEqual([]);
    expect(readdirSync(w.stateDir).filter((f) => f.endsWith(".tmp")), label).toEqual([]);
    await until(run, "registration after the power cut", () => registrations(w) > regs);
    const got = await getState(w, target);
    const allowed = step > 0 ? [boundaries[step - 1].get, boundaries[step].get] : [boundaries[0].get];
    expect(allowed, `${label}: GET after the restart answered ${got}`).toContain(got);
    // Records this process has not written itself are still old or new.
    const rewritten = new Set(journal(host.log()).map((j) => j.match(/^record-(?:write|erase) (\S+)/)?.[1]).filter((k): k is string => !!k));
    expect(neitherOldNorNew(readRecords(w.stateDir).records, before, after, rewritten), `${label}: records after the restart`).toEqual([]);
    return { run, target, step };
  } catch (e) {
    await run.stop();
    throw new Error(`${(e as Error).message}\n---- run with the cut ----\n${log}\n---- restart ----\n${host.log()}`);
  }
}

/** Runs fn over items, `limit` at a time; resolves with the failures, by item. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failures.push(`${JSON.stringify(item)}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return failures;
}

async function recordCase(cut: Cut): Promise<void> {
  const w = await newWorld();
  try {
    const { run } = await cutAndRestart(w, cut);
    expect(await run.stop(), "the restarted process stops cleanly").toBe(0);
  } finally {
    await endWorld(w);
  }
}

// ---- the suite ----------------------------------------------------------------------------------

describe("csmp-agent power cuts (--power-cut-at)", () => {
  beforeAll(async () => {
    buildCHost("the C host", "build-pal.mjs");
    const w = await newWorld();
    const run = launch(w.args);
    try {
      boundaries = await drive(w, run, true);
      cleanJournal = journal(run.log());
      expect(await run.stop(), `clean run:\n${run.log()}`).toBe(0);
    } finally {
      await endWorld(w);
    }
  }, 600_000); // includes building the C host from scratch

  afterAll(() => {
    boundaries = [];
  });

  const recordWrites = () => boundaries[RECORD_STEPS.length].writes;
  /** The sweep: boot, registration, the record steps and the TransferRequest (record and slot erases). */
  const sweep = (torn: boolean) => Array.from({ length: boundaries[RECORD_STEPS.length + 1].writes }, (_, i) => ({ at: i + 1, torn }));

  it("counts the durable writes of the sequence (clean run)", () => {
    expect(boundaries.length).toBe(STEPS.length + 1);
    // Boot and registration write records too; each record step writes exactly one record.
    expect(boundaries[0].writes).toBeGreaterThan(0);
    for (let i = 1; i <= RECORD_STEPS.length; i++) {
      const made = cleanJournal.slice(boundaries[i - 1].writes, boundaries[i].writes);
      expect(made, RECORD_STEPS[i - 1].name).toEqual([expect.stringMatching(/^record-write \S+ \d+ bytes$/)]);
    }
    // The firmware steps: the transfer erases slot 1; each block is a slot write, then a record (the bitmap).
    const transfer = cleanJournal.slice(recordWrites(), boundaries[RECORD_STEPS.length + 1].writes);
    expect(transfer).toContain("slot-erase 1");
    for (let n = 0; n < FIRMWARE_STEPS.length - 1; n++) {
      const i = RECORD_STEPS.length + 2 + n;
      expect(cleanJournal.slice(boundaries[i - 1].writes, boundaries[i].writes), `ImageBlock ${n}`)
        .toEqual([`slot-write 1 @${n * BLOCK} ${BLOCK} bytes`, expect.stringMatching(/^record-write \S+ \d+ bytes$/)]);
    }
  });

  it("every write up to the TransferRequest, skipped: old or new, registers again", async () => {
    expect(await inParallel(sweep(false), PARALLEL, recordCase)).toEqual([]);
  }, 60_000);

  it("every write up to the TransferRequest, torn: old or new, no temporary survives", async () => {
    expect(await inParallel(sweep(true), PARALLEL, recordCase)).toEqual([]);
  }, 60_000);

  it("firmware: a torn slot write and a skipped bitmap write mid-download; after the restart the download completes", async () => {
    const slotWrite = cleanJournal.indexOf(`slot-write 1 @${CUT_BLOCK * BLOCK} ${BLOCK} bytes`) + 1;
    const cuts: Cut[] = [{ at: slotWrite, torn: true }, { at: slotWrite + 1, torn: false }];
    expect(cleanJournal[slotWrite]).toMatch(/^record-write \S+ \d+ bytes$/); // the bitmap after the block
    expect(await inParallel(cuts, PARALLEL, firmwareCase)).toEqual([]);
  }, 60_000);
});

// ---- firmware ---------------------------------------------------------------------------------

type Row = Record<string, unknown>;

async function slotInfo(w: World, t: Target, index: number): Promise<Row | undefined> {
  const r = await w.s.nms.get(t, [75], { timeoutMs: 5_000 });
  expect(codeText(r.code!)).toBe("2.05");
  return r.tlvs.map((x) => x.value as Row).find((v) => (v.index ?? 0) === index);
}

/** Blocks slot 1's bitmap (big-endian, 1 = received) marks received. */
function received(info: Row | undefined): Set<number> {
  const bits = info?.bitmap instanceof Uint8Array ? info.bitmap : new Uint8Array();
  const offset = Number(info?.bitmapOffset ?? 0);
  const out = new Set<number>();
  for (let n = 0; n < bits.length * 8; n++) if (bits[n >> 3] & (0x80 >> (n & 7))) out.add(offset + n);
  return out;
}

async function firmwareCase(cut: Cut): Promise<void> {
  const w = await newWorld();
  try {
    // A torn block: its first half landed in the slot file, nothing after it.
    const tornBlock = () => {
      const slot = readFileSync(join(w.stateDir, "slot-1.bin"));
      const from = CUT_BLOCK * BLOCK;
      expect(slot.length, "the slot file ends where the torn write stopped").toBe(from + BLOCK / 2);
      expect(slot.subarray(from).equals(IMAGE.subarray(from, from + BLOCK / 2)), "the torn half").toBe(true);
    };
    const { run, target } = await cutAndRestart(w, cut, cut.torn ? tornBlock : undefined);
    try {
      const have = received(await slotInfo(w, target, 1));
      expect(have.has(CUT_BLOCK), `block ${CUT_BLOCK} claimed received after the cut`).toBe(false);
      for (let n = 0; n < CUT_BLOCK; n++) expect(have.has(n), `block ${n}`).toBe(true);
      for (let n = 0; n < BLOCKS; n++) {
        if (have.has(n)) continue;
        const r = await imageBlock(n).send(w.s, target);
        expect(codeText(r.code!).startsWith("2."), `block ${n} answered ${codeText(r.code!)}`).toBe(true);
      }
      const upload = await slotInfo(w, target, 1);
      expect(received(upload).size, "every block received").toBe(BLOCKS);
      expect(Buffer.from(upload!.fileHash as Uint8Array).equals(HASH)).toBe(true);
      const slot = readFileSync(join(w.stateDir, "slot-1.bin"));
      expect(slot.subarray(0, IMAGE.length).equals(IMAGE), "slot 1 holds the image").toBe(true);

      // Load it: the agent checks the hash, reboots, and the boot loader swaps it in.
      const regs = registrations(w);
      const l = await w.s.nms.post(target, [{ type: "LoadRequest", value: { fileHash: HASH } }]);
      const load = l.tlvs.find((x) => x.type === 72)?.value as Row | undefined;
      expect(load, "a LoadResponse").toBeDefined();
      expect(load!.response ?? 0, "LoadResponse").toBe(0);
      await until(run, "registration after the reboot into 6.9", () => registrations(w) > regs);
      const running = await slotInfo(w, target, 0);
      expect(running, "the running image").toMatchObject({ isRunning: true, version: "6.9.99", fileSize: IMAGE.length });
    } finally {
      expect(await run.stop(), "the restarted process stops cleanly").toBe(0);
    }
  } finally {
    await endWorld(w);
  }
}
