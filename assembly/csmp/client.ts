// Device-originated requests: POST <nms>/r (registration, CON) and
// POST <nms>/c (reports, events, asynchronous answers, NON). Requests carry
// no token (the draft's device profile); the payload is filled through the
// TLV writer and limited to the configured payload budget.
import { pal_udp_send } from "../pal";
import { coapBegin, coapAddOption, coapPayloadStart, coapPayloadRoom, coapFinish } from "../coap/builder";
import { COAP_TYPE_CON, COAP_TYPE_NON, COAP_CODE_POST, COAP_OPT_URI_PATH } from "../coap/codes";
import { txBuf, TX_CAP, newMessageId } from "./transport";
import { twBegin, twPos } from "../tlv/framing";
import { mtu } from "../device/config";
import { logBegin, logText, logI, logEnd, LOG_WARN } from "../runtime/log";
import { emitTlv } from "./tlv-sources";

let payloadAt: usize = 0;
const pathByte = memory.data(1);

/**
 * Starts a POST with Uri-Path `resource` ("r" or "c") and opens the TLV
 * writer on its payload. Returns the message ID.
 */
export function clientBegin(confirmable: bool, resource: u8): i32 {
  const mid = newMessageId();
  coapBegin(txBuf, TX_CAP, confirmable ? COAP_TYPE_CON : COAP_TYPE_NON, COAP_CODE_POST, mid, 0, 0);
  store<u8>(pathByte, resource);
  coapAddOption(COAP_OPT_URI_PATH, pathByte, 1);
  payloadAt = coapPayloadStart();
  let room = coapPayloadRoom();
  if (room > mtu) room = mtu;
  twBegin(payloadAt, room);
  return mid;
}

/** Sends the request built since clientBegin to addr/port. */
export function clientSend(addr: usize, port: i32): bool {
  const len = coapFinish(<i32>(twPos - payloadAt));
  if (len < 0) return false;
  const rc = pal_udp_send(addr, port, txBuf, len);
  if (rc < 0) { logBegin(); logText(A("send to NMS failed: ")); logI(rc); logEnd(LOG_WARN); }
  return rc >= 0;
}

/**
 * NON POST <addr>/c with SessionID, CurrentTime and every row of each TLV
 * in ids (count u64 TLV ids): a report or an asynchronous answer. What does
 * not fit one datagram continues in another, each with its own SessionID
 * and CurrentTime. Returns the number of messages sent.
 */
export function postTlvs(addr: usize, port: i32, ids: usize, count: i32): i32 {
  let messages = 1;
  beginTlvPost();
  let fresh = true;
  for (let i = 0; i < count; i++) {
    const id = load<u64>(ids + (<usize>i << 3));
    if (id == 7 || id == 18) continue; // every message starts with them already
    let rc = emitTlv(id, fresh);
    if (rc < 0) {
      clientSend(addr, port);
      messages++;
      beginTlvPost();
      rc = emitTlv(id, true);
    }
    if (rc > 0) fresh = false;
  }
  clientSend(addr, port);
  return messages;
}

function beginTlvPost(): void {
  clientBegin(false, 0x63); // "c"
  emitTlv(7, true);         // SessionID
  emitTlv(18, true);        // CurrentTime
}
