// The scenario's device as a csmp-agent process (the POSIX WAMR host, pal/):
// started with the scenario's configuration file, bound to [::1], trusting
// the system clock (the NMS signs with it). A restart is what a power cycle
// is to this host: SIGTERM, then a new process over the same state directory
// and port.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DeviceFactory, DeviceHandle, DeviceSetup } from "./device.ts";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The module both hosts run; AGENT_WASM overrides it, as for test/support/testbed.ts. */
export const AGENT_WASM = resolve(process.env.AGENT_WASM ?? join(ROOT, "build", "agent.wasm"));

export interface WamrDeviceOptions {
  /** The csmp-agent binary (default pal/out/csmp-agent). */
  binary?: string;
  /** Extra environment (sanitizer options). */
  env?: Record<string, string>;
  /** How long a start may take, ms (sanitizer builds are slower). */
  startTimeoutMs?: number;
}

/** One finished csmp-agent process: how it ended and what it wrote. */
export interface WamrRun {
  exit: number | string;
  stderr: string;
  stdout: string;
}

export interface WamrDeviceHandle extends DeviceHandle {
  /** Every process that has ended so far (restarts and the final stop). */
  readonly runs: WamrRun[];
}

const STOP_GRACE_MS = 10_000;

class WamrDevice implements WamrDeviceHandle {
  readonly hostName = "WAMR POSIX host";
  readonly address = "::1";
  port = 0;
  readonly runs: WamrRun[] = [];
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stderr = "";
  private stdout = "";
  private earlierLog = "";
  private earlierBoots = 0;
  private readonly configPath: string;
  private readonly eventPath: string;

  constructor(private readonly setup: DeviceSetup, private readonly o: WamrDeviceOptions) {
    this.configPath = join(setup.root, "device.conf");
    this.eventPath = join(setup.root, "events");
    writeFileSync(this.configPath, setup.config);
  }

  get eui64(): string {
    return this.setup.eui64;
  }

  boots(): number {
    return this.earlierBoots + (this.stderr.match(/ host: agent started$/gm)?.length ?? 0);
  }

  log(): string {
    return this.earlierLog + this.stderr + this.stdout;
  }

  /** Spawns csmp-agent and resolves once it listens and the agent has started. */
  start(): Promise<void> {
    const binary = this.o.binary ?? join(ROOT, "pal", "out", "csmp-agent");
    const args = ["--module", AGENT_WASM, "--config", this.configPath, "--bind", this.address,
      "--port", String(this.port), "--state", this.setup.stateDir, "--trust-system-time", "--event-file", this.eventPath];
    const proc = spawn(binary, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...this.o.env } });
    this.proc = proc;
    this.stderr = "";
    this.stdout = "";
    proc.stdout!.on("data", (b: Buffer) => { this.stdout += b.toString("utf8"); });
    this.exited = new Promise((done) => proc.on("exit", (code, signal) => {
      this.runs.push({ exit: code ?? signal ?? -1, stderr: this.stderr, stdout: this.stdout });
      this.proc = null;
      done();
    }));
    const timeoutMs = this.o.startTimeoutMs ?? 10_000;
    return new Promise((started, failed) => {
      const timer = setTimeout(() => failed(new Error(`csmp-agent did not start within ${timeoutMs} ms:\n${this.log()}`)), timeoutMs);
      proc.stderr!.on("data", (b: Buffer) => {
        this.stderr += b.toString("utf8");
        const listening = this.stderr.match(/net: listening on \[::1\]:(\d+)/);
        if (listening && /host: agent started/.test(this.stderr)) {
          clearTimeout(timer);
          this.port = Number(listening[1]);
          started();
        }
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        failed(new Error(`csmp-agent exited before its agent started:\n${this.log()}`));
      });
    });
  }

  /** The host's way (pal/posix/events.c): a line in the event file, then SIGUSR1; resolves once it was handled. */
  private async signalLine(line: string, handled: string, applied: string): Promise<void> {
    if (!this.proc) throw new Error("csmp-agent is not running");
    const seen = this.stderr.length;
    appendFileSync(this.eventPath, `${line}\n`);
    this.proc.kill("SIGUSR1");
    const end = Date.now() + 5_000;
    while (!this.stderr.slice(seen).includes(handled)) {
      if (Date.now() > end || !this.proc) throw new Error(`"${line}" not handled within 5 s:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!this.stderr.slice(seen).includes(applied)) throw new Error(`the agent refused "${line}":\n${this.log()}`);
  }

  raiseEvent(code: number, relatedTlv: number): Promise<void> {
    return this.signalLine(`${code} ${relatedTlv}`, `events: host event ${code}`, `events: host event ${code} raised`);
  }

  async updateConfig(lines: string): Promise<void> {
    for (const line of lines.split("\n").filter((l) => l !== "")) {
      await this.signalLine(line, `events: configuration update ${line}`, `events: configuration update ${line} applied`);
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc) {
      proc.kill("SIGTERM");
      // A host stuck in an agent call ignores the first SIGTERM's wish only
      // until the second; after the grace period it is killed outright.
      const killer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
      await this.exited;
      clearTimeout(killer);
    }
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
}

/** Devices run as csmp-agent processes; build the binary before using it. */
export function wamrDevices(o: WamrDeviceOptions = {}): DeviceFactory {
  return async (setup) => {
    const device = new WamrDevice(setup, o);
    await device.start();
    return device;
  };
}

/** The process handle type, for tests that inspect finished runs. */
export function asWamr(device: DeviceHandle): WamrDeviceHandle {
  if (!("runs" in device)) throw new Error(`${device.hostName} is not a csmp-agent process`);
  return device as WamrDeviceHandle;
}
