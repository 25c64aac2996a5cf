// Registration (draft: "Registration"): CON POST <nms>/r on the jittered,
// doubling schedule until the NMS answers 2.03 Valid.
//   tInterval = tIntervalMin; wait random [0, tInterval];
//   loop { wait random [tInterval/2, tInterval]; send (new message ID);
//          wait the rest of tInterval; tInterval = min(2 * tInterval, tIntervalMax) }
// The device never retransmits a CON; it accepts the answer to its last CON
// until it sends the next one. tIntervalMin/Max are durable and set by
// NMSSettings (TLV 42).
import { NMSSettings, NMSSettings_SIZE, NMSStatus } from "../generated/csmp";
import { scheduleStart, scheduleNow, scheduleStop, scheduleStep, scheduleNext, schedulePeriod, schedulePeriodOf, STEP_SEND, STEP_BOUNDARY, periodMs } from "../runtime/schedule";
import { structRead, structWrite } from "../runtime/durable";
import { clientBegin, clientSend } from "./client";
import { emitTlv } from "./tlv-sources";
import { nmsAddr, nmsPort, nmsRedirected } from "./nms";
import { pal_clock_ms } from "../pal";
import { regMinDefault, regMaxDefault } from "../device/config";
import { raiseEvent, EVENT_REGISTRATION_REFUSED } from "./events";
import { logBegin, logText, logU, logEnd, LOG_INFO, LOG_WARN } from "../runtime/log";

export const TIMER_REGISTRATION: i32 = 0;

// NMSStatus.lastRegReason values (draft).
export const REG_COLDSTART: u32 = 1;
export const REG_ADMIN: u32 = 2;
export const REG_IP_CHANGED: u32 = 3;
export const REG_NMS_CHANGED: u32 = 4;
export const REG_REDIRECT: u32 = 5;
export const REG_NMS_ERROR: u32 = 6;
export const REG_CERT_CHANGED: u32 = 7;
export const REG_OUTAGE: u32 = 8;

// tIntervalMin/Max: the draft's defaults are 300 s and 3600 s (device/config.ts).
let intervalMin: u32 = 300;
let intervalMax: u32 = 3600;
let registered = false;
let pending = false;       // a registration is in progress
let lastMid: i32 = -1;     // the answer to this CON is accepted
let reason: u32 = REG_COLDSTART;
let lastRegMs: i64 = -1;  // monotonic time of the last success

const settings = memory.data(NMSSettings_SIZE);
const settingsBuf = memory.data(16);

/** Loads the durable registration intervals. */
export function registrationLoad(): void {
  intervalMin = regMinDefault;
  intervalMax = regMaxDefault;
  const s = changetype<NMSSettings>(settings);
  if (structRead(A("nmssettings"), NMSSettings.desc(), settings, settingsBuf, 16)) {
    if (s.hasRegIntervalMin && s.regIntervalMin > 0) intervalMin = s.regIntervalMin;
    if (s.hasRegIntervalMax && s.regIntervalMax > 0) intervalMax = s.regIntervalMax;
  }
  if (intervalMax < intervalMin) intervalMax = intervalMin;
}

/**
 * NMSSettings from the NMS: only the fields present change (a POST with
 * regIntervalMax alone keeps regIntervalMin). Returns false for values that
 * make no schedule (zero, or max below min); nothing changes then.
 */
export function registrationSettings(ptr: usize): bool {
  const n = changetype<NMSSettings>(ptr);
  const min = n.hasRegIntervalMin ? n.regIntervalMin : intervalMin;
  const max = n.hasRegIntervalMax ? n.regIntervalMax : intervalMax;
  if (min == 0 || max < min) return false;
  intervalMin = min;
  intervalMax = max;
  const s = changetype<NMSSettings>(settings);
  s.clear();
  s.regIntervalMin = min;
  s.regIntervalMax = max;
  structWrite(A("nmssettings"), NMSSettings.desc(), settings, settingsBuf, 16);
  return true;
}

export function fillNmsSettings(row: i32, s: usize): bool {
  if (row != 0) return false;
  const n = changetype<NMSSettings>(s);
  n.regIntervalMin = intervalMin;
  n.regIntervalMax = intervalMax;
  return true;
}

export function isRegistered(): bool { return registered; }

let registeredOnce = false;
/**
 * True once the NMS accepted this boot's first registration: a later
 * re-registration (new address, new parent) does not make the device
 * unknown to the NMS, so events and reports need not wait for it.
 */
export function hasRegistered(): bool { return registeredOnce; }

/** Starts (or restarts) registration for `why` (an REG_* reason). */
export function registrationStart(why: u32, immediate: bool): void {
  reason = why;
  registered = false;
  pending = true;
  lastMid = -1;
  logBegin(); logText(A("registration started, reason ")); logU(why); logEnd(LOG_INFO);
  if (immediate) {
    // NMSRedirectRequest.immediate: first attempt now, then the usual schedule.
    scheduleNow(TIMER_REGISTRATION, periodMs(intervalMin));
  } else {
    scheduleStart(TIMER_REGISTRATION, periodMs(intervalMin), true);
  }
}

/** The registration timer expired. */
export function registrationTimer(): void {
  if (!pending) return;
  const step = scheduleStep(TIMER_REGISTRATION);
  if (step == STEP_SEND) { sendRegistration(); return; }
  if (step != STEP_BOUNDARY) return;
  const t = schedulePeriodOf(TIMER_REGISTRATION);
  const max = periodMs(intervalMax);
  schedulePeriod(TIMER_REGISTRATION, t >= max >> 1 ? max : t << 1);
  scheduleNext(TIMER_REGISTRATION);
}

/** The registration payload, in the draft's order. */
const REG_TLVS: StaticArray<u32> = [2, 18, 7, 58, 13, 11, 12, 16, 43, 35, 21];

function sendRegistration(): void {
  lastMid = clientBegin(true, 0x72); // "r"
  for (let i = 0; i < REG_TLVS.length; i++) emitTlv(REG_TLVS[i], i == 0);
  logBegin(); logText(A("registration sent, mid ")); logU(lastMid); logEnd(LOG_INFO);
  clientSend(nmsAddr, nmsPort);
}

/** True when a piggybacked response with this message ID answers the pending registration. */
export function registrationAwaits(mid: i32): bool { return pending && mid == lastMid; }

/**
 * True when a separate response (after an empty ACK) can answer the pending
 * registration: our request had no token, so neither has its answer.
 */
export function registrationAwaitsSeparate(tokenLen: i32): bool { return pending && lastMid >= 0 && tokenLen == 0; }

/** The NMS answered 2.03 Valid; its payload is processed by the caller. */
export function registrationDone(): void {
  pending = false;
  registered = true;
  registeredOnce = true;
  lastMid = -1;
  lastRegMs = pal_clock_ms();
  scheduleStop(TIMER_REGISTRATION);
  logBegin(); logText(A("registered")); logEnd(LOG_INFO);
}

/** The NMS refused (4.03 unknown/duplicate device, 4.04 several sessions, ...): keep the schedule. */
export function registrationRefused(code: i32): void {
  reason = REG_NMS_ERROR;
  raiseEvent(EVENT_REGISTRATION_REFUSED, 0);
  logBegin(); logText(A("registration refused: ")); logU(<u64>(code >> 5)); logText(A(".")); logU(<u64>(code & 31)); logEnd(LOG_WARN);
}

/** NMSStatus (TLV 43). */
export function fillNmsStatus(row: i32, s: usize): bool {
  if (row != 0) return false;
  const n = changetype<NMSStatus>(s);
  n.registered = registered;
  n.setNMSAddr(nmsAddr, 16);
  n.NMSAddrOrigin = nmsRedirected ? 2 : 1;
  // Both in seconds from now (draft): since the last success, and to the next
  // attempt (about one registration period while registering).
  if (lastRegMs >= 0) n.lastReg = <u32>((pal_clock_ms() - lastRegMs) / 1000);
  n.lastRegReason = reason;
  if (pending) n.nextReg = schedulePeriodOf(TIMER_REGISTRATION) / 1000;
  return true;
}
