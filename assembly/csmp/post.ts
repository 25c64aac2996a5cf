// POST /c from the NMS: settings and commands. Processing order (draft):
// Signature + SignatureValidity first, then GroupMatch, then the other TLVs
// in payload order, so for duplicates the last one wins. The whole payload
// is checked (framing, signature, group, every TLV's encoding) before any
// TLV takes effect: a rejected message changes no state.
import {
  GroupAssign, GroupEvict, GroupMatch, SessionID, CurrentTime, NMSRedirectRequest, RebootRequest,
  DescriptionRequest, PingRequest, PB_MAX_STRUCT, TransferRequest, ImageBlock, LoadRequest, CancelLoadRequest, SetBackupRequest,
} from "../generated/csmp";
import { pbDecode, pbTlvDesc, PB_MALFORMED } from "../proto/codec";
import { tlvBegin, tlvNext, tlvType, tlvPen, tlvVendorType, tlvValue, tlvLen, tlvStart, TLV_VENDOR } from "../tlv/framing";
import { onPingRequest } from "./ping";
import { applyHostTlv } from "./host-tlv";
import { coapPayloadPtr, coapPayloadLen } from "../coap/message";
import { verifySignedPayload, SIG_OK } from "./signature";
import { signatureRequired, signatureChecksValidity, signatureNeedsTime, signatureSettingsSet, SIG_POST } from "./signature-settings";
import { groupAssign, groupEvict, groupMatches } from "./groups";
import { sessionSet } from "./session";
import { registrationSettings, registrationStart, isRegistered, REG_REDIRECT } from "./registration";
import { reportingSubscribe } from "./reporting";
import { nmsRedirect } from "./nms";
import { parseCoapUrl, urlAddr, urlPort } from "./url";
import { requestReboot } from "./reboot";
import { asyncAddId } from "./async-answer";
import { emitTlv } from "./tlv-sources";
import { parseTlvId } from "../tlv/tlvid";
import { eventsSubscribe, raiseEvent, EVENT_SIGNATURE_REJECTED } from "./events";
import { onTransferRequest, onImageBlock, onLoadRequest, onCancelLoadRequest, onSetBackupRequest } from "../firmware/firmware";
import { pal_wall_time_set } from "../pal";
import { log, logBegin, logText, logU, logEnd, LOG_INFO, LOG_WARN } from "../runtime/log";

// Outcome of a POST, mapped to a CoAP code by the server.
export const POST_OK: i32 = 0;
export const POST_MALFORMED: i32 = 1;     // 4.00
export const POST_UNAUTHORIZED: i32 = 2;  // 4.01: signature checks failed
export const POST_NOT_FOR_US: i32 = 3;    // GroupMatch does not match: ignored silently
export const POST_FORBIDDEN: i32 = 4;     // 4.03: a TLV the device may not accept this way
export const POST_UNSIGNED: i32 = 5;      // 4.03: signing TLVs missing
export const POST_UNSUPPORTED: i32 = 6;   // 4.04: a TLV the device cannot apply

const TLV_SIGNATURE: u32 = 77;
const TLV_VALIDITY: u32 = 76;
const TLV_GROUP_MATCH: u32 = 57;
const TLV_IMAGE_BLOCK: u32 = 67;
const TLV_DESCRIPTION_REQUEST: u32 = 8;

const scratch = memory.data(PB_MAX_STRUCT);

/** A security rejection: counted in EventStats through the alarm it raises. */
function rejected(): void { raiseEvent(EVENT_SIGNATURE_REJECTED, 0); }

function why(text: usize, detail: i32): void {
  logBegin(); logText(A("NMS message rejected: ")); logText(text);
  if (detail >= 0) { logText(A(" ")); logU(detail); }
  logEnd(LOG_WARN);
}

/** Decodes the current TLV's value into scratch; false when malformed. */
function decodeCurrent(): bool {
  const desc = pbTlvDesc(tlvType);
  return desc == 0 || pbDecode(desc, scratch, tlvValue, tlvLen) != PB_MALFORMED;
}

/**
 * Checks a payload from the NMS and, when acceptable, applies it: a POST /c
 * (kind SIG_POST) or a registration answer (kind SIG_RESPONSE).
 */
export function processPost(multicast: bool, kind: i32, direct: bool): i32 {
  outputDirect = direct;
  const payload = coapPayloadPtr;
  const len = coapPayloadLen;

  // Pass 1: framing, the security TLVs' positions, each TLV's encoding.
  let sig: usize = 0, sigLen = 0, signedLen = 0;
  let validity: usize = 0, validityLen = 0;
  let match: usize = 0, matchLen = 0;
  let exemptOnly = true, afterSignature = false;
  // Problems with individual TLVs are reported only after the signature check
  // (the draft's order): an unsigned message learns nothing about its content.
  let problem = POST_OK;
  let problemTlv: u32 = 0;
  tlvBegin(payload, len);
  let rc = tlvNext();
  for (; rc == 1; rc = tlvNext()) {
    if (sig != 0) afterSignature = true;
    if (tlvPen == 0) {
      if (tlvType == TLV_SIGNATURE) { sig = tlvValue; sigLen = tlvLen; signedLen = <i32>(tlvStart - payload); continue; }
      if (tlvType == TLV_VALIDITY) { validity = tlvValue; validityLen = tlvLen; continue; }
      if (tlvType == TLV_GROUP_MATCH) { match = tlvValue; matchLen = tlvLen; }
      // GroupMatch only addresses the message (the reference agent's checkExempt skips it too).
      if (tlvType != TLV_IMAGE_BLOCK && tlvType != TLV_DESCRIPTION_REQUEST && tlvType != TLV_GROUP_MATCH) exemptOnly = false;
    } else {
      exemptOnly = false;
    }
    if (problem != POST_OK) continue;
    problemTlv = tlvType;
    if (!decodeCurrent()) problem = POST_MALFORMED;
    else if (!acceptable(kind)) problem = POST_UNSUPPORTED;
    else if (multicast && tlvPen == 0 && (tlvType == GroupAssign.tlv() || tlvType == GroupEvict.tlv())) problem = POST_FORBIDDEN;
  }
  if (rc < 0) { why(A("malformed TLV framing"), -1); return POST_MALFORMED; }

  // Signature and validity, as SignatureSettings require. The exemption is
  // for NMS requests only: a registration answer must be signed (draft), even empty.
  if (signatureRequired(kind) && !(exemptOnly && kind == SIG_POST)) {
    if (sig == 0 || validity == 0 && signatureChecksValidity(kind)) { rejected(); why(A("signing TLVs missing"), -1); return POST_UNSIGNED; }
    if (afterSignature) { rejected(); why(A("Signature is not the last TLV"), -1); return POST_UNAUTHORIZED; }
    const v = verifySignedPayload(payload, signedLen, sig, sigLen, validity, validityLen,
      signatureChecksValidity(kind), signatureNeedsTime(kind));
    if (v != SIG_OK) { rejected(); why(A("signature check"), v); return POST_UNAUTHORIZED; }
  }

  // GroupMatch gates the whole message; a multicast request must carry one.
  if (match != 0) {
    pbDecode(GroupMatch.desc(), scratch, match, matchLen);
    const g = changetype<GroupMatch>(scratch);
    if (!groupMatches(g.type, g.id)) {
      logBegin(); logText(A("POST /c for group ")); logU(g.type); logText(A("/")); logU(g.id); logText(A(": not a member, ignored")); logEnd(LOG_INFO);
      return POST_NOT_FOR_US;
    }
  } else if (multicast) {
    logBegin(); logText(A("multicast POST /c without GroupMatch ignored")); logEnd(LOG_INFO);
    return POST_NOT_FOR_US;
  }

  if (problem != POST_OK) {
    why(problem == POST_MALFORMED ? A("malformed TLV") : problem == POST_UNSUPPORTED ? A("TLV not supported") : A("group assignment by multicast"), problemTlv);
    return problem;
  }

  // Pass 2: apply in payload order.
  tlvBegin(payload, len);
  while (tlvNext() == 1) {
    decodeCurrent();
    if (tlvPen != 0) applyHostTlv(TLV_VENDOR, tlvPen, tlvVendorType, tlvValue, tlvLen);
    else applyTlv(tlvType, tlvValue, tlvLen);
  }
  return POST_OK;
}

// TLV ids as case labels (a switch compiles to one jump table).
function applyTlv(type: u32, value: usize, len: i32): void {
  switch (type) {
    case 42: { // NMSSettings
      if (!registrationSettings(scratch)) log(LOG_WARN, A("NMSSettings ignored: intervals make no schedule"));
      break;
    }
    case 13: reportingSubscribe(value, len, isRegistered()); break; // ReportSubscribe
    case 55: { // GroupAssign
      const g = changetype<GroupAssign>(scratch);
      if (!groupAssign(g.type, g.id)) { logBegin(); logText(A("GroupAssign: unsupported group type ")); logU(g.type); logEnd(LOG_WARN); }
      break;
    }
    case 56: { const g = changetype<GroupEvict>(scratch); groupEvict(g.type, g.id, !g.hasId); break; }
    case 7: { const s = changetype<SessionID>(scratch); if (s.hasId) sessionSet(s.idPtr, s.idLen); break; }
    case 18: { const t = changetype<CurrentTime>(scratch); if (t.hasPosix) pal_wall_time_set(<i64>t.posix); break; }
    case 79: signatureSettingsSet(scratch); break;
    case 6: { // NMSRedirectRequest
      const r = changetype<NMSRedirectRequest>(scratch);
      if (r.hasUrl && parseCoapUrl(r.urlPtr, r.urlLen)) {
        nmsRedirect(urlAddr, urlPort);
        registrationStart(REG_REDIRECT, r.hasImmediate && r.immediate);
      } else {
        log(LOG_WARN, A("NMSRedirectRequest without a usable coap:// URL ignored"));
      }
      break;
    }
    case 32: requestReboot(changetype<RebootRequest>(scratch).flag); break;
    case 65: onTransferRequest(changetype<TransferRequest>(scratch)); output(71); break;
    case 67: onImageBlock(changetype<ImageBlock>(scratch)); break;
    case 68: onLoadRequest(changetype<LoadRequest>(scratch)); output(72); break;
    case 69: onCancelLoadRequest(changetype<CancelLoadRequest>(scratch)); output(73); break;
    case 70: onSetBackupRequest(changetype<SetBackupRequest>(scratch)); output(74); break;
    case 502: eventsSubscribe(value, len); break;
    case 30: onPingRequest(changetype<PingRequest>(scratch)); break;
    case 141: applyHostTlv(141, 0, 0, value, len); break;
    case 8: { // DescriptionRequest
      const d = changetype<DescriptionRequest>(scratch);
      for (let i = 0; i < d.tlvidCount; i++) {
        const id = parseTlvId(d.tlvidPtr(i), d.tlvidLen(i));
        if (id >= 0) output(<u64>id);
      }
      break;
    }
  }
}

let outputDirect = true;

/** A TLV the answer carries: into the direct answer now, or queued for the asynchronous one. */
function output(id: u64): void {
  if (outputDirect) emitTlv(id, false);
  else asyncAddId(id);
}

/**
 * Whether the current (decoded) TLV is one this device applies from the NMS
 * (kind SIG_POST) or from a registration answer (SIG_RESPONSE).
 */
function acceptable(kind: i32): bool {
  if (tlvPen != 0) return kind == SIG_POST; // vendor TLVs go to the platform
  switch (tlvType) {
    // In registration answers and POSTs alike.
    case 6: case 7: case 8: case 13: case 55: case 76: case 77: return true;
    // RebootRequest flag 1 (stop at the boot loader) needs a console this device does not offer.
    case 32: { const r = changetype<RebootRequest>(scratch); return kind == SIG_POST && (!r.hasFlag || r.flag == 0); }
    case 18: case 30: case 42: case 56: case 57: case 65: case 67: case 68: case 69: case 70: case 79: case 141: case 502:
      return kind == SIG_POST;
  }
  return false;
}
