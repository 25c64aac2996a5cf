// The device's CSMP resource server (draft-duffy-csmp-09, device interface):
//   GET /c            -> TlvIndex (the TLV ids this device serves)
//   GET /c?q=11+12+16 -> exactly the listed TLVs the device has, in that order
//   GET /c/{tlvId}    -> that TLV
//   POST /c           -> settings and commands (post.ts), 2.01 on success
// Query options: q (TLV ids), a (answer asynchronously after a random
// 0..a seconds, as a NON POST to <nms>/c) and r (send that answer to this
// URL instead). Multicast requests are never answered directly.
// Answers echo the request's token; a CON gets a piggybacked ACK with its
// message ID, a NON a NON. The answer fills the payload budget (config mtu)
// with whole TLVs and stops at the first that does not fit: the NMS asks
// again for the rest. Unknown TLV ids are left out silently.
import {
  coapType, coapCode, coapMid, coapTokenPtr, coapTokenLen,
  coapOptionFirst, coapOptionNext, coapOptPtr, coapOptLen,
} from "../coap/message";
import { coapBegin, coapPayloadStart, coapPayloadRoom, coapFinish, coapEmpty } from "../coap/builder";
import {
  COAP_TYPE_CON, COAP_TYPE_ACK, COAP_TYPE_NON, COAP_CODE_GET, COAP_CODE_POST,
  COAP_CODE_CONTENT, COAP_CODE_BAD_REQUEST, COAP_CODE_NOT_FOUND, COAP_CODE_METHOD_NOT_ALLOWED,
  COAP_CODE_CREATED, COAP_CODE_UNAUTHORIZED, COAP_CODE_FORBIDDEN, COAP_OPT_URI_PATH, COAP_OPT_URI_QUERY,
} from "../coap/codes";
import { processPost, POST_OK, POST_UNAUTHORIZED, POST_UNSIGNED, POST_FORBIDDEN, POST_UNSUPPORTED, POST_NOT_FOR_US } from "./post";
import { asyncReset, asyncTo, asyncAddId, asyncSchedule, asyncHasIds } from "./async-answer";
import { SIG_POST } from "./signature-settings";
import { parseCoapUrl, urlAddr, urlPort } from "./url";
import { viewDecimal } from "../util/text";
import { txBuf, TX_CAP, replyToPeer, newMessageId } from "./transport";
import { twBegin, twPos } from "../tlv/framing";
import { parseTlvId } from "../tlv/tlvid";
import { emitTlv, emitTlvIndex } from "./tlv-sources";
import { mtu } from "../device/config";
import { logBegin, logText, logBytes, logU, logEnd, LOG_DEBUG } from "../runtime/log";

// The `q` query's ids, parsed before the answer is built (the answer is
// written where the request's fields do not live, but ids are checked first
// so a bad query gets 4.00 and not half an answer).
const MAX_QUERY_IDS = 64;
const queryIds = memory.data(MAX_QUERY_IDS * 8);
let queryCount = 0;
let hasQuery = false;
let asyncDelay: i64 = -1;   // the `a` option in seconds, -1 when absent
/**
 * Where the `r` option of the request being handled sends its answers
 * (replyPort -1: no `r`). Copied: url.ts is reused by TLVs such as
 * NMSRedirectRequest.
 */
export const replyAddr = memory.data(16);
export let replyPort: i32 = -1;
let multicast = false;

function answer(code: i32): void {
  const type = coapType == COAP_TYPE_CON ? COAP_TYPE_ACK : COAP_TYPE_NON;
  const mid = coapType == COAP_TYPE_CON ? coapMid : newMessageId();
  coapBegin(txBuf, TX_CAP, type, code, mid, coapTokenPtr, coapTokenLen);
}

function answerEmpty(code: i32, why: usize): void {
  logBegin(); logText(A("request answered ")); logU(<u64>(code >> 5)); logText(A(".")); logU(<u64>(code & 31)); logText(A(": ")); logText(why); logEnd(LOG_DEBUG);
  // RFC 7252 section 8.1: no error answers to multicast requests.
  if (multicast) return;
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
  asyncDelay = -1;
  replyPort = -1;
  let more = coapOptionFirst(COAP_OPT_URI_QUERY);
  while (more) {
    const p = coapOptPtr, n = coapOptLen;
    const key = n >= 2 && load<u8>(p + 1) == 0x3d ? load<u8>(p) : 0;
    if (key == 0x71) { // "q="
      hasQuery = true;
      if (!addQueryIds(p + 2, p + <usize>n)) return false;
    } else if (key == 0x61) { // "a="
      asyncDelay = viewDecimal(p + 2, n - 2);
      if (asyncDelay < 0) return false;
    } else if (key == 0x72) { // "r="
      if (!parseCoapUrl(p + 2, n - 2)) return false;
      memory.copy(replyAddr, urlAddr, 16);
      replyPort = urlPort;
    } else {
      logBegin(); logText(A("unsupported query: ")); logBytes(p, n); logEnd(LOG_DEBUG);
      return false;
    }
    more = coapOptionNext();
  }
  return true;
}

let pathId: u64 = 0;

/**
 * Resolves the Uri-Path: 0 for /c, 1 for /c/{id} (the id in pathId),
 * -1 for a path the device does not serve, -2 for /c/{not an id}.
 */
function routePath(): i32 {
  if (!coapOptionFirst(COAP_OPT_URI_PATH)) return -1;
  if (coapOptLen != 1 || load<u8>(coapOptPtr) != 0x63) return -1; // "c"
  if (!coapOptionNext()) return 0;
  const id = parseTlvId(coapOptPtr, coapOptLen);
  if (coapOptionNext()) return -1;
  if (id < 0) return -2;
  pathId = <u64>id;
  return 1;
}

export function handleRequest(isMulticast: bool): void {
  multicast = isMulticast;
  const route = routePath();
  if (route == -1) { answerEmpty(COAP_CODE_NOT_FOUND, A("no such resource")); return; }
  if (coapCode != COAP_CODE_GET && !(coapCode == COAP_CODE_POST && route == 0)) {
    answerEmpty(COAP_CODE_METHOD_NOT_ALLOWED, A("method not allowed"));
    return;
  }
  if (route == -2) { answerEmpty(COAP_CODE_BAD_REQUEST, A("bad TLV id in path")); return; }
  if (!parseQuery()) { answerEmpty(COAP_CODE_BAD_REQUEST, A("bad query")); return; }
  if (route == 1) {
    // /c/{id}: the id came from the path; a q on top of it has no meaning.
    if (hasQuery) { answerEmpty(COAP_CODE_BAD_REQUEST, A("q on /c/{id}")); return; }
    store<u64>(queryIds, pathId);
    queryCount = 1;
    hasQuery = true;
  }
  const isPost = coapCode == COAP_CODE_POST;
  // Deferred: answered later by a NON POST to the NMS (the `a`/`r` options;
  // for POSTs also a NON request, which gets no CoAP answer of its own).
  const deferred = asyncDelay >= 0 || replyPort >= 0 || (isPost && coapType != COAP_TYPE_CON);
  if (deferred) {
    asyncReset();
    if (replyPort >= 0) asyncTo(replyAddr, replyPort);
    // A CON gets an empty ACK now (RFC 7252 section 5.2.2).
    if (coapType == COAP_TYPE_CON) replyToPeer(coapEmpty(txBuf, TX_CAP, COAP_TYPE_ACK, coapMid));
  }
  if (isPost) { handlePost(deferred); return; }
  if (deferred) {
    if (!hasQuery) asyncAddId(1);
    for (let i = 0; i < queryCount; i++) asyncAddId(load<u64>(queryIds + (<usize>i << 3)));
    asyncSchedule(<u32>max<i64>(asyncDelay, 0));
    return;
  }
  if (multicast) return; // a multicast GET without `a` has nobody to answer

  const payload = openAnswer(COAP_CODE_CONTENT);
  if (!hasQuery) {
    emitTlvIndex();
  } else if (route == 1) {
    // One TLV by path: the OpenAPI's 4.04 (not served) and 4.03 (cannot fit).
    const rc = emitTlv(pathId, false);
    if (rc == 0) { answerEmpty(COAP_CODE_NOT_FOUND, A("TLV not served")); return; }
    if (rc < 0) { answerEmpty(COAP_CODE_FORBIDDEN, A("TLV does not fit one answer")); return; }
  } else {
    for (let i = 0; i < queryCount; i++) {
      if (emitTlv(load<u64>(queryIds + (<usize>i << 3)), twPos == payload) < 0) break;
    }
  }
  replyToPeer(coapFinish(<i32>(twPos - payload)));
}

/** Starts the answer with `code` and opens the TLV writer on its payload (within the mtu). */
function openAnswer(code: i32): usize {
  answer(code);
  const payload = coapPayloadStart();
  twBegin(payload, min(coapPayloadRoom(), mtu));
  return payload;
}

/**
 * POST /c. Outputs of the applied TLVs (e.g. what a DescriptionRequest asks
 * for) go into the answer, followed by SessionID and CurrentTime as the
 * reference agent does; when deferred they go out later by NON POST.
 * Success is 2.01 Created, the code FND gets from the reference agent.
 */
function handlePost(deferred: bool): void {
  const payload: usize = deferred ? <usize>0 : openAnswer(COAP_CODE_CREATED);
  const outcome = processPost(multicast, SIG_POST, !deferred);
  if (deferred) {
    if (outcome == POST_OK && asyncHasIds()) asyncSchedule(<u32>max<i64>(asyncDelay, 0));
    return;
  }
  if (outcome == POST_OK) {
    if (twPos != payload) { emitTlv(7, false); emitTlv(18, false); }
    replyToPeer(coapFinish(<i32>(twPos - payload)));
  } else if (outcome == POST_UNAUTHORIZED) answerEmpty(COAP_CODE_UNAUTHORIZED, A("signature checks failed"));
  else if (outcome == POST_UNSIGNED) answerEmpty(COAP_CODE_FORBIDDEN, A("signing TLVs missing"));
  else if (outcome == POST_FORBIDDEN) answerEmpty(COAP_CODE_FORBIDDEN, A("not accepted this way"));
  else if (outcome == POST_UNSUPPORTED) answerEmpty(COAP_CODE_NOT_FOUND, A("TLV not supported"));
  else if (outcome != POST_NOT_FOR_US) answerEmpty(COAP_CODE_BAD_REQUEST, A("malformed payload"));
  else answerEmpty(COAP_CODE_BAD_REQUEST, A("GroupMatch does not match"));
}
