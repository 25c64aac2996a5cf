// Random delays for the draft's jittered schedules, from the PAL's source.
import { pal_random } from "../pal";

const word = memory.data(4);

/** A uniformly random integer in [lo, hi] (hi >= lo, span below 2^32). */
export function randomBetween(lo: u32, hi: u32): u32 {
  pal_random(word, 4);
  const span = <u64>(hi - lo) + 1;
  return lo + <u32>(<u64>load<u32>(word) % span);
}
