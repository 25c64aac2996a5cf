// The scenario's device as a C host process (csmp-agent, the FreeRTOS
// simulator): started with the scenario's configuration file, bound to
// [::1], trusting the system clock (the NMS signs with it). A restart is
// what a power cycle is to such a host: SIGTERM, then a new process over the
// same state directory and port. Host events and configuration updates go
// in the C hosts' way: a line appended to the host's --event-file, then a
// signal (pal/common/event_file.c); the host logs each outcome as
// "host event N raised" / "configuration update LINE applied". Subclasses
// say which binary, with which arguments, which signal and log source.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, stopProcess } from "../support/c-host.ts";
import type { DeviceHandle, DeviceSetup } from "./device.ts";

/** One finished process: how it ended and what it wrote. */
export interface ProcessRun {
  exit: number | string;
  stderr: string;
  stdout: string;
}

export interface ProcessDeviceHandle extends DeviceHandle {
  /** Every process that has ended so far (restarts and the final stop). */
  readonly runs: ProcessRun[];
}

export abstract class ProcessDevice implements ProcessDeviceHandle {
  abstract readonly hostName: string;
  readonly address = "::1";
  port = 0;
  readonly runs: ProcessRun[] = [];
  protected proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  protected stderr = "";
  private stdout = "";
  private earlierLog = "";
  private earlierBoots = 0;
  protected readonly configPath: string;

  /**
   * started: the log line of one agent start (first boot and every in-place
   * restart), global and multiline; stopGraceMs: how long a SIGTERM may take
   * before SIGKILL.
   */
  constructor(protected readonly setup: DeviceSetup, private readonly started: RegExp,
    private readonly startTimeoutMs: number, private readonly stopGraceMs: number) {
    this.configPath = join(setup.root, "device.conf");
    writeFileSync(this.configPath, setup.config);
  }

  /** The program, its arguments and extra environment for the next start. */
  protected abstract command(): { binary: string; args: string[]; env?: Record<string, string> };

  /** The host's --event-file, the signal that makes it take the file, and the log source of the outcome lines. */
  protected abstract readonly events: { path: string; signal: NodeJS.Signals; source: string };

  /** The arguments every C host takes the same way. */
  protected commonArgs(module: string): string[] {
    return ["--module", module, "--config", this.configPath, "--bind", this.address,
      "--port", String(this.port), "--state", this.setup.stateDir, "--trust-system-time"];
  }

  get eui64(): string {
    return this.setup.eui64;
  }

  boots(): number {
    return this.earlierBoots + (`${this.stderr}\n${this.stdout}`.match(this.started)?.length ?? 0);
  }

  log(): string {
    return this.earlierLog + this.stderr + this.stdout;
  }

  /** Spawns the host and resolves once it listens and the agent has started. */
  start(): Promise<void> {
    const { binary, args, env } = this.command();
    const proc = spawn(binary, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    this.proc = proc;
    this.stderr = "";
    this.stdout = "";
    this.exited = new Promise((done) => proc.on("exit", (code, signal) => {
      this.runs.push({ exit: code ?? signal ?? -1, stderr: this.stderr, stdout: this.stdout });
      this.proc = null;
      done();
    }));
    return new Promise((started, failed) => {
      const timer = setTimeout(() => failed(new Error(`${this.hostName} did not start within ${this.startTimeoutMs} ms:\n${this.log()}`)),
        this.startTimeoutMs);
      const check = () => {
        const listening = `${this.stderr}\n${this.stdout}`.match(/net: listening on \[::1\]:(\d+)/);
        if (listening && this.boots() > this.earlierBoots) {
          clearTimeout(timer);
          this.port = Number(listening[1]);
          started();
        }
      };
      proc.stderr!.on("data", (b: Buffer) => { this.stderr += b.toString("utf8"); check(); });
      proc.stdout!.on("data", (b: Buffer) => { this.stdout += b.toString("utf8"); check(); });
      void this.exited.then(() => {
        clearTimeout(timer);
        failed(new Error(`${this.hostName} exited before its agent started:\n${this.log()}`));
      });
    });
  }

  async stop(): Promise<void> {
    // A host stuck in an agent call ignores the first SIGTERM's wish only
    // until the second; after the grace period it is killed outright.
    if (this.proc) await stopProcess(this.proc, this.exited, this.stopGraceMs);
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.earlierBoots = this.boots();
    this.earlierLog = this.log();
    this.stderr = "";
    this.stdout = "";
    await this.start();
  }

  /** A line in the event file, then the signal; resolves once the log shows `handled`, rejects unless it also shows `applied`. */
  private async signalLine(line: string, handled: string, applied: string): Promise<void> {
    if (!this.proc) throw new Error(`${this.hostName} is not running`);
    const seen = this.stderr.length;
    appendFileSync(this.events.path, `${line}\n`);
    this.proc.kill(this.events.signal);
    const end = Date.now() + 5_000;
    while (!this.stderr.slice(seen).includes(handled)) {
      if (Date.now() > end || !this.proc) throw new Error(`"${line}" not handled within 5 s:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!this.stderr.slice(seen).includes(applied)) throw new Error(`the agent refused "${line}":\n${this.log()}`);
  }

  raiseEvent(code: number, relatedTlv: number): Promise<void> {
    const at = `${this.events.source}: host event ${code}`;
    return this.signalLine(`${code} ${relatedTlv}`, at, `${at} raised`);
  }

  async updateConfig(lines: string): Promise<void> {
    for (const line of lines.split("\n").filter((l) => l !== "")) {
      const at = `${this.events.source}: configuration update ${line}`;
      await this.signalLine(line, at, `${at} applied`);
    }
  }
}
