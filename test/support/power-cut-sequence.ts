// A csmp-agent device driven through a fixed sequence of NMS requests, once
// cleanly and then again with the power cut at one durable write
// (power-cut-run.ts), then started again over the state the cut left.
//
// The clean run notes, at every boundary between steps (after boot and
// registration, after each step), how many durable writes the process has
// made and whatever the test observes there. A run with a cut waits for the
// same write counts between steps, so its writes come in the clean run's
// order and "write N" names the same write in both.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { codeText } from "../../host/nms/coap.ts";
import type { ExchangeResult } from "../../host/nms/sim.ts";
import { IMAGE_68, prepareDeviceDir, scenarioConfig } from "../scenario/device.ts";
import { startNms, type ScenarioNms } from "../scenario/scenario.ts";
import { AGENT_WASM } from "../scenario/wamr-device.ts";
import { CSMP_AGENT, startHost, stopProcess } from "./c-host.ts";
import { EXIT_POWER_CUT, journal, launch, until, type Run } from "./power-cut-run.ts";

export type Target = { address: string; port: number };

export interface Step {
  name: string;
  send: (s: ScenarioNms, t: Target) => Promise<ExchangeResult>;
  /**
   * For a step whose effect outlasts its answer (a load that reboots the
   * agent): true once it is over, given the registrations before the step.
   * The clean run waits for it; a run with a cut waits for the writes.
   */
  settled?: (w: World, registrationsBefore: number) => boolean;
}

/** The steps, and what the clean run observes at each boundary besides the write count. */
export interface Sequence<T> {
  steps: Step[];
  /** Must make a round trip to the agent: the boundary is taken once the agent has handled all before. */
  observe: (w: World, t: Target) => Promise<T>;
}

export interface Boundary<T> {
  writes: number;
  seen: T;
}

export interface CleanRun<T> {
  /** After boot and registration (0), after step i (i + 1). */
  boundaries: Boundary<T>[];
  journal: string[];
}

/** One device with its own NMS, configuration and state directory. */
export interface World {
  s: ScenarioNms;
  eui64: string;
  root: string;
  stateDir: string;
  args: string[];
}

let nextEui = 1;
export async function newWorld(): Promise<World> {
  const s = await startNms();
  const eui64 = `00173BAB5D${(nextEui++).toString(16).toUpperCase().padStart(6, "0")}`;
  const { root, stateDir } = prepareDeviceDir(readFileSync(IMAGE_68));
  const config = join(root, "device.conf");
  writeFileSync(config, scenarioConfig(eui64, { address: s.address, port: s.port, publicKeyHex: s.nms.publicKeyHex }));
  const args = ["--module", AGENT_WASM, "--config", config, "--bind", "::1", "--port", "0", "--state", stateDir,
    "--trust-system-time", "--journal-writes"];
  return { s, eui64, root, stateDir, args };
}

export async function endWorld(w: World): Promise<void> {
  await w.s.close();
  rmSync(w.root, { recursive: true, force: true });
}

export const registrations = (w: World) => w.s.registrations.filter((e) => e.eui64 === w.eui64 && e.outcome === "registered").length;

/**
 * Runs boot, registration and the steps on a running process. Without a
 * reference (the clean run) every step must succeed and each boundary is
 * noted; with one, it keeps to the reference's write counts and stops
 * quietly once the process has ended (the power cut). Returns the boundaries.
 */
export async function drive<T>(w: World, run: Run, seq: Sequence<T>, reference: CleanRun<T> | null): Promise<Boundary<T>[]> {
  const seen: Boundary<T>[] = [];
  const mark = async (t: Target) => {
    const observed = await seq.observe(w, t);
    // The observation's round trip means the agent has handled what came
    // before; the barrier, that its log lines about it have been read.
    await run.logBarrier();
    seen.push({ writes: journal(run.log()).length, seen: observed });
  };
  const writesOf = (i: number) => () => journal(run.log()).length >= reference!.boundaries[i].writes;
  let port: number;
  try {
    port = await run.port;
  } catch {
    return seen; // the power went during the agent's start
  }
  const t = { address: "::1", port };
  if (!await until(run, "registration", () => registrations(w) > 0)) return seen;
  if (!reference) await mark(t);
  else if (!await until(run, "the registration's writes", writesOf(0))) return seen;
  for (const [i, step] of seq.steps.entries()) {
    const regs = registrations(w);
    const answer = step.send(w.s, t);
    answer.catch(() => {}); // unanswered when the power goes
    const r = await Promise.race([answer, run.closed.then(() => null)]);
    if (!r) return seen;
    expect(codeText(r.code!).startsWith("2."), `${step.name} answered ${codeText(r.code!)}`).toBe(true);
    if (reference) {
      if (!await until(run, `the writes of ${step.name}`, writesOf(i + 1))) return seen;
      continue;
    }
    if (step.settled) await until(run, `the end of ${step.name}`, () => step.settled!(w, regs));
    await mark(t);
  }
  return seen;
}

/** A clean run of the sequence on a fresh device: its boundaries and journal. */
export async function cleanRun<T>(seq: Sequence<T>): Promise<CleanRun<T>> {
  const w = await newWorld();
  const run = launch(w.args);
  try {
    const boundaries = await drive(w, run, seq, null);
    const writes = journal(run.log());
    expect(await run.stop(), `clean run:\n${run.log()}`).toBe(0);
    return { boundaries, journal: writes };
  } finally {
    if (!run.isClosed()) await run.stop();
    await endWorld(w);
  }
}

export interface Cut {
  at: number;
  torn: boolean;
}

/** "cut at write 12 (torn): slot-write 1 @0 1024 bytes", for messages. */
export const cutLabel = (cut: Cut, ref: CleanRun<unknown>) => `cut at write ${cut.at}${cut.torn ? " (torn)" : ""}: ${ref.journal[cut.at - 1]}`;

/** The boundary index of the step write n belongs to (0: boot and registration). */
export const stepOf = (ref: CleanRun<unknown>, n: number) => ref.boundaries.findIndex((b) => b.writes >= n);

/**
 * Runs the sequence on w with the power cut at `cut`; the process must end
 * with the power-cut exit at that very write, after the clean run's writes
 * up to it. Returns its log.
 */
export async function cutRun<T>(w: World, seq: Sequence<T>, ref: CleanRun<T>, cut: Cut): Promise<string> {
  const label = cutLabel(cut, ref);
  const run = launch([...w.args, "--power-cut-at", `${cut.at}${cut.torn ? ":torn" : ""}`]);
  try {
    await drive(w, run, seq, ref);
  } finally {
    if (!run.isClosed()) await run.stop();
  }
  const log = run.log();
  expect(await run.closed, `${label}: exit status\n${log}`).toBe(EXIT_POWER_CUT);
  expect(log, label).toMatch(new RegExp(`power-cut: power lost at durable write ${cut.at} \\(`));
  expect(journal(log), `${label}: the journal up to the cut`).toEqual(ref.journal.slice(0, cut.at));
  return log;
}

/** The process started over the state a cut left, registered. */
export interface Restarted extends Pick<Run, "log" | "isClosed" | "stop"> {
  target: Target;
}

/**
 * Power back: a normal start over w's state directory. No temporary file may
 * survive the start and the device must register; then `check` runs. A
 * failure carries both logs. The process must stop cleanly at the end.
 */
export async function restartAfterCut(w: World, label: string, cutLog: string, check: (r: Restarted) => Promise<void>): Promise<void> {
  const regs = registrations(w);
  const host = await startHost(CSMP_AGENT, w.args, { started: /host: agent started/, what: "csmp-agent" });
  const run: Restarted = {
    log: host.log, isClosed: () => host.proc.exitCode !== null, stop: () => stopProcess(host.proc, host.exited),
    target: { address: "::1", port: host.port },
  };
  try {
    expect(readdirSync(join(w.stateDir, "records")).filter((f) => f.endsWith(".tmp")), `${label}: temporaries after the start`).toEqual([]);
    expect(readdirSync(w.stateDir).filter((f) => f.endsWith(".tmp")), label).toEqual([]);
    await until(run, "registration after the power cut", () => registrations(w) > regs);
    await check(run);
  } catch (e) {
    await run.stop();
    throw new Error(`${(e as Error).message}\n---- run with the cut ----\n${cutLog}\n---- restart ----\n${host.log()}`);
  }
  expect(await run.stop(), `${label}: the restarted process stops cleanly`).toBe(0);
}
