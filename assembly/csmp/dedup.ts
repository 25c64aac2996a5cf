// Message deduplication (RFC 7252 section 4.5): a request that arrives
// again with the same message ID from the same endpoint within
// EXCHANGE_LIFETIME is not processed again. A CON duplicate gets the stored
// answer replayed; a NON duplicate is dropped. GETs are not kept: they
// change nothing and are answered again (RFC 7252 section 4.5 allows it for
// idempotent requests), so the table holds only what must not run twice. Small answers are kept in the
// table; the last large POST answer in a buffer of its own; a large GET
// answer is not kept (a GET is safe to answer again). Without this a
// retransmitted POST would apply twice (e.g. a TransferRequest restarting a
// download).
import { pal_clock_ms } from "../pal";
import { bytesEqual } from "../util/text";

const ENTRIES = 8;
const KEEP = 256;            // answers up to this size are kept for replay
const ENTRY = 32 + KEEP;     // addr 16, port u16 @16, mid u16 @18, len i16 @20, con u8 @22, at i64 @24, answer @32
const EXCHANGE_LIFETIME_MS: i64 = 247_000;
/** Entry len values besides a stored length. */
const NO_ANSWER: i32 = -1;   // nothing was sent (yet): a duplicate is dropped
const RECOMPUTE: i32 = -2;   // a GET whose answer was too large to keep: process again
const BIG: i32 = -3;         // a POST whose answer is in bigAnswer (while it is this entry's)
/** dedupCheck: a CON reusing the message ID of a NON just seen; answer RST (it is not that NON's duplicate). */
export const DEDUP_RESET: i32 = -4;
const BIG_CAP: i32 = 1280;
const bigAnswer = memory.data(BIG_CAP);
let bigLen: i32 = 0;
let bigOwner: usize = 0;

const table = memory.data(ENTRIES * ENTRY);
let current: usize = 0;      // the entry of the request being handled, or 0
let matched: usize = table;  // the entry the last duplicate matched
let next = 0;

@inline function entry(i: i32): usize { return table + <usize>(i * ENTRY); }

/**
 * Checks the request (source addr/port, message ID, CON or NON) being
 * handled. Returns the stored entry's answer length (>= 0: replay it from
 * dedupAnswer()), NO_ANSWER for a duplicate to drop, RECOMPUTE to process it
 * (a new request: an entry is opened for it), or DEDUP_RESET for a CON whose
 * message ID a NON from the same endpoint used (RFC 7252 forbids the reuse;
 * replaying the NON's answer would answer a CON with a NON, processing it
 * might apply a POST twice).
 */
export function dedupCheck(addr: usize, port: i32, mid: i32, con: bool): i32 {
  const now = pal_clock_ms();
  for (let i = 0; i < ENTRIES; i++) {
    const e = entry(i);
    if (load<i64>(e, 24) + EXCHANGE_LIFETIME_MS > now && load<i64>(e, 24) != 0 &&
        <i32>load<u16>(e, 18) == mid && <i32>load<u16>(e, 16) == port && bytesEqual(e, addr, 16)) {
      let len = <i32>load<i16>(e, 20);
      // A NON reusing a CON's message ID is dropped like any duplicate NON.
      if (con && load<u8>(e, 22) == 0) return DEDUP_RESET;
      if (!con) return NO_ANSWER;
      // A large POST answer overwritten by a newer one: drop rather than apply twice.
      if (len == BIG) len = bigOwner == e ? bigLen : NO_ANSWER;
      current = len == RECOMPUTE ? e : 0;
      matched = e;
      return len;
    }
  }
  const e = entry(next);
  next = (next + 1) % ENTRIES;
  memory.copy(e, addr, 16);
  store<u16>(e, <u16>port, 16);
  store<u16>(e, <u16>mid, 18);
  store<i16>(e, <i16>NO_ANSWER, 20);
  store<u8>(e, con ? 1 : 0, 22);
  store<i64>(e, now == 0 ? 1 : now, 24);
  current = e;
  return RECOMPUTE;
}

export const DEDUP_DROP: i32 = NO_ANSWER;
export const DEDUP_NEW: i32 = RECOMPUTE;

/**
 * The stored answer of the entry dedupCheck just matched. That entry, not a
 * new search: an expired entry for the same endpoint and message ID may
 * still sit in the table, with another exchange's bytes (a fuzzer found it).
 */
export function dedupAnswer(): usize {
  return <i32>load<i16>(matched, 20) == BIG ? bigAnswer : matched + 32;
}

/** Records the answer sent to the request being handled (isGet: it may be recomputed). */
export function dedupAnswered(answer: usize, len: i32, isGet: bool): void {
  if (current == 0) return;
  if (len <= KEEP) {
    memory.copy(current + 32, answer, <usize>len);
    store<i16>(current, <i16>len, 20);
  } else if (isGet || len > BIG_CAP) {
    store<i16>(current, <i16>RECOMPUTE, 20);
  } else {
    memory.copy(bigAnswer, answer, <usize>len);
    bigLen = len;
    bigOwner = current;
    store<i16>(current, <i16>BIG, 20);
  }
}

/** The request's handling is over: later sends are not its answer. */
export function dedupDone(): void { current = 0; }
