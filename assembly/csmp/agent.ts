// Agent life cycle: start after configuration (durable state, registration)
// and timer dispatch.
import { clockStart } from "./clock";
import { logBegin, logText, logBytes, logI, logEnd, LOG_INFO, LOG_WARN } from "../runtime/log";
import { eui64Text } from "../device/config";
import { sessionLoad } from "./session";
import { groupsLoad } from "./groups";
import { reportingLoad, reportingTimer, TIMER_REPORT, TIMER_HEARTBEAT } from "./reporting";
import { registrationLoad, registrationStart, registrationTimer, TIMER_REGISTRATION, REG_COLDSTART } from "./registration";
import { signatureSettingsLoad } from "./signature-settings";
import { nmsUseConfigured } from "./nms";
import { rebootTimer, TIMER_REBOOT } from "./reboot";
import { asyncTimer, TIMER_ASYNC } from "./async-answer";

export function startAgent(): i32 {
  clockStart();
  nmsUseConfigured();
  sessionLoad();
  groupsLoad();
  reportingLoad();
  registrationLoad();
  signatureSettingsLoad();
  logBegin(); logText(A("agent started, device ")); logBytes(eui64Text, 16); logEnd(LOG_INFO);
  registrationStart(REG_COLDSTART, false);
  return 0;
}

export function onTimer(id: i32): void {
  if (id == TIMER_REGISTRATION) registrationTimer();
  else if (id == TIMER_REPORT || id == TIMER_HEARTBEAT) reportingTimer(id);
  else if (id == TIMER_REBOOT) rebootTimer();
  else if (id == TIMER_ASYNC) asyncTimer();
  else { logBegin(); logText(A("timer with no owner: ")); logI(id); logEnd(LOG_WARN); }
}
