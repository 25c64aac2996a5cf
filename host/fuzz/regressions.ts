// Regression files: one JSON file per failing input a campaign found, under
// test/fuzz-regressions/. test/fuzz.test.ts replays every file on a fresh
// target and expects no violation, so a fixed bug stays fixed.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Failure, Step } from "./campaign.ts";

export interface RegressionFile {
  /** The first violation, as found. */
  description: string;
  violations: string[];
  seed: number;
  index: number;
  /** Seeds the target's setup (boot, registration) so the replay starts identically. */
  targetSeed: number;
  /** Whether the campaign ran with the sample images (slot 0 = 6.8; transfers of 6.9). */
  images: boolean;
  steps: Step[];
  /** The device's last log lines when it failed. */
  log: string[];
  /**
   * Set while the agent bug is known and not yet fixed: the replay is then
   * expected to fail (it.fails), so the suite stays green and turns red the
   * day the fix lands, as a reminder to delete this field.
   */
  open?: string;
}

/** Writes the file; `name` (without .json) defaults to seed-S-input-I. */
export function saveRegression(dir: string, f: Failure, images: boolean, name = `seed-${f.seed}-input-${f.index}`): string {
  mkdirSync(dir, { recursive: true });
  const file: RegressionFile = {
    description: f.violations[0] ?? "", violations: f.violations, seed: f.seed, index: f.index,
    targetSeed: f.targetSeed, images, steps: f.steps, log: f.log,
  };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(file, null, 2) + "\n");
  return path;
}

export function loadRegressions(dir: string): { name: string; file: RegressionFile }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return [];
  }
  return names.map((name) => ({ name, file: JSON.parse(readFileSync(join(dir, name), "utf8")) as RegressionFile }));
}
