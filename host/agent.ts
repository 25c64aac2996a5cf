// The agent runtime: one agent.wasm instance at a time over durable storage,
// a clock and a UDP endpoint. It boots the agent (boot loader, configuration,
// agent_init), feeds it datagrams and timer expiries through the exported
// entry points, and restarts it like a device would: on pal.reboot, and after
// pal.fatal or a trap (a watchdog reset). A restart is a fresh instance with
// fresh linear memory; only storage survives.
import type { Clock, TimerHandle } from "./clock.ts";
import { formatEndpoint, IPV6_LEN } from "./ipv6.ts";
import { LogLevel, type LogEntry, type LogSink, levelName, makeLogger } from "./log.ts";
import type { Datagram, Endpoint } from "./network.ts";
import { AgentFatal, AgentReboot, type PalBinding, createPal } from "./pal.ts";
import type { RandomSource } from "./random.ts";
import type { Pinger } from "./ping.ts";
import type { DeviceStorage } from "./storage.ts";

/** The exports of agent.wasm (assembly/index.ts) the host calls. */
export interface AgentExports {
  memory: WebAssembly.Memory;
  agent_config_buf(): number;
  agent_config_cap(): number;
  agent_init(cfgLen: number): number;
  agent_rx_buf(): number;
  agent_rx_cap(): number;
  agent_addr_buf(): number;
  agent_datagram(len: number, srcPort: number, dstPort: number): void;
  agent_timer(id: number): void;
  agent_ping_done(sent: number, received: number, minMs: number, meanMs: number, maxMs: number, stdevMs: number): void;
  agent_event(code: number, relatedTlv: number): number;
  agent_config_tail(): number;
  agent_config_update(len: number): number;
}

const REQUIRED_EXPORTS = [
  "agent_config_buf", "agent_config_cap", "agent_init", "agent_rx_buf", "agent_rx_cap",
  "agent_addr_buf", "agent_datagram", "agent_timer", "agent_ping_done", "agent_event",
  "agent_config_tail", "agent_config_update",
] as const;

/** raiseEvent / updateConfig: the agent's call ended in pal.reboot, pal.fatal or a trap (the host restarts it). */
export const AGENT_STOPPED = -100;
/** updateConfig: the text does not fit the agent's configuration buffer (agent_config_update's own answer for it). */
export const CONFIG_BUFFER_FULL = -3;

export type AgentHostEvent =
  | { kind: "started"; boot: number; bootedSlot: number | null }
  | { kind: "reboot"; reason: number }
  | { kind: "fatal"; reason: string }
  | { kind: "slot-activate"; slot: number }
  | { kind: "fallback"; slot: number; reason: string }
  | { kind: "restart-failed"; reason: string }
  | { kind: "drop"; reason: string; datagram: Datagram }
  | { kind: "stopped" };

export interface AgentHostOptions {
  /** agent.wasm bytes, or a module compiled once and shared by many hosts. */
  wasm: Uint8Array | WebAssembly.Module;
  /** Device configuration text (docs/device-config.md; see device-config.ts). */
  config: string;
  clock: Clock;
  storage: DeviceStorage;
  endpoint: Endpoint;
  log: LogSink;
  random?: RandomSource;
  /** Restart after pal.fatal or a trap, as a watchdog would (default true). */
  restartOnFatal?: boolean;
  /** How long a restart takes, in clock ms (default 0: at the next clock turn). */
  rebootDelayMs?: number;
  /**
   * Simulates images that do not come up: called after the boot loader swapped
   * a new image into slot 0; a reason string makes this boot fail, and the boot
   * loader falls back to the previous image as a trial boot would.
   */
  imageFails?: (storage: DeviceStorage) => string | null;
  /** Performs pal.ping (see host/ping.ts); without one the device cannot ping. */
  ping?: Pinger;
  /** Applies NetworkRole / vendor TLVs (pal.host_tlv); default in host/pal.ts. */
  onHostTlv?: (type: number, pen: number, subtype: number, value: Uint8Array) => number;
  /** Every datagram in (delivered to the agent) and out (sent by it). */
  onDatagram?: (direction: "in" | "out", d: Datagram) => void;
  onEvent?: (e: AgentHostEvent) => void;
}

export interface AgentMemoryStats {
  /** Linear memory size (memory.buffer.byteLength). */
  bytes: number;
  pages: number;
}

/** Compiles agent.wasm once; instances are cheap after that. */
export function compileAgent(bytes: Uint8Array): WebAssembly.Module {
  return new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
}

export class AgentHost {
  private readonly module: WebAssembly.Module;
  private readonly opts: AgentHostOptions;
  private readonly log: (level: LogLevel, text: string) => void;
  private agent: AgentExports | null = null;
  private pal: PalBinding | null = null;
  private depth = 0;
  private pendingRestart: TimerHandle | null = null;
  private boots = 0;
  private stopped = false;
  private fatal: string | null = null;
  /** Agent error lines of the boot in progress, for a useful init failure message. */
  private bootErrors: string[] | null = null;

  constructor(options: AgentHostOptions) {
    this.opts = options;
    this.module = options.wasm instanceof WebAssembly.Module ? options.wasm : compileAgent(options.wasm);
    this.log = makeLogger(options.log, options.clock, "host");
  }

  /** True while an agent instance runs (false during a restart and after stop). */
  get running(): boolean {
    return this.agent !== null;
  }

  /** Number of successful boots (1 after start()). */
  get bootCount(): number {
    return this.boots;
  }

  /** Reason of the last pal.fatal or trap, if any. */
  get lastFatal(): string | null {
    return this.fatal;
  }

  /** The running instance's exports (tests peek; null while down). */
  get exports(): AgentExports | null {
    return this.agent;
  }

  /** Timers the running agent has armed. */
  armedTimers(): number[] {
    return this.pal?.armedTimers() ?? [];
  }

  memoryStats(): AgentMemoryStats | null {
    if (!this.agent) return null;
    const bytes = this.agent.memory.buffer.byteLength;
    return { bytes, pages: bytes / 65536 };
  }

  /**
   * Boots the agent. Throws an Error carrying the agent's logged reason when
   * agent_init fails (a failed first boot is a configuration problem, not
   * something a restart fixes).
   */
  start(): void {
    if (this.agent) throw new Error("agent already running");
    this.stopped = false;
    this.opts.endpoint.onReceive((d) => this.deliver(d));
    try {
      this.boot();
    } catch (e) {
      this.opts.endpoint.onReceive(null);
      throw e;
    }
  }

  /** Stops the agent; the endpoint is left open (its owner closes it). */
  stop(): void {
    this.stopped = true;
    if (this.pendingRestart !== null) this.opts.clock.cancel(this.pendingRestart);
    this.pendingRestart = null;
    this.halt();
    this.opts.endpoint.onReceive(null);
    this.emit({ kind: "stopped" });
  }

  /** Power-cycles the device from outside (the agent is not asked). */
  powerCycle(): void {
    this.log(LogLevel.Info, "power cycle");
    this.restart();
  }

  /**
   * Raises device event `code` (assembly/csmp/events.ts: 1 power outage,
   * 2 power restored, 3 tamper, 6 IP address changed, ...), optionally naming
   * a related TLV id: agent_event, run like every entry point (pal.reboot,
   * pal.fatal or a trap restarts the agent). Returns its answer, 0 or -1 for
   * a code the agent does not know; AGENT_STOPPED when the call ended in a
   * restart. Throws when no agent runs.
   */
  raiseEvent(code: number, relatedTlv = 0): number {
    const agent = this.runningAgent("raiseEvent");
    let rc = AGENT_STOPPED;
    this.enter("event", () => { rc = agent.agent_event(code, relatedTlv); });
    return rc;
  }

  /**
   * Applies configuration lines (docs/device-config.md; later lines override
   * earlier ones) to the running agent: written at agent_config_tail(), then
   * agent_config_update, run like every entry point. Returns its answer: 0,
   * negative when refused (the agent logs why), -3 when the configuration
   * buffer is full (restart the agent with the whole text); AGENT_STOPPED
   * when the call ended in a restart. Throws when no agent runs.
   */
  updateConfig(text: string): number {
    const agent = this.runningAgent("updateConfig");
    const bytes = new TextEncoder().encode(text);
    // The tail moves with every update; the room is what the text in use leaves.
    const tail = agent.agent_config_tail() >>> 0;
    const end = (agent.agent_config_buf() >>> 0) + agent.agent_config_cap();
    if (bytes.length > end - tail) return CONFIG_BUFFER_FULL;
    new Uint8Array(agent.memory.buffer).set(bytes, tail);
    let rc = AGENT_STOPPED;
    this.enter("configuration update", () => { rc = agent.agent_config_update(bytes.length); });
    return rc;
  }

  /**
   * Hands a datagram to the agent. Returns false (and logs the drop) when no
   * agent runs or the datagram exceeds agent_rx_cap().
   */
  deliver(d: Datagram): boolean {
    if (this.depth > 0) throw new Error("re-entrant delivery: a datagram must not be delivered from inside an agent call");
    const agent = this.agent;
    if (!agent) return this.drop(d, "agent not running");
    const cap = agent.agent_rx_cap();
    if (d.payload.length > cap) return this.drop(d, `${d.payload.length} bytes exceed the receive buffer (${cap})`);
    if (d.src.length !== IPV6_LEN || d.dst.length !== IPV6_LEN) return this.drop(d, "addresses must be 16 bytes");
    const mem = new Uint8Array(agent.memory.buffer);
    mem.set(d.payload, agent.agent_rx_buf() >>> 0);
    const addr = agent.agent_addr_buf() >>> 0;
    mem.set(d.src, addr);
    mem.set(d.dst, addr + IPV6_LEN);
    try {
      this.opts.onDatagram?.("in", d);
    } catch (e) {
      this.log(LogLevel.Error, `datagram observer: ${(e as Error).message}`);
    }
    return this.enter("datagram", () => agent.agent_datagram(d.payload.length, d.srcPort, d.dstPort));
  }

  // ---- lifecycle ---------------------------------------------------------------

  private boot(): void {
    const { storage } = this.opts;
    const swap = storage.applyPendingBoot();
    // The power went while the boot loader worked (a storage fault injector
    // power-cycled the device from inside it): this boot ends here, the next
    // one is scheduled.
    if (this.pendingRestart !== null) return;
    let bootedSlot: number | null = null;
    if (!swap.ok) this.log(LogLevel.Error, `boot loader: ${swap.reason}; booting the current image`);
    else bootedSlot = swap.value;
    if (bootedSlot !== null) this.log(LogLevel.Info, `boot loader: slot ${bootedSlot} swapped in as the running image`);
    try {
      // A trial boot of a swapped-in image: the host may say it does not come up.
      const failure = bootedSlot === null ? null : this.opts.imageFails?.(storage);
      if (failure) throw new Error(failure);
      this.instantiateAndInit();
    } catch (e) {
      if (bootedSlot === null) throw e;
      // The new image did not come up: swap the old one back, as a boot loader's trial boot does.
      const reason = (e as Error).message;
      const back = storage.swapSlots(0, bootedSlot);
      if (!back.ok) throw new Error(`${reason}; fallback failed: ${back.reason}`);
      this.log(LogLevel.Warn, `image from slot ${bootedSlot} failed (${reason}); fell back to the previous image`);
      this.emit({ kind: "fallback", slot: bootedSlot, reason });
      bootedSlot = null;
      this.instantiateAndInit();
    }
    this.boots++;
    this.emit({ kind: "started", boot: this.boots, bootedSlot });
  }

  private instantiateAndInit(): void {
    const o = this.opts;
    const pal = createPal({
      clock: o.clock,
      storage: o.storage,
      endpoint: o.endpoint,
      random: o.random,
      log: (e: LogEntry) => {
        if (this.bootErrors && e.source === "agent" && e.level <= LogLevel.Warn) this.bootErrors.push(`${levelName(e.level)} ${e.text}`);
        o.log(e);
      },
      enter: (what, call) => { this.enter(what, call); },
      onReboot: (reason) => {
        this.log(LogLevel.Info, `agent requested reboot (reason ${reason})`);
        this.emit({ kind: "reboot", reason });
        return true;
      },
      onFatal: (f) => { this.fatal = f.reason; },
      onSlotActivate: (slot) => {
        this.log(LogLevel.Info, `slot ${slot} marked to boot next`);
        this.emit({ kind: "slot-activate", slot });
      },
      onSend: (d) => o.onDatagram?.("out", d),
      ping: o.ping,
      onHostTlv: o.onHostTlv,
    });
    const instance = new WebAssembly.Instance(this.module, { pal: pal.imports });
    const agent = this.checkExports(instance.exports);
    pal.setInstance(agent);
    this.pal = pal;
    this.agent = agent;

    const text = new TextEncoder().encode(o.config);
    const cap = agent.agent_config_cap();
    if (text.length > cap) {
      this.halt();
      throw new Error(`device configuration is ${text.length} bytes; the agent accepts ${cap}`);
    }
    new Uint8Array(agent.memory.buffer).set(text, agent.agent_config_buf() >>> 0);
    const errors: string[] = [];
    this.bootErrors = errors;
    let rc: number;
    this.depth++;
    try {
      rc = agent.agent_init(text.length);
    } catch (e) {
      this.halt();
      throw new Error(`agent_init aborted: ${e instanceof AgentFatal ? e.reason : (e as Error).message}`);
    } finally {
      this.depth--;
      this.bootErrors = null;
    }
    if (rc < 0) {
      this.halt();
      throw new Error(`agent_init failed (${rc})${errors.length ? ": " + errors.join("; ") : ""}`);
    }
  }

  private checkExports(exports: WebAssembly.Exports): AgentExports {
    const missing: string[] = REQUIRED_EXPORTS.filter((n) => typeof exports[n] !== "function");
    if (!(exports.memory instanceof WebAssembly.Memory)) missing.unshift("memory");
    if (missing.length) throw new Error(`agent.wasm lacks exports: ${missing.join(", ")}`);
    return exports as unknown as AgentExports;
  }

  /** Drops the instance: its timers and groups go with it. */
  private halt(): void {
    this.pal?.shutdown();
    this.pal = null;
    this.agent = null;
  }

  private restart(): void {
    this.halt();
    if (this.stopped || this.pendingRestart !== null) return;
    this.pendingRestart = this.opts.clock.schedule(this.opts.rebootDelayMs ?? 0, () => {
      this.pendingRestart = null;
      if (this.stopped) return;
      try {
        this.boot();
      } catch (e) {
        // Nobody to throw to from a timer: the device stays down, loudly.
        const reason = (e as Error).message;
        this.log(LogLevel.Error, `restart failed: ${reason}`);
        this.emit({ kind: "restart-failed", reason });
      }
    });
  }

  /**
   * Runs one agent entry point. pal.reboot and pal.fatal unwind through here
   * and become a restart; a trap counts as a fatal (the watchdog's view).
   * Returns false when the call ended that way.
   */
  private enter(what: string, call: () => void): boolean {
    if (this.depth > 0) {
      // A PAL import must never call back into the agent; this is a host bug.
      throw new Error(`re-entrant agent call (${what})`);
    }
    this.depth++;
    try {
      call();
      return true;
    } catch (e) {
      if (e instanceof AgentReboot) {
        this.restart();
        return false;
      }
      if (e instanceof AgentFatal || e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
        const reason = e instanceof AgentFatal ? e.reason : `trap: ${e.message}`;
        this.fatal = reason;
        this.log(LogLevel.Error, `agent died in ${what}: ${reason}`);
        this.emit({ kind: "fatal", reason });
        if (this.opts.restartOnFatal ?? true) this.restart();
        else this.halt();
        return false;
      }
      throw e;
    } finally {
      this.depth--;
    }
  }

  /** The running instance for a call from outside (not from inside an agent call). */
  private runningAgent(what: string): AgentExports {
    if (this.depth > 0) throw new Error(`re-entrant ${what}: not from inside an agent call`);
    if (!this.agent) throw new Error(`${what}: no agent running`);
    return this.agent;
  }

  private drop(d: Datagram, reason: string): boolean {
    this.log(LogLevel.Warn, `dropped datagram from ${formatEndpoint(d.src, d.srcPort)}: ${reason}`);
    this.emit({ kind: "drop", reason, datagram: d });
    return false;
  }

  private emit(e: AgentHostEvent): void {
    this.opts.onEvent?.(e);
  }
}
