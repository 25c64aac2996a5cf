// Waiting for a promise on a virtual clock: nothing moves unless someone
// advances time, and the NMS client's promises resolve in microtasks after
// the clock callback that delivered the answer. drive() alternates the two.
import type { VirtualClock } from "../clock.ts";

/** A macrotask turn: every pending microtask (promise continuation) runs first. */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Advances `clock` in steps of stepMs until `promise` settles, for at most
 * maxMs of virtual time; returns its value or rethrows its error. Throws
 * when time runs out first.
 */
export async function drive<T>(clock: VirtualClock, promise: Promise<T>, maxMs: number, stepMs = 250): Promise<T> {
  let settled = false;
  promise.then(() => { settled = true; }, () => { settled = true; });
  await turn();
  const limit = clock.nowMs() + maxMs;
  while (!settled && clock.nowMs() < limit) {
    clock.advance(Math.min(stepMs, limit - clock.nowMs()));
    await turn();
  }
  if (!settled) throw new Error(`not settled within ${maxMs} ms of virtual time`);
  return promise;
}

/** Runs `attempt` until it succeeds, as an NMS retries a failed exchange; rethrows the last error. */
export async function retry<T>(attempts: number, attempt: (n: number) => Promise<T>): Promise<T> {
  let last: unknown;
  for (let n = 1; n <= attempts; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      last = e;
    }
  }
  throw last;
}
