// One csmp-agent process that may lose power at any moment (--power-cut-at,
// pal/posix/power_cut.c), even before its agent starts: its log as it comes,
// the numbered durable writes it logged (--journal-writes), waiting on it,
// and running many such cases a few at a time.
import { spawn } from "node:child_process";
import { CSMP_AGENT, ROOT, stopProcess } from "./c-host.ts";

/** pal/posix/host.h EXIT_POWER_CUT. */
export const EXIT_POWER_CUT = 75;

export interface Run {
  log(): string;
  port: Promise<number>;
  /** Exit code or signal, once the process has ended and its output is all in. */
  closed: Promise<number | string>;
  isClosed(): boolean;
  stop(): Promise<number | string>;
  /** Resolves once every line the process logged before this call has been read. */
  logBarrier(): Promise<void>;
}

export function launch(args: string[]): Run {
  const proc = spawn(CSMP_AGENT, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  let done = false;
  // "close", not "exit": the last line (the power cut's) must be read too.
  const closed = new Promise<number | string>((res) => proc.on("close", (code, sig) => { done = true; res(code ?? sig ?? -1); }));
  const port = new Promise<number>((res, rej) => {
    const onData = (b: Buffer) => {
      log += b.toString("utf8");
      const m = log.match(/net: listening on \[::1\]:(\d+)/);
      if (m) res(Number(m[1]));
    };
    proc.stderr.on("data", onData);
    proc.stdout.on("data", onData);
    void closed.then(() => rej(new Error(`csmp-agent ended before listening:\n${log}`)));
  });
  port.catch(() => {});
  // SIGUSR1 without --event-file makes the host log one line (pal/posix/main.c)
  // after everything it logged before: seeing it means stderr has caught up.
  const logBarrier = async () => {
    const ignored = /SIGUSR1 ignored/g;
    const before = log.match(ignored)?.length ?? 0;
    proc.kill("SIGUSR1");
    const end = Date.now() + 5_000;
    while ((log.match(ignored)?.length ?? 0) === before) {
      if (done || Date.now() > end) throw new Error(`csmp-agent did not log its SIGUSR1 line:\n${log}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { log: () => log, port, closed, isClosed: () => done, stop: () => stopProcess(proc, closed), logBarrier };
}

/** The numbered durable writes a run has logged so far (--journal-writes). */
export function journal(log: string): string[] {
  return [...log.matchAll(/power-cut: durable write (\d+): (.*)$/gm)].map((m) => m[2]);
}

/** Polls until done() holds or the run has ended; false when it ended first. */
export async function until(run: Pick<Run, "log" | "isClosed">, what: string, done: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (run.isClosed()) return false;
    if (Date.now() > end) throw new Error(`${what} did not happen within ${timeoutMs} ms:\n${run.log()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** Runs fn over items, `limit` at a time; resolves with the failures, by item. */
export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failures.push(`${JSON.stringify(item)}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return failures;
}
