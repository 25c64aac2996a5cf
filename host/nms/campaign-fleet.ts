// A fleet for campaigns in virtual time: a simulated NMS and any number of
// real agents (agent.wasm in AgentHosts, each on its own DeviceStorage) on
// one LoopNetwork and VirtualClock. drive() runs the clock under an async
// NMS operation (a campaign) until it settles, so an hour-long rollout to
// twenty devices takes seconds of wall time and is reproducible by seed.
import { readFileSync } from "node:fs";
import { AgentHost, compileAgent } from "../agent.ts";
import { VirtualClock } from "../clock.ts";
import { buildDeviceConfig } from "../device-config.ts";
import type { LogEntry } from "../log.ts";
import { LoopNetwork } from "../loop-network.ts";
import { seededRandom, seededUniform } from "../random.ts";
import type { DeviceStorage } from "../storage.ts";
import { SimulatedNms, type SimulatedNmsOptions } from "./sim.ts";
import { endpointTransport } from "./transport.ts";

export interface FleetOptions {
  /** The compiled agent (default: $AGENT_WASM or build/agent.wasm). */
  wasm?: WebAssembly.Module;
  /** Wall time at the start (trusted from the start: devices check signature validity). */
  wallStartMs?: number;
  /** Seeds the NMS's and the devices' randomness. */
  seed?: number;
  /** Latency of the default link (replace net.defaultLink for loss and reordering). */
  latencyMs?: number;
  nmsAddress?: string;
  nmsPort?: number;
  nms?: Omit<SimulatedNmsOptions, "transport" | "client" | "clock" | "timers" | "random">;
}

export interface FleetDeviceOptions {
  storage: DeviceStorage;
  /** Configuration lines on top of the defaults (fw.hwid, mcast.1, fw.key ...). */
  extra?: Record<string, string | number>;
  /** Provision the NMS public key as nms.key (default true). */
  provisionNmsKey?: boolean;
  /** The platform's answer to NetworkRole and vendor TLVs (AgentHost's onHostTlv; default: unsupported). */
  onHostTlv?: (type: number, pen: number, subtype: number, value: Uint8Array) => number;
}

export interface FleetDevice {
  eui64: string;
  address: string;
  port: number;
  host: AgentHost;
  storage: DeviceStorage;
  logs: LogEntry[];
}

let compiled: WebAssembly.Module | null = null;

function defaultModule(): WebAssembly.Module {
  compiled ??= compileAgent(readFileSync(process.env.AGENT_WASM ?? new URL("../../build/agent.wasm", import.meta.url)));
  return compiled;
}

export class VirtualFleet {
  readonly clock: VirtualClock;
  readonly net: LoopNetwork;
  readonly nms: SimulatedNms;
  readonly devices: FleetDevice[] = [];
  readonly nmsAddress: string;
  readonly nmsPort: number;
  private readonly module: WebAssembly.Module;
  private readonly seed: number;

  constructor(o: FleetOptions = {}) {
    this.module = o.wasm ?? defaultModule();
    this.seed = o.seed ?? 1;
    this.clock = new VirtualClock({ wallStartMs: o.wallStartMs ?? Date.UTC(2026, 10, 28), wallSynchronised: true });
    this.net = new LoopNetwork({ clock: this.clock, latencyMs: o.latencyMs ?? 5 });
    this.nmsAddress = o.nmsAddress ?? "2001:db8::1";
    this.nmsPort = o.nmsPort ?? 61629;
    const endpoint = this.net.bindSync(this.nmsAddress, this.nmsPort);
    this.nms = new SimulatedNms({ ...o.nms, transport: endpointTransport(endpoint), clock: this.clock, random: seededUniform(this.seed) });
  }

  /** Boots one more agent (EUI-64 00173BAB0001nnnn, address 2001:db8::1:n). */
  addDevice(o: FleetDeviceOptions): FleetDevice {
    const n = this.devices.length + 1;
    const eui64 = `00173BAB0001${n.toString(16).toUpperCase().padStart(4, "0")}`;
    const address = `2001:db8::1:${n.toString(16)}`;
    const port = 61628;
    const config = buildDeviceConfig({
      eui64,
      nmsUrl: `coap://[${this.nmsAddress}]:${this.nmsPort}`,
      nmsKey: o.provisionNmsKey === false ? undefined : this.nms.publicKeyHex,
      hardware: { descr: "OpenCSMP fleet device", model: "FL-1", fwrev: "1.0" },
      interfaces: [{ name: "lowpan0", descr: "Wi-SUN", type: 259, mtu: 1280 }],
      addresses: [{ addr: address }],
      extra: o.extra,
    });
    const logs: LogEntry[] = [];
    const host = new AgentHost({
      wasm: this.module, config, clock: this.clock, storage: o.storage, endpoint: this.net.bindSync(address, port),
      random: seededRandom(this.seed * 1000 + n), log: (e) => logs.push(e), onHostTlv: o.onHostTlv,
    });
    const device: FleetDevice = { eui64, address, port, host, storage: o.storage, logs };
    this.devices.push(device);
    host.start();
    return device;
  }

  /** What a device's agent logged. */
  agentLines(d: FleetDevice): string[] {
    return d.logs.filter((e) => e.source === "agent").map((e) => e.text);
  }

  /** Runs the clock until every device has registered (its answer applied); false on timeout. */
  waitRegistered(maxMs = 4 * 3600_000): boolean {
    const pending = new Set(this.devices);
    return this.clock.runUntil(() => {
      for (const d of pending) if (d.logs.some((e) => e.source === "agent" && e.text === "registered")) pending.delete(d);
      return pending.size === 0;
    }, maxMs);
  }

  /**
   * Runs virtual time under an async operation until it settles: to the
   * next timer at most `stepMs` ahead, then lets promise continuations run
   * (setImmediate drains them all), so the operation's own timers keep
   * their exact times. Throws when maxMs of virtual time pass first.
   */
  async drive<T>(operation: Promise<T>, maxMs = 24 * 3600_000, stepMs = 1000): Promise<T> {
    let settled = false;
    operation.then(() => { settled = true; }, () => { settled = true; });
    const limit = this.clock.nowMs() + maxMs;
    await new Promise((r) => setImmediate(r));
    while (!settled) {
      const now = this.clock.nowMs();
      if (now >= limit) throw new Error(`not settled after ${maxMs} ms of virtual time`);
      const next = this.clock.nextDueMs() ?? now + stepMs;
      this.clock.advanceTo(Math.min(Math.max(next, now), now + stepMs, limit));
      await new Promise((r) => setImmediate(r));
    }
    return operation;
  }
}
