// A fuzzing campaign: episodes of a few hundred inputs, each on a freshly
// booted and registered device, every input checked by the oracle. A step
// is exactly what a regression file stores (time offset, source, bytes), and
// runStep() is the one path both the campaign and the replay take, so a
// saved failure replays the same calls in the same order.
import { NMS_PORT, FuzzTarget, SNAPSHOT_PORT, type FuzzInput } from "./target.ts";
import { Oracle } from "./oracle.ts";
import { DeterministicSigner } from "./p256-signer.ts";
import { generateSeed, type GenContext } from "./generate.ts";
import { mutate } from "./mutate.ts";
import { Rng } from "./rng.ts";
import { fromHex, toHex } from "./bytes.ts";
import type { LogEntry } from "../log.ts";

export interface Step {
  /** Virtual ms after setup at which the input is delivered. */
  atMs: number;
  to: FuzzInput["to"];
  from: FuzzInput["from"];
  srcPort: number;
  hex: string;
  /** How it was made (seed kind and mutations); for people only. */
  note?: string;
}

export interface Images {
  /** Installed in slot 0 (the 6.8 sample image). */
  running: Uint8Array;
  /** What generated transfers carry (the 6.9 sample image). */
  upload: Uint8Array;
}

export interface Failure {
  seed: number;
  /** Index of the failing input in the campaign. */
  index: number;
  targetSeed: number;
  violations: string[];
  /** The steps that reproduce it on a fresh target (just the failing one when it fails alone). */
  steps: Step[];
  log: string[];
}

export interface CampaignOptions {
  wasm: WebAssembly.Module;
  seed: number;
  count: number;
  /** Inputs per device lifetime (default 250). */
  episode?: number;
  images?: Images;
  captured?: readonly Uint8Array[];
  /** Stop after this many failures (default 10). */
  maxFailures?: number;
  progress?: (done: number, failures: number) => void;
  /** Called before each step runs (tracing a hang: the last step printed is the culprit). */
  onStep?: (step: Step, index: number) => void;
  /** Every line the agent and host log (a rough view of which paths the inputs reach). */
  onLog?: (e: LogEntry) => void;
}

export interface CampaignResult {
  inputs: number;
  failures: Failure[];
  /** Inputs per seed kind, to see what the campaign exercised. */
  kinds: Record<string, number>;
  /** Inputs the device refused or that changed its state. */
  stateChanges: number;
}

export const signer = new DeterministicSigner();
const wrongSigner = new DeterministicSigner("a key the device does not trust");

export function newTarget(wasm: WebAssembly.Module, targetSeed: number, images?: Images, onLog?: (e: LogEntry) => void): FuzzTarget {
  const t = new FuzzTarget({ wasm, signer, seed: targetSeed, runningImage: images?.running, onLog });
  t.setup();
  return t;
}

export interface StepResult {
  violations: string[];
  stateChanged: boolean;
}

/** Advances to the step's time, delivers it between two state snapshots, checks everything. */
export function runStep(target: FuzzTarget, oracle: Oracle, step: Step): StepResult {
  const rel = target.clock.nowMs() - target.epochMs;
  const meanwhile = step.atMs > rel ? target.advance(step.atMs - rel) : [];
  const input: FuzzInput = { to: step.to, from: step.from, srcPort: step.srcPort, bytes: fromHex(step.hex) };
  const bootsBefore = target.host.bootCount;
  const stateBefore = target.snapshot();
  const delivery = target.deliver(input);
  const stateAfter = target.snapshot();
  const violations = oracle.check({
    input, atMs: step.atMs, sent: [...meanwhile, ...delivery.sent], delivered: delivery.delivered,
    fatal: target.host.lastFatal, bootsBefore, bootsAfter: target.host.bootCount,
    memoryBytes: target.host.memoryStats()?.bytes ?? null, stateBefore, stateAfter, nowS: target.nowS(), storm: target.storm,
  });
  const stateChanged = stateBefore !== null && stateAfter !== null && toHex(stateBefore) !== toHex(stateAfter);
  return { violations, stateChanged };
}

/** Replays steps on a fresh target; returns the first failing step's violations (empty: passes). */
export function replay(wasm: WebAssembly.Module, targetSeed: number, steps: readonly Step[], images?: Images): { index: number; violations: string[] } {
  const target = newTarget(wasm, targetSeed, images);
  const oracle = new Oracle(signer);
  try {
    for (let i = 0; i < steps.length; i++) {
      const r = runStep(target, oracle, steps[i]);
      if (r.violations.length) return { index: i, violations: r.violations };
    }
    return { index: -1, violations: [] };
  } finally {
    target.stop();
  }
}

/** Fuzz source ports: never the NMS's, never the snapshot's, cycling so IDs rarely repeat. */
function sourcePort(n: number): number {
  const p = 1024 + (n % 38000);
  return p === SNAPSHOT_PORT || p === NMS_PORT ? p + 1 : p;
}

export function runCampaign(o: CampaignOptions): CampaignResult {
  const rng = new Rng(o.seed);
  const episode = o.episode ?? 250;
  const result: CampaignResult = { inputs: 0, failures: [], kinds: {}, stateChanges: 0 };
  const maxFailures = o.maxFailures ?? 10;
  for (let ep = 0; result.inputs < o.count && result.failures.length < maxFailures; ep++) {
    const targetSeed = (Math.imul(o.seed, 7919) + ep) >>> 0;
    const target = newTarget(o.wasm, targetSeed, o.images, o.onLog);
    const oracle = new Oracle(signer);
    const steps: Step[] = [];
    try {
      for (let j = 0; j < episode && result.inputs < o.count; j++) {
        const step = nextStep(rng, target, steps, o, result.inputs);
        steps.push(step);
        const index = result.inputs++;
        const kind = step.note?.split(" | ")[0] ?? "?";
        result.kinds[kind] = (result.kinds[kind] ?? 0) + 1;
        o.onStep?.(step, index);
        const r = runStep(target, oracle, step);
        if (r.stateChanged) result.stateChanges++;
        if (r.violations.length) {
          result.failures.push(minimize(o, { seed: o.seed, index, targetSeed, violations: r.violations, steps, log: [...target.recentLog] }));
          break; // the device may be in any state now: start a fresh episode
        }
        if (j % 50 === 49) target.forget();
      }
    } finally {
      target.stop();
    }
    o.progress?.(result.inputs, result.failures.length);
  }
  return result;
}

function nextStep(rng: Rng, target: FuzzTarget, previous: readonly Step[], o: CampaignOptions, n: number): Step {
  const rel = target.clock.nowMs() - target.epochMs;
  // Time passes now and then, so timers (reports, async answers, retransmissions) run between inputs.
  const atMs = rel + (rng.chance(0.05) ? rng.pick([100, 2_000, 30_000, 300_000, 3_600_000]) : 0);
  const last = previous[previous.length - 1];
  if (last && rng.chance(0.05)) return { ...last, atMs, note: `duplicate | of the previous input` };
  const ctx: GenContext = {
    rng, nowS: Math.floor((target.clock.wallTimeMs() + (atMs - rel)) / 1000), signer, wrongSigner,
    lastDeviceRequest: target.lastDeviceRequest(), captured: o.captured ?? [], upload: o.images?.upload, running: o.images?.running,
  };
  const seed = generateSeed(ctx);
  const other = (): Uint8Array => generateSeed({ ...ctx, rng: rng.fork() }).bytes;
  const m = rng.chance(0.7) ? mutate(seed.bytes, rng, other) : { name: "unmutated", bytes: seed.bytes };
  return {
    atMs, to: seed.to, from: seed.from, srcPort: seed.fromNmsPort ? NMS_PORT : sourcePort(n),
    hex: toHex(m.bytes), note: `${seed.kind} | ${m.name}`,
  };
}

/**
 * A small reproducer: the failing step alone, else the last ten, else the
 * whole episode; then earlier steps are dropped in chunks (halving the chunk
 * size, as delta debugging does) while the last step still fails.
 */
function minimize(o: CampaignOptions, f: Failure): Failure {
  // Steps keep their times: signed inputs carry validity windows of that moment.
  const fails = (steps: readonly Step[]): string[] | null => {
    const r = replay(o.wasm, f.targetSeed, steps, o.images);
    return r.index === steps.length - 1 ? r.violations : null;
  };
  let found: Step[] | null = null;
  let violations = f.violations;
  for (const steps of [f.steps.slice(-1), f.steps.slice(-10), f.steps]) {
    const v = fails(steps);
    if (v) { found = steps; violations = v; break; }
  }
  if (!found) return f;
  let best: Step[] = found;
  for (let chunk = Math.max(1, (best.length - 1) >> 1); chunk >= 1; chunk >>= 1) {
    for (let at = 0; at < best.length - 1;) {
      const candidate: Step[] = [...best.slice(0, at), ...best.slice(Math.min(at + chunk, best.length - 1))];
      const v = candidate.length < best.length ? fails(candidate) : null;
      if (v) { best = candidate; violations = v; } else at += chunk;
    }
  }
  return { ...f, steps: best, violations };
}
