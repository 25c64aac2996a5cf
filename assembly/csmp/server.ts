// The device's CSMP resource server (draft-duffy-csmp-09, device interface):
//   GET /c            -> TlvIndex (the TLV ids this device serves)
//   GET /c?q=11+12+16 -> exactly the listed TLVs the device has, in that order
//   GET /c/{tlvId}    -> that TLV
// Answers echo the request's token; a CON gets a piggybacked ACK with its
// message ID, a NON a NON. The answer fills the payload budget (config mtu)
// with whole TLVs and stops at the first that does not fit: the NMS asks
// again for the rest. Unknown TLV ids are left out silently.
import {
  coapType, coapCode, coapMid, coapTokenPtr, coapTokenLen,
  coapOptionFirst, coapOptionNext, coapOptPtr, coapOptLen,
} from "../coap/message";
import { coapBegin, coapPayloadStart, coapPayloadRoom, coapFinish } from "../coap/builder";
import {
  COAP_TYPE_CON, COAP_TYPE_ACK, COAP_TYPE_NON, COAP_CODE_GET, COAP_CODE_POST,
  COAP_CODE_CONTENT, COAP_CODE_BAD_REQUEST, COAP_CODE_NOT_FOUND, COAP_CODE_METHOD_NOT_ALLOWED,
  COAP_CODE_NOT_IMPLEMENTED, COAP_OPT_URI_PATH, COAP_OPT_URI_QUERY,
} from "../coap/codes";
import { txBuf, TX_CAP, replyToPeer, newMessageId } from "./transport";
import { twBegin, twPos } from "../tlv/framing";
import { parseTlvId } from "../tlv/tlvid";
import { emitTlv, emitTlvIndex } from "./tlv-sources";
import { mtu } from "../device/config";
import { logBegin, logStr, logBytes, logU, logEnd, LOG_DEBUG } from "../runtime/log";

// The `q` query's ids, parsed before the answer is built (the answer is
// written where the request's fields do not live, but ids are checked first
// so a bad query gets 4.00 and not half an answer).
const MAX_QUERY_IDS = 64;
const queryIds = memory.data(MAX_QUERY_IDS * 8);
let queryCount = 0;
let hasQuery = false;

function answer(code: i32): void {
  const type = coapType == COAP_TYPE_CON ? COAP_TYPE_ACK : COAP_TYPE_NON;
  const mid = coapType == COAP_TYPE_CON ? coapMid : newMessageId();
  coapBegin(txBuf, TX_CAP, type, code, mid, coapTokenPtr, coapTokenLen);
}

function answerEmpty(code: i32, why: string): void {
  logBegin(); logStr("request answered "); logU(<u64>(code >> 5)); logStr("."); logU(<u64>(code & 31)); logStr(": "); logStr(why); logEnd(LOG_DEBUG);
  answer(code);
  replyToPeer(coapFinish(0));
}

/** Adds the ids of one `q=` value: separated by '+', ' ' or ','. Returns false when one is not a TLV id. */
function addQueryIds(p: usize, end: usize): bool {
  while (p < end) {
    let e = p;
    while (e < end) {
      const c = load<u8>(e);
      if (c == 0x2b || c == 0x20 || c == 0x2c) break;
      e++;
    }
    if (e > p) {
      const id = parseTlvId(p, <i32>(e - p));
      if (id < 0) return false;
      if (queryCount < MAX_QUERY_IDS) { store<u64>(queryIds + (<usize>queryCount << 3), <u64>id); queryCount++; }
    }
    p = e + 1;
  }
  return true;
}

/** Reads the Uri-Query options. Returns false for a query the device server does not understand. */
function parseQuery(): bool {
  queryCount = 0;
  hasQuery = false;
  let more = coapOptionFirst(COAP_OPT_URI_QUERY);
  while (more) {
    const p = coapOptPtr, n = coapOptLen;
    if (n >= 2 && load<u8>(p) == 0x71 && load<u8>(p + 1) == 0x3d) { // "q="
      hasQuery = true;
      if (!addQueryIds(p + 2, p + <usize>n)) return false;
    } else {
      logBegin(); logStr("unsupported query: "); logBytes(p, n); logEnd(LOG_DEBUG);
      return false;
    }
    more = coapOptionNext();
  }
  return true;
}

/**
 * Resolves the Uri-Path: 0 for /c, 1 for /c/{id} (id queued in queryIds),
 * -1 for a path the device does not serve, -2 for /c/{not an id}.
 */
function routePath(): i32 {
  if (!coapOptionFirst(COAP_OPT_URI_PATH)) return -1;
  if (coapOptLen != 1 || load<u8>(coapOptPtr) != 0x63) return -1; // "c"
  if (!coapOptionNext()) return 0;
  const id = parseTlvId(coapOptPtr, coapOptLen);
  if (coapOptionNext()) return -1;
  if (id < 0) return -2;
  store<u64>(queryIds, <u64>id);
  return 1;
}

export function handleRequest(): void {
  const route = routePath();
  if (route == -1) { answerEmpty(COAP_CODE_NOT_FOUND, "no such resource"); return; }
  if (coapCode == COAP_CODE_POST && route == 0) {
    answerEmpty(COAP_CODE_NOT_IMPLEMENTED, "POST /c is not served by this build");
    return;
  }
  if (coapCode != COAP_CODE_GET) { answerEmpty(COAP_CODE_METHOD_NOT_ALLOWED, "method not allowed"); return; }
  if (route == -2) { answerEmpty(COAP_CODE_BAD_REQUEST, "bad TLV id in path"); return; }
  if (route == 1) {
    queryCount = 1;
    hasQuery = true;
    // A query on /c/{id} has nothing to add; reject it rather than guess.
    if (coapOptionFirst(COAP_OPT_URI_QUERY)) { answerEmpty(COAP_CODE_BAD_REQUEST, "query on /c/{id}"); return; }
  } else if (!parseQuery()) {
    answerEmpty(COAP_CODE_BAD_REQUEST, "bad query");
    return;
  }

  answer(COAP_CODE_CONTENT);
  const payload = coapPayloadStart();
  let room = coapPayloadRoom();
  if (room > mtu) room = mtu;
  twBegin(payload, room);
  if (!hasQuery) {
    emitTlvIndex();
  } else {
    for (let i = 0; i < queryCount; i++) {
      if (emitTlv(load<u64>(queryIds + (<usize>i << 3)), twPos == payload) < 0) break;
    }
  }
  replyToPeer(coapFinish(<i32>(twPos - payload)));
}
