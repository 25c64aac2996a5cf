// Agent life cycle: start after configuration (durable state, registration)
// and timer dispatch.
import { clockStart } from "./clock";
import { log, logBegin, logText, logBytes, logI, logEnd, LOG_INFO, LOG_WARN } from "../runtime/log";
import { eui64Text, mcastGroups, MAX_MCAST } from "../device/config";
import { pal_udp_multicast } from "../pal";
import { sessionLoad } from "./session";
import { groupsLoad } from "./groups";
import { reportingLoad, reportingTimer, TIMER_REPORT, TIMER_HEARTBEAT } from "./reporting";
import { registrationLoad, registrationStart, registrationTimer, TIMER_REGISTRATION, REG_COLDSTART } from "./registration";
import { signatureSettingsLoad } from "./signature-settings";
import { nmsUseConfigured } from "./nms";
import { rebootTimer, TIMER_REBOOT } from "./reboot";
import { asyncTimer, TIMER_ASYNC } from "./async-answer";
import { eventsLoad, eventsTimer, raiseEvent, TIMER_EVENTS, EVENT_POWER_RESTORED, EVENT_IP_CHANGED, EVENT_PARENT_CHANGED, EVENT_JOIN_REGAINED } from "./events";
import { REG_IP_CHANGED, REG_NMS_CHANGED, REG_OUTAGE, REG_ADMIN } from "./registration";
import { firmwareLoad, loadTimer, TIMER_LOAD } from "../firmware/firmware";
import { resetStatsBoot, RESET_CSMP_REBOOT } from "./reset-stats";
import { hostTlvLoad } from "./host-tlv";
import { applyConfigText, configBuf, CONFIG_CAP, configUsed, setConfigUsed, changedIp, changedNms } from "../device/config";

export function startAgent(): i32 {
  clockStart();
  nmsUseConfigured();
  sessionLoad();
  groupsLoad();
  reportingLoad();
  registrationLoad();
  signatureSettingsLoad();
  eventsLoad();
  const cause = resetStatsBoot();
  hostTlvLoad();
  firmwareLoad();
  for (let i = 0; i < MAX_MCAST; i++) {
    const g = mcastGroups + <usize>(i * 16);
    if (load<u8>(g) == 0xff && pal_udp_multicast(g, 1) < 0) log(LOG_WARN, A("could not join a multicast group"));
  }
  logBegin(); logText(A("agent started, device ")); logBytes(eui64Text, 16); logEnd(LOG_INFO);
  // A restart the NMS commanded (RebootRequest) is an administrative one (NMSStatus.lastRegReason 2).
  registrationStart(cause == RESET_CSMP_REBOOT ? REG_ADMIN : REG_COLDSTART, false);
  return 0;
}

export function onTimer(id: i32): void {
  if (id == TIMER_REGISTRATION) registrationTimer();
  else if (id == TIMER_REPORT || id == TIMER_HEARTBEAT) reportingTimer(id);
  else if (id == TIMER_REBOOT) rebootTimer();
  else if (id == TIMER_ASYNC) asyncTimer();
  else if (id == TIMER_EVENTS) eventsTimer();
  else if (id == TIMER_LOAD) loadTimer();
  else { logBegin(); logText(A("timer with no owner: ")); logI(id); logEnd(LOG_WARN); }
}

/**
 * The host reports an event (agent_event): raised as an alarm, and the
 * ones the draft names as registration triggers restart registration.
 */
export function onHostEvent(code: u32, relatedTlv: u32): bool {
  if (!raiseEvent(code, <u64>relatedTlv)) return false;
  if (code == EVENT_IP_CHANGED || code == EVENT_PARENT_CHANGED || code == EVENT_JOIN_REGAINED) registrationStart(REG_IP_CHANGED, false);
  else if (code == EVENT_POWER_RESTORED) registrationStart(REG_OUTAGE, false);
  return true;
}

/**
 * More configuration lines (agent_config_update), written by the host after
 * the text already in use (which the agent keeps viewing). New addresses
 * or a new NMS restart registration as the draft requires.
 */
export function onConfigUpdate(len: i32): i32 {
  if (len < 0 || configUsed + len > CONFIG_CAP) return -3;
  const rc = applyConfigText(configBuf + <usize>configUsed, len);
  setConfigUsed(configUsed + len);
  if (rc != 0) return rc;
  if (changedNms) { nmsUseConfigured(); registrationStart(REG_NMS_CHANGED, false); }
  else if (changedIp) registrationStart(REG_IP_CHANGED, false);
  return 0;
}
