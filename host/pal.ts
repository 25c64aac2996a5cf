// The Node implementation of the "pal" import module (contract:
// assembly/pal.ts, one function here per declaration there, same names,
// argument order and results).
//
// Rules kept throughout:
// - (ptr, len) pairs point into the agent's linear memory, obtained through
//   setInstance() after instantiation. Every access is range-checked and
//   copied; a fresh view is taken per call (views die if memory ever grows).
// - No import throws into the agent, except fatal (and a successful reboot,
//   which per the contract does not return): failures become negative
//   results, or for void functions a host-side log line.
// - No import calls back into the agent: timers and datagrams are delivered
//   later, by the clock or the event loop.
import { createHash, type Hash } from "node:crypto";
import type { Clock, TimerHandle } from "./clock.ts";
import { HostError } from "./errors.ts";
import { IPV6_LEN, formatAddress, formatEndpoint } from "./ipv6.ts";
import { LogLevel, type LogSink, makeLogger, toLogLevel } from "./log.ts";
import type { Datagram, Endpoint } from "./network.ts";
import { verifyP256Digest } from "./p256.ts";
import { type RandomSource, systemRandom } from "./random.ts";
import { type DeviceStorage, type StorageResult, KEY_MAX_LEN } from "./storage.ts";
import type { Pinger } from "./ping.ts";

/** Timer ids the agent may use (timer_arm / timer_cancel). */
export const TIMER_COUNT = 16;

/** The agent called pal.fatal: thrown to unwind the agent, caught by the host runtime. */
export class AgentFatal extends Error {
  constructor(readonly reason: string, readonly line: number, readonly column: number) {
    super(`agent fatal: ${reason} (line ${line}, column ${column})`);
    this.name = "AgentFatal";
  }
}

/** The agent called pal.reboot and the host accepted: unwinds the agent like a reset. */
export class AgentReboot extends Error {
  constructor(readonly reason: number) {
    super(`agent reboot, reason ${reason}`);
    this.name = "AgentReboot";
  }
}

/** What the PAL needs from the agent instance, set after instantiation. */
export interface AgentInstance {
  memory: WebAssembly.Memory;
  agent_timer(id: number): void;
  agent_ping_done?(sent: number, received: number, minMs: number, meanMs: number, maxMs: number, stdevMs: number): void;
}

export interface PalDeps {
  clock: Clock;
  storage: DeviceStorage;
  /** The agent's CoAP socket. */
  endpoint: Endpoint;
  /** Receives agent lines (source "agent") and PAL diagnostics (source "pal"). */
  log: LogSink;
  /** Default: the OS CSPRNG. */
  random?: RandomSource;
  /**
   * Runs an agent entry point on the agent's behalf (timer expiry). The host
   * runtime passes its guard, which turns AgentFatal / AgentReboot into a
   * restart. Default: call it directly.
   */
  enter?: (what: string, call: () => void) => void;
  /**
   * The agent asked to reboot. Return true to accept (the PAL then unwinds
   * the agent with AgentReboot and the runtime restarts it); false (or no
   * handler) makes reboot return, which the agent treats as a failure.
   */
  onReboot?: (reason: number) => boolean;
  /** Called after pal.fatal recorded its reason, before the unwind. */
  onFatal?: (fatal: AgentFatal) => void;
  /** Called after a successful slot_activate. */
  onSlotActivate?: (slot: number) => void;
  /** Observes every datagram the agent handed to the network (logs, pcap). */
  onSend?: (d: Datagram) => void;
  /** Performs pal.ping; without one the platform cannot ping (-8). */
  ping?: Pinger;
  /**
   * Applies a TLV the platform owns (pal.host_tlv): NetworkRole (141) or a
   * vendor TLV (127, pen, subtype). Returns 0 or a negative HostError.
   * Default: NetworkRole is taken (logged), vendor TLVs are refused (-8).
   */
  onHostTlv?: (type: number, pen: number, subtype: number, value: Uint8Array) => number;
}

/** The "pal" import object: exactly the functions of assembly/pal.ts. */
export interface PalImports {
  log(level: number, ptr: number, len: number): void;
  fatal(ptr: number, len: number, line: number, column: number): void;
  udp_send(addr: number, port: number, data: number, len: number): number;
  udp_multicast(addr: number, join: number): number;
  timer_arm(id: number, ms: number): void;
  timer_cancel(id: number): void;
  clock_ms(): bigint;
  wall_time(): bigint;
  wall_time_set(posix: bigint): number;
  random(ptr: number, len: number): void;
  store_read(key: number, keyLen: number, buf: number, cap: number): number;
  store_write(key: number, keyLen: number, buf: number, len: number): number;
  store_erase(key: number, keyLen: number): number;
  slot_size(slot: number): number;
  slot_erase(slot: number): number;
  slot_write(slot: number, offset: number, data: number, len: number): number;
  slot_read(slot: number, offset: number, buf: number, len: number): number;
  slot_activate(slot: number): number;
  reboot(reason: number): void;
  ping(dest: number, count: number, intervalMs: number): number;
  host_tlv(type: number, pen: number, subtype: number, value: number, len: number): number;
  sha256_start(): void;
  sha256_update(data: number, len: number): void;
  sha256_finish(out: number): void;
  ecdsa_p256_verify(pubKey: number, digest: number, r: number, s: number): number;
}

export interface PalBinding {
  /** Pass as `{ pal: binding.imports }` when instantiating. */
  readonly imports: PalImports & WebAssembly.ModuleImports;
  /** Connects the PAL to the instantiated agent (its memory and timer entry). */
  setInstance(instance: AgentInstance): void;
  /**
   * The instance is gone (reboot, fatal, stop): cancel its timers, leave its
   * multicast groups, drop any running SHA-256. Later calls are ignored.
   */
  shutdown(): void;
  /** The reason recorded by the last pal.fatal, if any. */
  readonly lastFatal: AgentFatal | null;
  /** Ids of armed timers (diagnostics, tests). */
  armedTimers(): number[];
  /** Groups joined through udp_multicast (text), for diagnostics. */
  joinedGroups(): string[];
}

/** A pointer/length outside agent memory, or a malformed argument: becomes HostError.BadArgument. */
class BadArgumentError extends Error {}

// The agent's abort text is short (96 bytes); bound what a corrupt call could ask for.
const MAX_FATAL_TEXT = 1024;

// Wall-clock values beyond this (year ~2^38 s) cannot be real; also keeps ms within 2^53.
const MAX_POSIX_SECONDS = 2n ** 40n;

export function createPal(deps: PalDeps): PalBinding {
  const { clock, storage, endpoint } = deps;
  const random = deps.random ?? systemRandom;
  const enter = deps.enter ?? ((_what: string, call: () => void) => call());
  let pinging = false;
  const agentLog = makeLogger(deps.log, clock, "agent");
  const palLog = makeLogger(deps.log, clock, "pal");

  let instance: AgentInstance | null = null;
  let alive = true;
  let lastFatal: AgentFatal | null = null;
  let sha: Hash | null = null;
  const timers = new Map<number, TimerHandle>();
  const utf8 = new TextDecoder(); // lenient: a bad byte becomes U+FFFD, never an exception
  const groups = new Map<string, Uint8Array>();

  const memory = (): Uint8Array => {
    if (!instance) throw new BadArgumentError("agent memory not attached yet");
    return new Uint8Array(instance.memory.buffer);
  };
  /** A live view of [ptr, ptr+len) of agent memory (only while in this call). */
  const view = (ptr: number, len: number): Uint8Array => {
    const mem = memory();
    const p = ptr >>> 0;
    if (len < 0 || p + len > mem.length) throw new BadArgumentError(`range ${p}+${len} outside agent memory (${mem.length})`);
    return mem.subarray(p, p + len);
  };
  const copyIn = (ptr: number, len: number): Uint8Array => view(ptr, len).slice();
  const ascii = (ptr: number, len: number): string => {
    let text = "";
    for (const b of view(ptr, len)) text += String.fromCharCode(b);
    return text;
  };
  /** A record key: its length is checked before decoding (the storage checks the characters). */
  const keyText = (ptr: number, len: number): string => {
    if (len < 1 || len > KEY_MAX_LEN) throw new BadArgumentError(`record key length ${len} outside 1..${KEY_MAX_LEN}`);
    return ascii(ptr, len);
  };

  /**
   * Runs body; a thrown host error becomes a logged negative result
   * (`failure` for the unexpected ones: store_read must not answer -1, which
   * means "no such record").
   */
  const guarded = (what: string, body: () => number, failure: number = HostError.Failed): number => {
    if (!alive) return failure;
    try {
      return body();
    } catch (e) {
      const bad = e instanceof BadArgumentError;
      palLog(LogLevel.Error, `${what}: ${(e as Error).message}`);
      return bad ? HostError.BadArgument : failure;
    }
  };
  /** Same for void imports: nothing to return, so only the log line remains. */
  const guardedVoid = (what: string, body: () => void): void => {
    guarded(what, () => { body(); return 0; });
  };
  const result = (what: string, r: StorageResult<unknown>): number => {
    if (r.ok) return 0;
    palLog(LogLevel.Warn, `${what}: ${r.reason}`);
    return r.code;
  };
  const checkTimer = (id: number): boolean => {
    if (Number.isInteger(id) && id >= 0 && id < TIMER_COUNT) return true;
    palLog(LogLevel.Error, `timer id ${id} outside 0..${TIMER_COUNT - 1}`);
    return false;
  };

  const imports: PalImports = {
    log(level, ptr, len) {
      guardedVoid("log", () => {
        agentLog(toLogLevel(level), utf8.decode(view(ptr, len)));
      });
    },

    fatal(ptr, len, line, column) {
      let reason: string;
      try { reason = ascii(ptr, Math.min(len, MAX_FATAL_TEXT)); } catch { reason = `<unreadable message at ${ptr >>> 0}+${len}>`; }
      const f = new AgentFatal(reason, line, column);
      lastFatal = f;
      palLog(LogLevel.Error, f.message);
      deps.onFatal?.(f);
      throw f; // the agent would execute `unreachable` next; unwind instead
    },

    udp_send(addr, port, data, len) {
      return guarded("udp_send", () => {
        const dst = copyIn(addr, IPV6_LEN);
        const payload = copyIn(data, len);
        const rc = endpoint.send(dst, port, payload);
        if (rc < 0) {
          palLog(LogLevel.Warn, `udp_send to ${formatEndpoint(dst, port)} failed (${rc})`);
          return rc;
        }
        // The datagram is gone already: an observer's failure must not turn it into an error.
        try {
          deps.onSend?.({ src: endpoint.address, srcPort: endpoint.port, dst, dstPort: port, payload });
        } catch (e) {
          palLog(LogLevel.Error, `udp_send observer: ${(e as Error).message}`);
        }
        return 0;
      });
    },

    udp_multicast(addr, join) {
      return guarded("udp_multicast", () => {
        const group = copyIn(addr, IPV6_LEN);
        const key = formatAddress(group);
        const rc = join ? endpoint.joinGroup(group) : endpoint.leaveGroup(group);
        if (rc === 0) { if (join) groups.set(key, group); else groups.delete(key); }
        return rc;
      });
    },

    timer_arm(id, ms) {
      if (!alive || !checkTimer(id)) return;
      const old = timers.get(id);
      if (old !== undefined) clock.cancel(old);
      // ms is a u32 that arrives as a signed i32.
      const handle = clock.schedule(ms >>> 0, () => {
        if (timers.get(id) !== handle) return;
        timers.delete(id);
        if (!alive || !instance) return;
        const agent = instance;
        enter(`timer ${id}`, () => agent.agent_timer(id));
      });
      timers.set(id, handle);
    },

    timer_cancel(id) {
      if (!checkTimer(id)) return;
      const handle = timers.get(id);
      if (handle !== undefined) clock.cancel(handle);
      timers.delete(id);
    },

    clock_ms() {
      return BigInt(Math.floor(clock.nowMs()));
    },

    wall_time() {
      return clock.isWallTimeSynchronised() ? BigInt(Math.floor(clock.wallTimeMs() / 1000)) : -1n;
    },

    wall_time_set(posix) {
      return guarded("wall_time_set", () => {
        if (posix < 0n || posix > MAX_POSIX_SECONDS) {
          palLog(LogLevel.Warn, `wall_time_set: implausible time ${posix}`);
          return HostError.BadArgument;
        }
        clock.setWallTimeMs(Number(posix) * 1000);
        return 0;
      });
    },

    random(ptr, len) {
      guardedVoid("random", () => random(view(ptr, len)));
    },

    store_read(key, keyLen, buf, cap) {
      return guarded("store_read", () => {
        const name = keyText(key, keyLen);
        const out = view(buf, cap);
        const r = storage.read(name);
        if (!r.ok) return result(`store_read ${name}`, r);
        if (r.value === null) return HostError.Failed; // -1: no such record
        out.set(r.value.subarray(0, Math.min(cap, r.value.length)));
        return r.value.length;
      }, HostError.Io);
    },

    store_write(key, keyLen, buf, len) {
      return guarded("store_write", () => {
        const name = keyText(key, keyLen);
        return result(`store_write ${name}`, storage.write(name, copyIn(buf, len)));
      });
    },

    store_erase(key, keyLen) {
      return guarded("store_erase", () => {
        const name = keyText(key, keyLen);
        return result(`store_erase ${name}`, storage.erase(name));
      });
    },

    slot_size(slot) {
      return guarded("slot_size", () => storage.slotSize(slot));
    },

    slot_erase(slot) {
      return guarded("slot_erase", () => result(`slot_erase ${slot}`, storage.slotErase(slot)));
    },

    slot_write(slot, offset, data, len) {
      return guarded("slot_write", () => result(`slot_write ${slot}@${offset}`, storage.slotWrite(slot, offset, copyIn(data, len))));
    },

    slot_read(slot, offset, buf, len) {
      return guarded("slot_read", () => {
        const out = view(buf, len);
        const r = storage.slotRead(slot, offset, len);
        if (!r.ok) return result(`slot_read ${slot}@${offset}`, r);
        out.set(r.value);
        return r.value.length;
      });
    },

    slot_activate(slot) {
      return guarded("slot_activate", () => {
        const rc = result(`slot_activate ${slot}`, storage.slotActivate(slot));
        if (rc === 0) deps.onSlotActivate?.(slot);
        return rc;
      });
    },

    reboot(reason) {
      if (!alive) return;
      let accepted = false;
      try {
        accepted = deps.onReboot?.(reason) ?? false;
      } catch (e) {
        palLog(LogLevel.Error, `reboot handler failed: ${(e as Error).message}`);
      }
      if (!accepted) {
        palLog(LogLevel.Warn, `reboot(${reason}) refused: this host cannot restart the agent`);
        return;
      }
      // The contract says reboot returns only on failure; a device would be
      // resetting now, so unwind the agent's stack instead of returning.
      throw new AgentReboot(reason);
    },

    ping(dest, count, intervalMs) {
      return guarded("ping", () => {
        if (!deps.ping) return HostError.Unsupported;
        if (pinging) return HostError.Failed;
        const target = copyIn(dest, IPV6_LEN);
        pinging = true;
        const ran = instance;
        deps.ping(endpoint.address, target, count, intervalMs).then(
          (r) => {
            pinging = false;
            if (!alive || instance !== ran || !ran?.agent_ping_done) return;
            enter("ping done", () => ran.agent_ping_done!(r.sent, r.received, r.minMs, r.meanMs, r.maxMs, r.stdevMs));
          },
          (e: Error) => {
            pinging = false;
            palLog(LogLevel.Warn, `ping ${formatAddress(target)}: ${e.message}`);
            if (alive && instance === ran) enter("ping done", () => ran?.agent_ping_done?.(count, 0, 0, 0, 0, 0));
          });
        return 0;
      });
    },

    host_tlv(type, pen, subtype, value, len) {
      return guarded("host_tlv", () => {
        const bytes = copyIn(value, len);
        if (deps.onHostTlv) return deps.onHostTlv(type, pen, subtype, bytes);
        if (type === 141) {
          palLog(LogLevel.Info, `NetworkRole for the mesh stack: ${Buffer.from(bytes).toString("hex")}`);
          return 0;
        }
        palLog(LogLevel.Warn, `vendor TLV e${pen}.${subtype} refused: this host has no handler for it`);
        return HostError.Unsupported;
      });
    },

    sha256_start() {
      sha = createHash("sha256");
    },

    sha256_update(data, len) {
      guardedVoid("sha256_update", () => {
        if (!sha) {
          palLog(LogLevel.Warn, "sha256_update without sha256_start: starting one");
          sha = createHash("sha256");
        }
        sha.update(view(data, len));
      });
    },

    sha256_finish(out) {
      guardedVoid("sha256_finish", () => {
        const target = view(out, 32);
        if (!sha) palLog(LogLevel.Warn, "sha256_finish without sha256_start: digest of nothing");
        const digest = (sha ?? createHash("sha256")).digest();
        sha = null;
        target.set(digest);
      });
    },

    ecdsa_p256_verify(pubKey, digest, r, s) {
      return guarded("ecdsa_p256_verify", () =>
        verifyP256Digest(copyIn(pubKey, 65), copyIn(digest, 32), copyIn(r, 32), copyIn(s, 32)));
    },
  };

  return {
    imports: imports as PalImports & WebAssembly.ModuleImports,
    setInstance(i) {
      instance = i;
    },
    shutdown() {
      alive = false;
      for (const h of timers.values()) clock.cancel(h);
      timers.clear();
      for (const g of groups.values()) endpoint.leaveGroup(g);
      groups.clear();
      sha = null;
    },
    get lastFatal() {
      return lastFatal;
    },
    armedTimers() {
      return [...timers.keys()].sort((a, b) => a - b);
    },
    joinedGroups() {
      return [...groups.keys()];
    },
  };
}
