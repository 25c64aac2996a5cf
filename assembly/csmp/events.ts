// Alarm reporting with Cisco's event TLVs: EventReport (500), EventIndex
// (501, what the device can raise), EventSubscribe (502, what the NMS wants,
// durable) and EventStats (510). Events come from the host
// (agent_event export: power outage, tamper, join lost, ...) and from the
// agent itself (signature rejections, registration refusals, ...).
//
// A subscribed event goes out at once as a NON POST <nms>/c with SessionID,
// CurrentTime and the EventReport. High-priority ones are repeated (at 10, 20,
// 40 s) until the NMS next talks to the device or 3 repeats were made.
// Events raised before registration wait in a bounded queue (oldest dropped
// and counted) and go out once the device is registered.
import { EventReport, EventReport_SIZE, EventIndex, EventSubscribe, EventSubscribe_SIZE, EventStats } from "../generated/csmp";
import { pbDecode, PB_MALFORMED } from "../proto/codec";
import { recordRead, recordWrite } from "../runtime/durable";
import { pal_timer_arm, pal_wall_time } from "../pal";
import { clientBegin, clientSend } from "./client";
import { emitTlv } from "./tlv-sources";
import { tlvPutMessage } from "../tlv/framing";
import { writeTlvId } from "../tlv/tlvid";
import { nmsAddr, nmsPort } from "./nms";
import { hasRegistered } from "./registration";
import { logBegin, logText, logU, logEnd, LOG_INFO, LOG_WARN } from "../runtime/log";

export const TIMER_EVENTS: i32 = 5;

export const PRIORITY_LOW: u8 = 0;
export const PRIORITY_MEDIUM: u8 = 1;
export const PRIORITY_HIGH: u8 = 2;

// The event catalogue: code -> priority. Codes are this agent's, under the
// enterprise number configured as event.pen (docs/device-config.md).
export const EVENT_POWER_OUTAGE: u32 = 1;      // last gasp
export const EVENT_POWER_RESTORED: u32 = 2;
export const EVENT_TAMPER: u32 = 3;
export const EVENT_JOIN_LOST: u32 = 4;
export const EVENT_JOIN_REGAINED: u32 = 5;
export const EVENT_IP_CHANGED: u32 = 6;
export const EVENT_STORAGE_FAILURE: u32 = 7;
export const EVENT_SIGNATURE_REJECTED: u32 = 8;
export const EVENT_REGISTRATION_REFUSED: u32 = 9;
export const EVENT_FIRMWARE_RESULT: u32 = 10;
export const EVENT_PARENT_CHANGED: u32 = 11;
const EVENT_COUNT: u32 = 11;
// Priorities of codes 1..EVENT_COUNT.
const PRIORITIES: StaticArray<u8> = [2, 2, 2, 1, 0, 0, 2, 1, 1, 0, 0];

export let eventPen: u32 = 0;
export function setEventPen(pen: u32): void { eventPen = pen; }

// Queue entries: seq u32, timestamp u32, code u32, related TLV id u64, repeats u32.
const QUEUE_MAX = 8;
const ENTRY = 24;
const queue = memory.data(QUEUE_MAX * ENTRY);
let queued = 0;
let nextSeq: u32 = 1;
let dropped: u32 = 0;
const counts = memory.data(3 * 4);
let sent: u32 = 0;

const SUB_CAP = 512;
const subBytes = memory.data(SUB_CAP);
let subLen: i32 = 0;
const sub = memory.data(EventSubscribe_SIZE);
const report = memory.data(EventReport_SIZE);
const relatedText = memory.data(24);

/** Repeat delays for high-priority events, in seconds. */
const REPEAT_BASE_S: u32 = 10;
const MAX_REPEATS: u32 = 3;

export function eventsLoad(): void {
  subLen = recordRead(A("eventsub"), subBytes, SUB_CAP);
  if (subLen < 0 || pbDecode(EventSubscribe.desc(), sub, subBytes, subLen) == PB_MALFORMED) subLen = 0;
}

function subscribed(code: u32): bool {
  if (subLen == 0) return false;
  pbDecode(EventSubscribe.desc(), sub, subBytes, subLen);
  const s = changetype<EventSubscribe>(sub);
  for (let i = 0; i < s.idCount; i++) {
    const id = s.id(i);
    if (id.ianaen == eventPen && id.code == code) return true;
  }
  return false;
}

/** EventSubscribe from the NMS (already decoded fine): replaces the subscription, durably. */
export function eventsSubscribe(value: usize, len: i32): void {
  if (len > SUB_CAP) return;
  memory.copy(subBytes, value, len);
  subLen = len;
  recordWrite(A("eventsub"), subBytes, len);
}

@inline function entry(i: i32): usize { return queue + <usize>(i * ENTRY); }

/**
 * Raises event `code` (related: a TLV id the NMS may want to read next, or
 * 0). Unknown codes are refused (false). Counted in EventStats whether or
 * not the NMS subscribed to it.
 */
export function raiseEvent(code: u32, related: u64): bool {
  if (code < 1 || code > EVENT_COUNT) {
    logBegin(); logText(A("unknown event code ")); logU(code); logEnd(LOG_WARN);
    return false;
  }
  const priority = PRIORITIES[code - 1];
  store<u32>(counts + <usize>priority * 4, load<u32>(counts + <usize>priority * 4) + 1);
  logBegin(); logText(A("event ")); logU(code); logText(A(" raised, priority ")); logU(priority); logEnd(LOG_INFO);
  if (!subscribed(code)) return true;
  if (queued == QUEUE_MAX) {
    // Oldest goes: the newest state of the device matters most.
    memory.copy(queue, queue + ENTRY, (QUEUE_MAX - 1) * ENTRY);
    queued--;
    dropped++;
    logBegin(); logText(A("event queue full: oldest dropped, ")); logU(dropped); logText(A(" so far")); logEnd(LOG_WARN);
  }
  const e = entry(queued++);
  const now = pal_wall_time();
  store<u32>(e, nextSeq++);
  store<u32>(e, now >= 0 ? <u32>now : 0, 4);
  store<u32>(e, code, 8);
  store<u64>(e, related, 12);
  store<u32>(e, 0, 20);
  // Sent from the timer, never inside the current call: it may be building an answer.
  if (hasRegistered()) pal_timer_arm(TIMER_EVENTS, 0);
  return true;
}

/** Sends what is queued (when registered); keeps high-priority entries for repeats. */
export function eventsFlush(): void {
  if (!hasRegistered() || queued == 0) return;
  let kept = 0;
  let earliestRepeat: u32 = 0;
  for (let i = 0; i < queued; i++) {
    const e = entry(i);
    sendReport(e);
    const code = load<u32>(e, 8);
    const repeats = load<u32>(e, 20);
    if (PRIORITIES[code - 1] == PRIORITY_HIGH && repeats < MAX_REPEATS) {
      store<u32>(e, repeats + 1, 20);
      const delay = REPEAT_BASE_S << repeats;
      if (earliestRepeat == 0 || delay < earliestRepeat) earliestRepeat = delay;
      if (kept != i) memory.copy(entry(kept), e, ENTRY);
      kept++;
    }
  }
  queued = kept;
  if (earliestRepeat > 0) pal_timer_arm(TIMER_EVENTS, earliestRepeat * 1000);
}

/** Registered: what waited in the queue goes out right after the current call. */
export function eventsPending(): void {
  if (queued > 0) pal_timer_arm(TIMER_EVENTS, 0);
}

/** The NMS talked to the device: high-priority repeats have done their job. */
export function eventsAcknowledged(): void {
  if (hasRegistered()) queued = 0;
}

export function eventsTimer(): void { eventsFlush(); }

function sendReport(e: usize): void {
  const r = changetype<EventReport>(report);
  r.clear();
  r.seqIndex = load<u32>(e);
  r.timestamp = load<u32>(e, 4);
  const id = r.useId();
  id.ianaen = eventPen;
  id.code = load<u32>(e, 8);
  const related = load<u64>(e, 12);
  if (related != 0) r.addRelatedTlvIds(relatedText, <i32>(writeTlvId(relatedText, related) - relatedText));
  clientBegin(false, 0x63);
  emitTlv(7, true);
  emitTlv(18, true);
  tlvPutMessage(EventReport.tlv(), 0, EventReport.desc(), report);
  clientSend(nmsAddr, nmsPort);
  sent++;
}

/** EventIndex (501): every event this device can raise. */
export function fillEventIndex(row: i32, s: usize): bool {
  if (row != 0) return false;
  const x = changetype<EventIndex>(s);
  for (let c: u32 = 1; c <= EVENT_COUNT; c++) {
    const id = x.addId();
    id.ianaen = eventPen;
    id.code = c;
  }
  return true;
}

/** EventSubscribe (502): the current subscription. */
export function fillEventSubscribe(row: i32, s: usize): bool {
  return row == 0 && subLen > 0 && pbDecode(EventSubscribe.desc(), s, subBytes, subLen) != PB_MALFORMED;
}

/** EventStats (510): raised per priority and reports sent (dropped ones are logged, not counted as sent). */
export function fillEventStats(row: i32, s: usize): bool {
  if (row != 0) return false;
  const x = changetype<EventStats>(s);
  x.cntLow = load<u32>(counts);
  x.cntMed = load<u32>(counts, 4);
  x.cntHigh = load<u32>(counts, 8);
  x.sent = sent;
  return true;
}

