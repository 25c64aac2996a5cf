// The C hosts as child processes of a test: building them (scripts/build-*.mjs),
// starting csmp-agent or the FreeRTOS simulator until it listens and its agent
// runs, and stopping it the way a supervisor would.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The POSIX WAMR host (scripts/build-pal.mjs). */
export const CSMP_AGENT = join(ROOT, "pal", "out", "csmp-agent");
/** The FreeRTOS PAL on the kernel's POSIX port (scripts/build-freertos.mjs). */
export const FREERTOS_SIM = join(ROOT, "pal", "freertos", "out", "csmp-agent-freertos");

/**
 * Runs node scripts/<script> (which builds only what changed) and returns
 * its stdout; a failed build throws with everything the script printed.
 * `what` names the result: "the C host", "the FreeRTOS simulator", ...
 */
export function buildCHost(what: string, script: string, ...args: string[]): string {
  try {
    return execFileSync(process.execPath, [join(ROOT, "scripts", script), ...args],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`building ${what} failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
}

/** A running C host. */
export interface HostProcess {
  proc: ChildProcess;
  /** The UDP port from its "net: listening on [::1]:PORT" line. */
  port: number;
  /** stderr and stdout so far, in arrival order. */
  log(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

export interface StartOptions {
  /** The log line that says the agent runs: /host: agent started/ (csmp-agent), /pal: agent started/ (FreeRTOS). */
  started: RegExp;
  /** For messages: "csmp-agent", "the simulator". */
  what: string;
  timeoutMs?: number;
}

/**
 * Spawns binary; resolves once it listens and `started` shows. Rejects if it
 * exits first, or kills it and rejects when it takes longer than timeoutMs.
 */
export function startHost(binary: string, args: string[], o: StartOptions): Promise<HostProcess> {
  const proc = spawn(binary, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const exited = new Promise<number | string>((res) => proc.on("exit", (code, sig) => res(code ?? sig ?? -1)));
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${o.what} did not start within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      log += chunk.toString("utf8");
      const port = log.match(/net: listening on \[::1\]:(\d+)/);
      if (port && o.started.test(log)) {
        clearTimeout(timer);
        resolveStart({ proc, port: Number(port[1]), log: () => log, exited });
      }
    };
    proc.stderr!.on("data", onData);
    proc.stdout!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${o.what} exited (${code}) before starting:\n${log}`));
    });
  });
}

/**
 * Stops a child process as a supervisor would: SIGTERM (a C host finishes its
 * agent call and exits), SIGKILL after graceMs. Resolves with `exited`.
 */
export async function stopProcess<T>(proc: ChildProcess, exited: Promise<T>, graceMs = 5_000): Promise<T> {
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill("SIGTERM");
    const killer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(killer);
  }
  return exited;
}
