// A fleet: N agents in one Node process, one compiled agent.wasm shared by
// all (each gets its own instance and 64 KiB page), one SimulatedNms, one
// LoopNetwork on one VirtualClock. Used by test/fleet.test.ts (N = 1,000)
// and scripts/bench/fleet.ts (N = 10,000). Devices keep no log lines (at
// 10,000 agents that is most of the heap); warnings and errors are counted.
import { AgentHost } from "../agent.ts";
import { VirtualClock } from "../clock.ts";
import { buildDeviceConfig } from "../device-config.ts";
import { LogLevel } from "../log.ts";
import { LoopNetwork } from "../loop-network.ts";
import { seededRandom } from "../random.ts";
import { MemoryStorage } from "../storage.ts";
import { SimulatedNms } from "../nms/sim.ts";
import { uniform } from "../fuzz/rng.ts";
import { makeHostile, type HostileLinkOptions } from "./link-model.ts";
import { endpointTransport } from "../nms/transport.ts";

export const FLEET_NMS_ADDR = "2001:db8::1";
export const FLEET_NMS_PORT = 61629;
export const FLEET_WALL_START_MS = Date.UTC(2026, 10, 28);

export interface FleetOptions {
  wasm: WebAssembly.Module;
  n: number;
  seed: number;
  /** NMS signs its answers and devices check them (P-256 verify per registration). Default true. */
  signed?: boolean;
  /** One-way latency of every link (default 5 ms); ignored when `links` is given. */
  latencyMs?: number;
  /** A hostile network instead of plain latency. */
  links?: HostileLinkOptions;
}

/** Device i's address and EUI-64 (i from 0). */
export function fleetAddress(i: number): string {
  return `2001:db8:1::${(i + 1).toString(16)}`;
}

export function fleetEui64(i: number): string {
  return `00173BAB${(i + 1).toString(16).padStart(8, "0").toUpperCase()}`;
}

export class Fleet {
  readonly clock = new VirtualClock({ wallStartMs: FLEET_WALL_START_MS, wallSynchronised: true });
  readonly net: LoopNetwork;
  readonly nms: SimulatedNms;
  readonly hosts: AgentHost[] = [];
  /** EUI-64s the NMS registered (2.03 sent). */
  readonly registered = new Set<string>();
  /** Agent log lines at warning level or worse, by text (numbers masked). */
  readonly warnings = new Map<string, number>();

  constructor(readonly o: FleetOptions) {
    this.net = new LoopNetwork({ clock: this.clock, latencyMs: o.latencyMs ?? 5 });
    if (o.links) makeHostile(this.net, { defaults: o.links, seed: o.seed });
    this.nms = new SimulatedNms({
      transport: endpointTransport(this.net.bindSync(FLEET_NMS_ADDR, FLEET_NMS_PORT)),
      clock: this.clock, random: uniform(o.seed), signing: o.signed ?? true,
    });
    this.nms.on("registration", (e) => { if (e.outcome === "registered" && e.eui64) this.registered.add(e.eui64.toUpperCase()); });
  }

  /** Boots every device (they start registering after their random lead-in). */
  boot(): void {
    const { o } = this;
    const key = o.signed ?? true ? this.nms.publicKeyHex : undefined;
    for (let i = this.hosts.length; i < o.n; i++) {
      const address = fleetAddress(i);
      const host = new AgentHost({
        wasm: o.wasm,
        config: buildDeviceConfig({
          eui64: fleetEui64(i),
          nmsUrl: `coap://[${FLEET_NMS_ADDR}]:${FLEET_NMS_PORT}`,
          ...(key ? { nmsKey: key } : {}),
          hardware: { descr: "fleet device", model: "FL-1", fwrev: "1.0" },
          interfaces: [{ name: "lowpan0", type: 259, mtu: 1280 }],
          addresses: [{ addr: address, pfxlen: 64 }],
        }),
        clock: this.clock,
        // Small slots: no firmware here, and 10,000 devices should not carry 1.5 MiB each.
        storage: new MemoryStorage({ slotSizes: [4096, 4096] }),
        endpoint: this.net.bindSync(address, 61628),
        random: seededRandom((o.seed * 100_003 + i) >>> 0),
        log: (e) => {
          if (e.level > LogLevel.Warn) return;
          const k = e.text.replace(/\d+/g, "#");
          this.warnings.set(k, (this.warnings.get(k) ?? 0) + 1);
        },
      });
      host.start();
      this.hosts.push(host);
    }
  }

  /** Runs virtual time until every device registered (true) or maxMs passed (false). */
  runUntilRegistered(maxMs: number): boolean {
    return this.clock.runUntil(() => this.registered.size >= this.o.n, maxMs);
  }

  /** Devices whose agent died or restarted. */
  unhealthy(): number {
    return this.hosts.filter((h) => h.lastFatal !== null || h.bootCount !== 1).length;
  }

  /** Linear memory of all running agents, bytes. */
  linearMemory(): number {
    return this.hosts.reduce((n, h) => n + (h.memoryStats()?.bytes ?? 0), 0);
  }

  stop(): void {
    for (const h of this.hosts) h.stop();
  }
}
