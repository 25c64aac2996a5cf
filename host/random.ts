// Random bytes for the PAL: the OS CSPRNG for a real device, or a seeded
// generator so a test run (registration jitter, report jitter, message IDs,
// tokens) replays exactly; and a seeded uniform [0, 1) for simulations.
import { randomFillSync } from "node:crypto";

/** Fills the whole array with random bytes. */
export type RandomSource = (out: Uint8Array) => void;

export const systemRandom: RandomSource = (out) => {
  randomFillSync(out);
};

/**
 * A deterministic source (sfc32, seeded through splitmix32). Not for keys or
 * nonces in production, only for reproducible simulations.
 */
export function seededRandom(seed: number): RandomSource {
  const next = sfc32(seed);
  return (out) => {
    for (let i = 0; i < out.length; i += 4) {
      const v = next();
      for (let k = 0; k < 4 && i + k < out.length; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
  };
}

/** The sfc32 stream of u32s behind seededRandom (also the fuzzer's Rng). */
export function sfc32(seed: number): () => number {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next(); // let the state mix before use
  return next;
}

/**
 * mulberry32: a small seeded uniform [0, 1), for simulations (the simulated
 * NMS's ids, tokens and jitter) and reproducible random tests. Never for keys.
 */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
