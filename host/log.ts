// Log records from the agent (pal.log) and from the host itself, and the one
// readable line format the CLI prints.

/** The PAL's levels: 0 error, 1 warn, 2 info, 3 debug. */
export const LogLevel = { Error: 0, Warn: 1, Info: 2, Debug: 3 } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

const LEVEL_NAMES = ["ERROR", "WARN", "INFO", "DEBUG"] as const;

export interface LogEntry {
  level: LogLevel;
  /** "agent" for pal.log lines; host components name themselves ("host", "net", "pcap", ...). */
  source: string;
  text: string;
  /** Monotonic clock reading when it was logged. */
  monoMs: number;
  /** Wall clock reading (best effort) when it was logged. */
  wallMs: number;
}

export type LogSink = (entry: LogEntry) => void;

/** Clamps an agent-supplied level into the known range (unknown ones count as debug). */
export function toLogLevel(level: number): LogLevel {
  return (level >= 0 && level <= 3 ? level : 3) as LogLevel;
}

export function levelName(level: LogLevel): string {
  return LEVEL_NAMES[level];
}

/** Parses "error" | "warn" | "info" | "debug" (case-insensitive). */
export function parseLogLevel(text: string): LogLevel | null {
  const i = LEVEL_NAMES.findIndex((n) => n === text.toUpperCase());
  return i < 0 ? null : (i as LogLevel);
}

/** Collects entries in memory (tests and post-mortems). */
export class LogBuffer {
  readonly entries: LogEntry[] = [];
  readonly sink: LogSink = (e) => { this.entries.push(e); };
  texts(source?: string): string[] {
    return this.entries.filter((e) => source === undefined || e.source === source).map((e) => e.text);
  }
}

/** A clock reading formatted for a log line. */
export type Timestamp = (entry: LogEntry) => string;

/** ISO-8601 wall time (real runs). */
export const wallTimestamp: Timestamp = (e) => new Date(e.wallMs).toISOString();

/** Protocol time since start as "T+hh:mm:ss.mmm" (virtual runs, where wall time is fiction). */
export const monoTimestamp: Timestamp = (e) => {
  const ms = Math.max(0, Math.floor(e.monoMs));
  const h = Math.floor(ms / 3_600_000), m = Math.floor(ms / 60_000) % 60, s = Math.floor(ms / 1000) % 60;
  const pad = (v: number, n = 2) => String(v).padStart(n, "0");
  return `T+${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
};

/** "<time> <LEVEL> <source>: <text>" with control characters made visible. */
export function formatLogLine(entry: LogEntry, stamp: Timestamp = wallTimestamp): string {
  // eslint-disable-next-line no-control-regex
  const text = entry.text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `${stamp(entry)} ${levelName(entry.level).padEnd(5)} ${entry.source}: ${text}`;
}

/** A sink printing lines at or above `threshold` (lower number = more severe). */
export function consoleSink(threshold: LogLevel, stamp: Timestamp, write: (line: string) => void = (l) => process.stdout.write(l + "\n")): LogSink {
  return (e) => { if (e.level <= threshold) write(formatLogLine(e, stamp)); };
}

/** Logs with one source name, stamping entries from a clock. */
export type Logger = (level: LogLevel, text: string) => void;

export function makeLogger(sink: LogSink, clock: { nowMs(): number; wallTimeMs(): number }, source: string): Logger {
  return (level, text) => sink({ level, source, text, monoMs: clock.nowMs(), wallMs: clock.wallTimeMs() });
}
