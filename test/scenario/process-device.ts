// The scenario's device as a C host process (csmp-agent, the FreeRTOS
// simulator): started with the scenario's configuration file, bound to
// [::1], trusting the system clock (the NMS signs with it). A restart is
// what a power cycle is to such a host: SIGTERM, then a new process over the
// same state directory and port. Subclasses say which binary, with which
// arguments, and how host events and configuration updates get in.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
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

  abstract raiseEvent(code: number, relatedTlv: number): Promise<void>;
  abstract updateConfig(lines: string): Promise<void>;
}
