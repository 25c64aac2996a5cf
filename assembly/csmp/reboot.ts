// RebootRequest (TLV 32): the answer goes out first, then the device
// restarts through the PAL a moment later (the draft: acknowledge, then act).
import { pal_timer_arm, pal_reboot } from "../pal";
import { resetStatsNote, RESET_CSMP_REBOOT } from "./reset-stats";
import { logBegin, logText, logU, logEnd, LOG_INFO } from "../runtime/log";

export const TIMER_REBOOT: i32 = 3;
/** Time for the answer to leave the radio before the restart. */
const REBOOT_DELAY_MS: u32 = 2000;
/** SysResetStats-style reason handed to the PAL: administrative reboot. */
export const RESET_ADMIN: i32 = 2;

let pendingFlag: u32 = 0;

export function requestReboot(flag: u32): void {
  pendingFlag = flag;
  logBegin(); logText(A("reboot requested by the NMS (flag ")); logU(flag); logText(A(")")); logEnd(LOG_INFO);
  pal_timer_arm(TIMER_REBOOT, REBOOT_DELAY_MS);
}

export function rebootTimer(): void {
  resetStatsNote(RESET_CSMP_REBOOT);
  pal_reboot(RESET_ADMIN);
}
