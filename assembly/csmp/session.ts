// The NMS-assigned session: SessionID (TLV 7), kept durably. Sent in every
// device-originated message once known.
import { SessionID } from "../generated/csmp";
import { recordRead, recordWrite } from "../runtime/durable";
import { bytesEqual } from "../util/text";

const SESSION_CAP: i32 = 64;
const sessionText = memory.data(SESSION_CAP);
let sessionLen: i32 = -1;

export function sessionLoad(): void {
  sessionLen = recordRead(A("session"), sessionText, SESSION_CAP);
}

/** Stores a new session id (durably) when it differs from the current one. */
export function sessionSet(ptr: usize, len: i32): void {
  if (len > SESSION_CAP) len = SESSION_CAP;
  if (len == sessionLen && bytesEqual(ptr, sessionText, len)) return;
  memory.copy(sessionText, ptr, len);
  sessionLen = len;
  recordWrite(A("session"), sessionText, len);
}

/** SessionID as a TLV source: one row when a session is known. */
export function fillSessionId(row: i32, s: usize): bool {
  if (row != 0 || sessionLen < 0) return false;
  changetype<SessionID>(s).setId(sessionText, sessionLen);
  return true;
}
