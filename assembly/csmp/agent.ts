// Agent life cycle: start after configuration, timer dispatch.
import { clockStart } from "./clock";
import { logBegin, logStr, logBytes, logI, logEnd, LOG_INFO, LOG_WARN } from "../runtime/log";
import { eui64Text } from "../device/config";

let started = false;

export function startAgent(): i32 {
  clockStart();
  started = true;
  logBegin(); logStr("agent started, device "); logBytes(eui64Text, 16); logEnd(LOG_INFO);
  return 0;
}

export function isStarted(): bool { return started; }

/** Timer ids (pal.timer_arm): one per protocol activity. */
export function onTimer(id: i32): void {
  logBegin(); logStr("timer with no owner: "); logI(id); logEnd(LOG_WARN);
}
