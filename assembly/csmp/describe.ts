// Asynchronous answers: DescriptionRequest (TLV 8) and requests carrying the
// `a` query option are answered later by a NON POST to <nms>/c (or to the
// URL of the `r` option) carrying SessionID, CurrentTime and the requested
// TLVs. The ids are copied out of the request, whose buffer is reused.
import { pal_timer_arm } from "../pal";
import { DescriptionRequest } from "../generated/csmp";
import { pbDecode, PB_MALFORMED } from "../proto/codec";
import { parseTlvId } from "../tlv/tlvid";
import { postTlvs } from "./client";
import { nmsAddr, nmsPort } from "./nms";
import { randomBetween } from "../runtime/random";

export const TIMER_ASYNC: i32 = 4;
const MAX_IDS = 64;
const ids = memory.data(MAX_IDS * 8);
let idCount = 0;
const dest = memory.data(16);
let destPort: i32 = 0;
let useNms = true;
let waiting = false;
const req = memory.data(520);

/** Starts collecting a new asynchronous answer (replacing one not yet sent). */
export function asyncReset(): void { idCount = 0; useNms = true; }

export function asyncAddId(id: u64): void {
  for (let i = 0; i < idCount; i++) if (load<u64>(ids + <usize>i * 8) == id) return;
  if (idCount < MAX_IDS) { store<u64>(ids + <usize>idCount * 8, id); idCount++; }
}

export function asyncHasIds(): bool { return idCount > 0; }

/** Sends the answer to addr/port (the `r` option) instead of the NMS. */
export function asyncTo(addr: usize, port: i32): void {
  memory.copy(dest, addr, 16);
  destPort = port;
  useNms = false;
}

/** Arms the answer after a random 0..maxDelayS seconds (the `a` option; 0 = now). */
export function asyncSchedule(maxDelayS: u32): void {
  waiting = true;
  pal_timer_arm(TIMER_ASYNC, maxDelayS == 0 ? 0 : randomBetween(0, maxDelayS * 1000));
}

/** DescriptionRequest: queue its TLV ids for an asynchronous answer. */
export function describeLater(value: usize, len: i32): void {
  if (pbDecode(DescriptionRequest.desc(), req, value, len) == PB_MALFORMED) return;
  const d = changetype<DescriptionRequest>(req);
  if (!waiting) asyncReset();
  for (let i = 0; i < d.tlvidCount; i++) {
    const id = parseTlvId(d.tlvidPtr(i), d.tlvidLen(i));
    if (id >= 0) asyncAddId(<u64>id);
  }
  if (!waiting) asyncSchedule(0);
}

export function asyncTimer(): void {
  waiting = false;
  postTlvs(useNms ? nmsAddr : dest, useNms ? nmsPort : destPort, ids, idCount);
  idCount = 0;
}
