// A virtual world for end-to-end tests: the real agent.wasm in AgentHosts,
// an in-memory network and a virtual clock, so hours of protocol time run in
// milliseconds. Nothing here stands in for the agent: devices are the built
// module; the NMS side is host/nms (independent protobufjs codec).
import { readFileSync } from "node:fs";
import { AgentHost, compileAgent } from "../../host/agent.ts";
import { VirtualClock } from "../../host/clock.ts";
import { LoopNetwork, type LoopEndpoint } from "../../host/loop-network.ts";
import { MemoryStorage } from "../../host/storage.ts";
import { buildDeviceConfig, type DeviceConfigOptions } from "../../host/device-config.ts";
import { seededRandom } from "../../host/random.ts";
import { formatAddress } from "../../host/ipv6.ts";
import type { Datagram } from "../../host/network.ts";
import type { LogEntry } from "../../host/log.ts";
import { NmsClient } from "../../host/nms/client.ts";
import { endpointTransport } from "../../host/nms/transport.ts";
import { mulberry32 } from "./prng.ts";
import { loopPinger } from "../../host/ping.ts";

const WASM = compileAgent(readFileSync(process.env.AGENT_WASM ?? "build/agent.wasm"));

export const NMS_ADDR = "2001:db8::1";
export const NMS_PORT = 61629;
/** 2026-11-28T00:00:00Z: wall time in the virtual world. */
export const WALL_START_MS = Date.UTC(2026, 10, 28);

export interface World {
  clock: VirtualClock;
  net: LoopNetwork;
  nmsEndpoint: LoopEndpoint;
  nms: NmsClient;
}

export function createWorld(options: { latencyMs?: number; wallSynchronised?: boolean; seed?: number } = {}): World {
  const clock = new VirtualClock({ wallStartMs: WALL_START_MS, wallSynchronised: options.wallSynchronised ?? true });
  const net = new LoopNetwork({ clock, latencyMs: options.latencyMs ?? 5 });
  const nmsEndpoint = net.bindSync(NMS_ADDR, NMS_PORT);
  const nms = new NmsClient(endpointTransport(nmsEndpoint), { timers: clock, random: mulberry32(options.seed ?? 1) });
  return { clock, net, nmsEndpoint, nms };
}

export interface Device {
  host: AgentHost;
  storage: MemoryStorage;
  address: string;
  port: number;
  logs: LogEntry[];
  /** Datagrams the agent sent, in order. */
  sent: Datagram[];
}

export interface DeviceOptions extends Partial<DeviceConfigOptions> {
  onHostTlv?: (type: number, pen: number, subtype: number, value: Uint8Array) => number;
  imageFails?: (storage: import("../../host/storage.ts").DeviceStorage) => string | null;
  address?: string;
  port?: number;
  storage?: MemoryStorage;
  seed?: number;
  /** The whole configuration text, as is (the options that build one are then ignored). */
  rawConfig?: string;
}

let nextDevice = 2;

/** Boots one agent on the world's network; the NMS is the world's. */
export function addDevice(world: World, o: DeviceOptions = {}): Device {
  const n = nextDevice++;
  const address = o.address ?? `2001:db8::${n.toString(16)}`;
  const port = o.port ?? 61628;
  const storage = o.storage ?? new MemoryStorage({ slotSizes: [64 * 1024, 64 * 1024, 64 * 1024] });
  const config = o.rawConfig ?? buildDeviceConfig({
    eui64: o.eui64 ?? `00173bab0000${n.toString(16).padStart(4, "0")}`,
    nmsUrl: o.nmsUrl ?? `coap://[${NMS_ADDR}]:${NMS_PORT}`,
    hardware: { descr: "OpenCSMP test device", fwrev: "1.0", model: "TB-1", ...o.hardware },
    interfaces: o.interfaces ?? [{ name: "lowpan0", descr: "Wi-SUN", type: 259, mtu: 1280, phys: "00173bab00000001" }],
    addresses: o.addresses ?? [{ addr: address, if: 1, pfxlen: 64 }],
    ...o,
  } as DeviceConfigOptions);
  const endpoint = world.net.bindSync(address, port);
  const logs: LogEntry[] = [];
  const sent: Datagram[] = [];
  const random = seededRandom(o.seed ?? n);
  const host = new AgentHost({
    wasm: WASM,
    config,
    clock: world.clock,
    storage,
    endpoint,
    random,
    log: (e) => logs.push(e),
    onDatagram: (dir, d) => { if (dir === "out") sent.push(d); },
    ping: loopPinger(world.net),
    onHostTlv: o.onHostTlv,
    imageFails: o.imageFails,
  });
  host.start();
  return { host, storage, address, port, logs, sent };
}

/** Lines the agent logged (source "agent"), for assertions and failure messages. */
export function agentLog(d: Device): string[] {
  return d.logs.filter((e) => e.source === "agent").map((e) => e.text);
}

export function addressText(a: Uint8Array): string { return formatAddress(a); }
