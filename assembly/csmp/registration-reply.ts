// The NMS's answer to a registration: 2.03 Valid carries what changed
// (SessionID, GroupAssign, ReportSubscribe, stored durably) or an
// NMSRedirectRequest; 4.03 (unknown, unauthorised or duplicate device) and
// 4.04 (several sessions) keep the device retrying on its schedule.
import { coapCode, coapMid } from "../coap/message";
import { COAP_CODE_VALID } from "../coap/codes";
import { registrationDone, registrationRefused, registrationAwaits } from "./registration";
import { processPost, POST_OK } from "./post";
import { SIG_RESPONSE } from "./signature-settings";
import { reportingStart } from "./reporting";
import { eventsPending } from "./events";
import { asyncReset, asyncHasIds, asyncSchedule } from "./async-answer";

export function onRegistrationReply(): void {
  if (coapCode != COAP_CODE_VALID) {
    registrationRefused(coapCode);
    return;
  }
  // Signature checks and TLVs as for a POST; a rejected answer is as if none came.
  asyncReset();
  if (processPost(false, SIG_RESPONSE, false) != POST_OK) return;
  // A DescriptionRequest in the answer is answered by a NON POST.
  if (asyncHasIds()) asyncSchedule(0);
  // A redirect inside the answer restarted registration toward the new NMS.
  if (!registrationAwaits(coapMid)) return;
  registrationDone();
  reportingStart();
  eventsPending();
}
