// Metrics (ReportSubscribe, TLV 13): a primary report of `tlvid` every
// `interval` s and a heartbeat of `tlvidHeartBeat` every `intervalHeartBeat`
// s, each on the draft's jittered period, the first one right after
// registration. A report is a NON POST <nms>/c with SessionID, CurrentTime
// and every row of each listed TLV; ids the device does not serve are left
// out. A report too large for one datagram goes out as several.
import { ReportSubscribe, ReportSubscribe_SIZE } from "../generated/csmp";
import { pbDecode, PB_OK, PB_TRUNCATED } from "../proto/codec";
import { recordRead, recordWrite } from "../runtime/durable";
import { scheduleNow, scheduleStop, scheduleStep, scheduleNext, STEP_SEND, STEP_BOUNDARY, periodMs } from "../runtime/schedule";
import { postTlvs } from "./client";
import { nmsAddr, nmsPort } from "./nms";
import { parseTlvId } from "../tlv/tlvid";
import { logBegin, logText, logU, logEnd, LOG_INFO } from "../runtime/log";

export const TIMER_REPORT: i32 = 1;
export const TIMER_HEARTBEAT: i32 = 2;

const SUB_CAP: i32 = 1024;
const subBytes = memory.data(SUB_CAP);
let subLen: i32 = -1;
const sub = memory.data(ReportSubscribe_SIZE);

function decodeSub(): bool {
  if (subLen < 0) return false;
  const rc = pbDecode(ReportSubscribe.desc(), sub, subBytes, subLen);
  return rc == PB_OK || rc == PB_TRUNCATED;
}

export function reportingLoad(): void {
  subLen = recordRead(A("reportsub"), subBytes, SUB_CAP);
  if (subLen >= 0 && !decodeSub()) subLen = -1;
}

/**
 * A new ReportSubscribe value (len bytes at ptr, already decoded fine by
 * the caller). Kept durably; the schedules restart when registered.
 */
export function reportingSubscribe(ptr: usize, len: i32, registered: bool): bool {
  if (len > SUB_CAP) return false;
  memory.copy(subBytes, ptr, len);
  subLen = len;
  recordWrite(A("reportsub"), subBytes, len);
  if (registered) reportingStart();
  return true;
}

/** ReportSubscribe (TLV 13) as a TLV source. */
export function fillReportSubscribe(row: i32, s: usize): bool {
  if (row != 0 || subLen < 0) return false;
  return pbDecode(ReportSubscribe.desc(), s, subBytes, subLen) >= 0;
}

/** Called after registration: first reports right away (after the current call), then on their periods. */
export function reportingStart(): void {
  scheduleStop(TIMER_REPORT);
  scheduleStop(TIMER_HEARTBEAT);
  if (!decodeSub()) return;
  const r = changetype<ReportSubscribe>(sub);
  if (r.interval > 0 && r.tlvidCount > 0) scheduleNow(TIMER_REPORT, periodMs(r.interval));
  if (r.intervalHeartBeat > 0 && r.tlvidHeartBeatCount > 0) scheduleNow(TIMER_HEARTBEAT, periodMs(r.intervalHeartBeat));
}

export function reportingTimer(id: i32): void {
  const step = scheduleStep(id);
  if (step == STEP_SEND) sendReport(id == TIMER_HEARTBEAT);
  else if (step == STEP_BOUNDARY) scheduleNext(id);
}

const ids = memory.data(64 * 8);

function sendReport(heartbeat: bool): void {
  if (!decodeSub()) return;
  const r = changetype<ReportSubscribe>(sub);
  const n = heartbeat ? r.tlvidHeartBeatCount : r.tlvidCount;
  let count = 0;
  for (let i = 0; i < n && count < 64; i++) {
    const id = heartbeat
      ? parseTlvId(r.tlvidHeartBeatPtr(i), r.tlvidHeartBeatLen(i))
      : parseTlvId(r.tlvidPtr(i), r.tlvidLen(i));
    if (id >= 0) { store<u64>(ids + (<usize>count << 3), <u64>id); count++; }
  }
  const messages = postTlvs(nmsAddr, nmsPort, ids, count);
  logBegin(); logText(heartbeat ? A("heartbeat sent in ") : A("report sent in ")); logU(messages); logText(A(" message(s)")); logEnd(LOG_INFO);
}
