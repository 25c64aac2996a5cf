// Seeded randomness for the fuzzer and the network simulator: every run is
// reproducible from its seed, and a failure report names the seed.
// sfc32 seeded through splitmix32 (host/random.ts; fast, good enough for test
// generation, never for keys).
import { sfc32 } from "../random.ts";

export class Rng {
  /** Uniform 32-bit unsigned integers (host/random.ts: the same stream as seededRandom's). */
  readonly u32: () => number;

  constructor(readonly seed: number) {
    this.u32 = sfc32(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick from an empty list");
    return items[this.int(items.length)];
  }

  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((n, [w]) => n + w, 0);
    let r = this.next() * total;
    for (const [w, v] of choices) {
      if (r < w) return v;
      r -= w;
    }
    return choices[choices.length - 1][1];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** An independent stream derived from this one (so adding draws in one place does not shift another). */
  fork(): Rng {
    return new Rng(this.u32());
  }
}

/** A uniform [0, 1) function for APIs that take one (NmsClient, SimulatedNms). */
export function uniform(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}
