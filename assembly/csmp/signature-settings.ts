// SignatureSettings (TLV 79): which checks apply to NMS POSTs and to
// registration responses. Durable. Defaults are the secure ones: with an NMS
// key provisioned, everything must be signed, within its validity window,
// and checked against trusted time. Without a key nothing can be verified:
// the device says so in its log at start and accepts unsigned messages.
import { SignatureSettings, SignatureSettings_SIZE } from "../generated/csmp";
import { structRead, structWrite } from "../runtime/durable";
import { nmsKeySet } from "../device/config";
import { log, LOG_WARN } from "../runtime/log";

export const SIG_POST: i32 = 0;
export const SIG_RESPONSE: i32 = 1;

const settings = memory.data(SignatureSettings_SIZE);
const settingsBuf = memory.data(64);

function defaults(): void {
  const s = changetype<SignatureSettings>(settings);
  s.clear();
  s.reqSignedPost = true; s.reqValidCheckPost = true; s.reqTimeSyncPost = true;
  s.reqSignedResp = true; s.reqValidCheckResp = true; s.reqTimeSyncResp = true;
}

export function signatureSettingsLoad(): void {
  if (!structRead(A("sigsettings"), SignatureSettings.desc(), settings, settingsBuf, 64)) defaults();
  if (!nmsKeySet) log(LOG_WARN, A("no NMS public key provisioned (nms.key): signatures cannot be checked, unsigned NMS messages are accepted"));
}

/** Applies a SignatureSettings from the NMS: present fields replace, absent ones stay. */
export function signatureSettingsSet(ptr: usize): void {
  const n = changetype<SignatureSettings>(ptr);
  const s = changetype<SignatureSettings>(settings);
  if (n.hasReqSignedPost) s.reqSignedPost = n.reqSignedPost;
  if (n.hasReqValidCheckPost) s.reqValidCheckPost = n.reqValidCheckPost;
  if (n.hasReqTimeSyncPost) s.reqTimeSyncPost = n.reqTimeSyncPost;
  if (n.hasReqSecLocalPost) s.reqSecLocalPost = n.reqSecLocalPost;
  if (n.hasReqSignedResp) s.reqSignedResp = n.reqSignedResp;
  if (n.hasReqValidCheckResp) s.reqValidCheckResp = n.reqValidCheckResp;
  if (n.hasReqTimeSyncResp) s.reqTimeSyncResp = n.reqTimeSyncResp;
  if (n.hasReqSecLocalResp) s.reqSecLocalResp = n.reqSecLocalResp;
  // The certificate field is not kept: the device trusts the provisioned key only.
  s.clearCert();
  structWrite(A("sigsettings"), SignatureSettings.desc(), settings, settingsBuf, 64);
}

export function fillSignatureSettings(row: i32, out: usize): bool {
  if (row != 0) return false;
  memory.copy(out, settings, SignatureSettings_SIZE);
  return true;
}

function s(): SignatureSettings { return changetype<SignatureSettings>(settings); }

export function signatureRequired(kind: i32): bool {
  if (!nmsKeySet) return false;
  return kind == SIG_POST ? s().reqSignedPost : s().reqSignedResp;
}
export function signatureChecksValidity(kind: i32): bool {
  return kind == SIG_POST ? s().reqValidCheckPost : s().reqValidCheckResp;
}
export function signatureNeedsTime(kind: i32): bool {
  return kind == SIG_POST ? s().reqTimeSyncPost : s().reqTimeSyncResp;
}
