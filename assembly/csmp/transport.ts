// Datagram plumbing between the host and the CoAP layers: the receive,
// address and transmit buffers, message IDs, and RFC 7252's rules for
// rejecting what cannot be processed.
import { pal_udp_send, pal_random } from "../pal";
import {
  coapParse, COAP_OK, COAP_IGNORE, COAP_FORMAT_ERROR, COAP_BAD_OPTION,
  coapType, coapCode, coapMid, coapTokenPtr, coapTokenLen, coapIsRequest, coapIsEmpty, coapBadOption,
} from "../coap/message";
import { coapBegin, coapEmpty, coapFinish } from "../coap/builder";
import { COAP_TYPE_CON, COAP_TYPE_NON, COAP_TYPE_ACK, COAP_TYPE_RST, COAP_CODE_BAD_OPTION, COAP_CODE_GET } from "../coap/codes";
import { log, logBegin, logText, logU, logEnd, LOG_DEBUG, LOG_WARN } from "../runtime/log";
import { handleRequest } from "./server";
import { registrationAwaits, registrationAwaitsSeparate, isRegistered, registrationStart, REG_NMS_ERROR } from "./registration";
import { onRegistrationReply } from "./registration-reply";
import { ipv6IsMulticast } from "../util/ipv6";
import { bytesEqual } from "../util/text";
import { nmsAddr } from "./nms";
import { eventsAcknowledged } from "./events";
import { dedupCheck, dedupAnswer, dedupAnswered, dedupDone, DEDUP_DROP, DEDUP_NEW, DEDUP_RESET } from "./dedup";

/** Largest datagram the agent takes: the IPv6 minimum MTU (RFC 8200). */
export const RX_CAP: i32 = 1280;
export const rxBuf = memory.data(RX_CAP);
/** Source address (16 bytes) then destination address (16 bytes) of the datagram in rxBuf. */
export const addrBuf = memory.data(32);
export const TX_CAP: i32 = 1280;
export const txBuf = memory.data(TX_CAP);

/** The current datagram's peer: answers go back here. */
export let peerPort: i32 = 0;
export let localPort: i32 = 0;

let nextMid: i32 = -1;

/** A fresh message ID for a message the agent originates (random start, RFC 7252 section 4.4). */
export function newMessageId(): i32 {
  if (nextMid < 0) {
    pal_random(txBuf, 2);
    nextMid = load<u16>(txBuf);
  }
  nextMid = (nextMid + 1) & 0xffff;
  return nextMid;
}

/** Sends len bytes of txBuf to the current datagram's source. */
export function replyToPeer(len: i32): void {
  if (len <= 0) return;
  dedupAnswered(txBuf, len, coapCode == COAP_CODE_GET);
  const rc = pal_udp_send(addrBuf, peerPort, txBuf, len);
  if (rc < 0) { logBegin(); logText(A("udp send failed: ")); logU(<u64>(-rc)); logEnd(LOG_WARN); }
}

function reject(why: usize): void {
  logBegin(); logText(A("rejected datagram: ")); logText(why); logEnd(LOG_DEBUG);
  // RFC 7252 sections 4.2/4.3: a rejected CON gets a RST, anything else is dropped.
  if (coapType == COAP_TYPE_CON) replyToPeer(coapEmpty(txBuf, TX_CAP, COAP_TYPE_RST, coapMid));
}

export function onDatagram(len: i32, srcPort: i32, dstPort: i32): void {
  if (len < 0 || len > RX_CAP) { logBegin(); logText(A("datagram length out of range")); logEnd(LOG_WARN); return; }
  peerPort = srcPort;
  localPort = dstPort;
  const rc = coapParse(rxBuf, len);
  if (rc == COAP_IGNORE) return;
  if (rc == COAP_FORMAT_ERROR) { reject(A("CoAP format error")); return; }
  if (rc == COAP_BAD_OPTION) {
    if (coapType == COAP_TYPE_CON && coapIsRequest()) {
      logBegin(); logText(A("4.02 Bad Option: unrecognized critical option ")); logU(coapBadOption); logEnd(LOG_DEBUG);
      coapBegin(txBuf, TX_CAP, COAP_TYPE_ACK, COAP_CODE_BAD_OPTION, coapMid, coapTokenPtr, coapTokenLen);
      replyToPeer(coapFinish(0));
    } else {
      reject(A("unrecognized critical option"));
    }
    return;
  }
  if (rc != COAP_OK) return;
  if (coapIsEmpty()) {
    // A CoAP ping (empty CON) is answered with RST (section 4.3); empty ACK/RST need nothing from the server.
    if (coapType == COAP_TYPE_CON) replyToPeer(coapEmpty(txBuf, TX_CAP, COAP_TYPE_RST, coapMid));
    return;
  }
  if (coapIsRequest()) {
    if (coapType != COAP_TYPE_CON && coapType != COAP_TYPE_NON) { reject(A("request in an ACK or RST")); return; }
    // GETs change nothing and are answered again; everything else is deduplicated.
    const seen = coapCode == COAP_CODE_GET ? DEDUP_NEW : dedupCheck(addrBuf, srcPort, coapMid, coapType == COAP_TYPE_CON);
    if (seen == DEDUP_DROP) return;
    if (seen == DEDUP_RESET) { reject(A("CON reuses the message ID of a NON")); return; }
    if (seen >= 0) {
      // A retransmission: the same answer again, nothing processed twice.
      const p = pal_udp_send(addrBuf, peerPort, dedupAnswer(), seen);
      if (p < 0) log(LOG_WARN, A("udp send failed"));
      return;
    }
    if (bytesEqual(addrBuf, nmsAddr, 16)) eventsAcknowledged();
    handleRequest(ipv6IsMulticast(addrBuf + 16));
    dedupDone();
    return;
  }
  // A response. The device's only CON request is registration, answered in
  // the ACK (piggybacked) or, after an empty ACK, in a CON of its own that we
  // acknowledge (section 5.2.2). Device requests carry no token.
  if (coapType == COAP_TYPE_CON) replyToPeer(coapEmpty(txBuf, TX_CAP, COAP_TYPE_ACK, coapMid));
  if (coapType == COAP_TYPE_ACK ? registrationAwaits(coapMid) : registrationAwaitsSeparate(coapTokenLen)) {
    onRegistrationReply();
    return;
  }
  // An error answer from the NMS while registered (to a report, event or
  // asynchronous answer): the NMS has lost the device, so it registers again
  // (NMS error), as the reference agent does.
  if (coapCode >= 0x60 && isRegistered() && bytesEqual(addrBuf, nmsAddr, 16)) { registrationStart(REG_NMS_ERROR, false); return; }
  logBegin(); logText(A("response with no pending request, mid ")); logU(coapMid); logEnd(LOG_DEBUG);
}
