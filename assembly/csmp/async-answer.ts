// Asynchronous answers: requests carrying the `a` query option, and NON
// POSTs with outputs (DescriptionRequest), are answered later by a NON POST
// to <nms>/c (or to the URL of the `r` option) carrying SessionID,
// CurrentTime and the requested TLVs. Only TLV ids are kept: the request's
// buffer is reused, and the values are read when the answer goes out.
import { pal_timer_arm } from "../pal";
import { postTlvs } from "./client";
import { nmsAddr, nmsPort } from "./nms";
import { randomBetween } from "../runtime/random";
import { periodMs } from "../runtime/schedule";

export const TIMER_ASYNC: i32 = 4;
const MAX_IDS = 64;
const ids = memory.data(MAX_IDS * 8);
let idCount = 0;
const dest = memory.data(16);
let destPort: i32 = 0;
let useNms = true;
let waiting = false;

/**
 * Starts collecting an asynchronous answer. While one is already waiting to
 * go out, new ids join it (one answer carries both): a NON request arriving
 * in the wait must not wipe what an earlier request is owed.
 */
export function asyncReset(): void {
  if (waiting) return;
  idCount = 0;
  useNms = true;
}

export function asyncAddId(id: u64): void {
  for (let i = 0; i < idCount; i++) if (load<u64>(ids + <usize>i * 8) == id) return;
  if (idCount < MAX_IDS) { store<u64>(ids + <usize>idCount * 8, id); idCount++; }
}

export function asyncHasIds(): bool { return idCount > 0; }

/** Sends the answer to addr/port (the `r` option) instead of the NMS (not while one is waiting). */
export function asyncTo(addr: usize, port: i32): void {
  if (waiting) return;
  memory.copy(dest, addr, 16);
  destPort = port;
  useNms = false;
}

/** Arms the answer after a random 0..maxDelayS seconds (the `a` option; 0 = now); an armed answer keeps its time. */
export function asyncSchedule(maxDelayS: u32): void {
  if (waiting) return;
  waiting = true;
  pal_timer_arm(TIMER_ASYNC, maxDelayS == 0 ? 0 : randomBetween(0, periodMs(maxDelayS)));
}

export function asyncTimer(): void {
  waiting = false;
  postTlvs(useNms ? nmsAddr : dest, useNms ? nmsPort : destPort, ids, idCount);
  idCount = 0;
}
