// SysResetStats (TLV 86): why the device restarted, counted durably. The
// agent knows the restarts it asks for (RebootRequest, firmware load: it
// notes the cause before calling pal.reboot); any other boot is what the
// host says in `reset.cause` (docs/device-config.md), power-on by default.
import { SysResetStats, SysResetStats_SIZE, HardwareResetCount, SoftwareResetCount, ExceptionResetCount } from "../generated/csmp";
import { pbBump, pbUse } from "../proto/codec";
import { structRead, structWrite, recordRead, recordWrite, recordErase } from "../runtime/durable";
import { resetCause } from "../device/config";

// Causes: the host's reset.cause values, then the agent's own.
export const RESET_POWER_ON: u32 = 1;
export const RESET_EXTERNAL: u32 = 2;
export const RESET_WATCHDOG: u32 = 3;
export const RESET_STACK_OVERFLOW: u32 = 4;
export const RESET_EXCEPTION: u32 = 5;
export const RESET_CSMP_REBOOT: u32 = 6;
export const RESET_FIRMWARE_LOAD: u32 = 7;

const stats = memory.data(SysResetStats_SIZE);
const buf = memory.data(64);
const cause = memory.data(4);

/** Counts this boot; returns its cause (RESET_*). */
export function resetStatsBoot(): u32 {
  if (!structRead(A("resets"), SysResetStats.desc(), stats, buf, 64)) changetype<SysResetStats>(stats).clear();
  // The noted cause is used once; erased only when there is one (a flash
  // erase per boot for nothing would wear the NV sector over the years).
  let c = resetCause;
  const n = recordRead(A("resetcause"), cause, 4);
  if (n >= 0) { if (n == 4) c = load<u32>(cause); recordErase(A("resetcause")); }
  // Field numbers: SysResetStats total 1, hardwareReset 2, softwareReset 3,
  // exceptionReset 4; in each group total is 1, then the causes in order.
  const desc = SysResetStats.desc();
  pbBump(desc, stats, 1);
  const group: u32 = c <= RESET_EXTERNAL ? 2 : c <= RESET_EXCEPTION ? 4 : 3;
  const g = pbUse(desc, stats, group);
  const gd = group == 2 ? HardwareResetCount.desc() : group == 4 ? ExceptionResetCount.desc() : SoftwareResetCount.desc();
  pbBump(gd, g, 1);
  // hardware: external 2, power-on 3; exception: IWDG 2, stack 3, EPF 4; software: FW load 2, CSMP reboot 3.
  const field: u32 = c == RESET_EXTERNAL ? 2 : c == RESET_POWER_ON ? 3 : c <= RESET_EXCEPTION ? c - 1 : c == RESET_FIRMWARE_LOAD ? 2 : 3;
  pbBump(gd, g, field);
  structWrite(A("resets"), SysResetStats.desc(), stats, buf, 64);
  return c;
}

/** Notes why the agent is about to restart the device. */
export function resetStatsNote(c: u32): void {
  store<u32>(cause, c);
  recordWrite(A("resetcause"), cause, 4);
}

export function fillSysResetStats(row: i32, s: usize): bool {
  if (row != 0) return false;
  memory.copy(s, stats, SysResetStats_SIZE);
  return true;
}
