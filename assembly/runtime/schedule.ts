// The draft's jittered period, used by registration and by metric reports:
//   wait random [0, T]            (only when starting with jitter)
//   loop { wait random [T/2, T]; <fire>; wait the rest of T }
// One schedule per PAL timer id; the owner calls scheduleStep() when its
// timer expires and acts when it returns true (the send point). Periods are
// in milliseconds.
import { pal_timer_arm, pal_timer_cancel } from "../pal";
import { randomBetween } from "./random";

const MAX_SCHEDULES = 8;
const PHASE_IDLE: u8 = 0;
const PHASE_LEAD: u8 = 1;   // the initial random [0, T]
const PHASE_SEND: u8 = 2;   // waiting for the send point
const PHASE_REST: u8 = 3;   // waiting for the end of the period
const PHASE_NOW: u8 = 4;    // a send right after the current call, then the lead-in

const period = memory.data(MAX_SCHEDULES * 4);
const rest = memory.data(MAX_SCHEDULES * 4);
const phase = memory.data(MAX_SCHEDULES);

@inline function periodOf(id: i32): u32 { return load<u32>(period + <usize>id * 4); }

function beginPeriod(id: i32): void {
  const t = periodOf(id);
  const at = randomBetween(t >> 1, t);
  store<u32>(rest + <usize>id * 4, t - at);
  store<u8>(phase + id, PHASE_SEND);
  pal_timer_arm(id, at);
}

/** Starts timer id's schedule with period T ms; lead = with the initial random [0, T] wait. */
export function scheduleStart(id: i32, periodMs: u32, lead: bool): void {
  store<u32>(period + <usize>id * 4, periodMs);
  if (lead) {
    store<u8>(phase + id, PHASE_LEAD);
    pal_timer_arm(id, randomBetween(0, periodMs));
  } else {
    beginPeriod(id);
  }
}

/**
 * Starts timer id's schedule with a send as soon as the current call
 * returns (never inside it: the caller may be building an answer in the
 * shared transmit buffer), then the usual lead-in and periods.
 */
export function scheduleNow(id: i32, periodMs: u32): void {
  store<u32>(period + <usize>id * 4, periodMs);
  store<u8>(phase + id, PHASE_NOW);
  pal_timer_arm(id, 0);
}

export function scheduleStop(id: i32): void {
  store<u8>(phase + id, PHASE_IDLE);
  pal_timer_cancel(id);
}

export function scheduleRunning(id: i32): bool { return load<u8>(phase + id) != PHASE_IDLE; }

/** Changes the period used from the next period on. */
export function schedulePeriod(id: i32, periodMs: u32): void { store<u32>(period + <usize>id * 4, periodMs); }
export function schedulePeriodOf(id: i32): u32 { return periodOf(id); }

/**
 * A period of `seconds` in timer milliseconds. NMS-given intervals are u32
 * seconds; beyond ~23 days the milliseconds would overflow the timer, so
 * longer periods are capped there (a report every 23 days is no report
 * schedule anyone relies on to the day).
 */
export const MAX_PERIOD_S: u32 = 2_000_000;
export function periodMs(seconds: u32): u32 { return min(seconds, MAX_PERIOD_S) * 1000; }

/** scheduleStep results. */
export const STEP_NONE = 0;     // nothing for the owner to do (idle, or the lead-in ended and period 1 began)
export const STEP_SEND = 1;     // send now; the rest of the period is armed
export const STEP_BOUNDARY = 2; // a period ended: change the period if wanted, then scheduleNext

/** Advances timer id's schedule after its expiry; returns a STEP_* for the owner. */
export function scheduleStep(id: i32): i32 {
  const p = load<u8>(phase + id);
  if (p == PHASE_SEND) {
    store<u8>(phase + id, PHASE_REST);
    pal_timer_arm(id, load<u32>(rest + <usize>id * 4));
    return STEP_SEND;
  }
  if (p == PHASE_NOW) {
    store<u8>(phase + id, PHASE_LEAD);
    pal_timer_arm(id, randomBetween(0, periodOf(id)));
    return STEP_SEND;
  }
  if (p == PHASE_LEAD) { beginPeriod(id); return STEP_NONE; }
  return p == PHASE_REST ? STEP_BOUNDARY : STEP_NONE;
}

/** Starts the next period (after scheduleStep returned false at a boundary). */
export function scheduleNext(id: i32): void {
  if (load<u8>(phase + id) != PHASE_IDLE) beginPeriod(id);
}
