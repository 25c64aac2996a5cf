// PingRequest (TLV 30) / PingResponse (31): the NMS asks the device to ping
// an address; the platform does it for real (pal.ping) and reports back
// through agent_ping_done, and the result goes to the NMS by NON POST.
import { PingRequest, PingResponse } from "../generated/csmp";
import { pal_ping } from "../pal";
import { ipv6Parse } from "../util/ipv6";
import { asyncReset, asyncAddId, asyncSchedule, asyncTo } from "./async-answer";
import { replyAddr as requestReplyAddr, replyPort as requestReplyPort } from "./server";
import { log, LOG_WARN } from "../runtime/log";

const dest = memory.data(16);
const result = memory.data(24); // sent, received, min, mean, max, stdev (u32 each, ms)
// Where the PingResponse goes: the NMS, or the `r` URL of the PingRequest
// (the draft allows `r` for "the subsequent PingResponse").
const replyAddr = memory.data(16);
let replyPort: i32 = -1;
let done = false;

const MAX_COUNT: u32 = 20;

/** Starts the ping a PingRequest asks for. */
export function onPingRequest(r: PingRequest): void {
  if (!r.hasDest || !ipv6Parse(r.destPtr, r.destLen, dest)) { log(LOG_WARN, A("PingRequest without a usable IPv6 destination")); return; }
  // Without count or delay, Cisco's schema defaults: 5 echoes 1 s apart.
  const count = r.hasCount && r.count > 0 ? min(r.count, MAX_COUNT) : 5;
  const delay = r.hasDelay && r.delay > 0 ? r.delay : 1;
  if (pal_ping(dest, <i32>count, <i32>(delay * 1000)) < 0) { log(LOG_WARN, A("ping could not be started")); return; }
  replyPort = requestReplyPort;
  if (replyPort >= 0) memory.copy(replyAddr, requestReplyAddr, 16);
}

/** The platform's ping is over: the result goes to the NMS. */
export function onPingDone(sent: u32, received: u32, minMs: u32, meanMs: u32, maxMs: u32, stdevMs: u32): void {
  store<u32>(result, sent); store<u32>(result, received, 4); store<u32>(result, minMs, 8);
  store<u32>(result, meanMs, 12); store<u32>(result, maxMs, 16); store<u32>(result, stdevMs, 20);
  done = true;
  asyncReset();
  if (replyPort >= 0) asyncTo(replyAddr, replyPort);
  asyncAddId(PingResponse.tlv());
  asyncSchedule(0);
}

export function fillPingResponse(row: i32, s: usize): bool {
  if (row != 0 || !done) return false;
  const p = changetype<PingResponse>(s);
  p.sent = load<u32>(result); p.received = load<u32>(result, 4);
  if (load<u32>(result, 4) > 0) {
    p.minRtt = load<u32>(result, 8); p.meanRtt = load<u32>(result, 12);
    p.maxRtt = load<u32>(result, 16); p.stdevRtt = load<u32>(result, 20);
  }
  return true;
}
