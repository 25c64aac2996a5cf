// Device time: CurrentTime (TLV 18) and Uptime (TLV 22).
import { pal_clock_ms, pal_wall_time } from "../pal";
import { CurrentTime, Uptime } from "../generated/csmp";

/** CurrentTime.source: the clock was set locally (platform RTC/SNTP or the NMS). */
const TIME_SOURCE_LOCAL: u32 = 1;

let bootMs: i64 = 0;

export function clockStart(): void { bootMs = pal_clock_ms(); }

/** Seconds since the agent started. */
export function uptimeSeconds(): u32 { return <u32>((pal_clock_ms() - bootMs) / 1000); }

/**
 * POSIX time without trusted time is left out rather than invented: an NMS
 * must not file a report under a made-up timestamp.
 */
export function fillCurrentTime(row: i32, s: usize): bool {
  if (row != 0) return false;
  const t = changetype<CurrentTime>(s);
  const now = pal_wall_time();
  if (now >= 0) {
    t.posix = <u32>now;
    t.source = TIME_SOURCE_LOCAL;
  }
  return true;
}

export function fillUptime(row: i32, s: usize): bool {
  if (row != 0) return false;
  changetype<Uptime>(s).sysUpTime = uptimeSeconds();
  return true;
}
