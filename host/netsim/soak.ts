// The soak scenario: one device's month in virtual time against the
// simulated NMS. It registers (the NMS's profile subscribes it to a report
// every 15 minutes and an hourly heartbeat), takes one firmware transfer on
// day 1 (unicast CON POSTs, so every code path has run before the baseline),
// and is polled with a GET every hour. At the end of each day the agent's
// linear memory size, its high-water mark (the highest non-zero byte: the
// agent only has static memory, so anything that creeps shows here) and its
// armed timers are sampled. test/soak.test.ts asserts on the samples;
// scripts/bench/soak.ts reports them.
import { createHash } from "node:crypto";
import { AgentHost } from "../agent.ts";
import { VirtualClock } from "../clock.ts";
import { buildDeviceConfig } from "../device-config.ts";
import { LoopNetwork } from "../loop-network.ts";
import { seededRandom } from "../random.ts";
import { MemoryStorage } from "../storage.ts";
import { CoapCode } from "../nms/coap.ts";
import { SimulatedNms } from "../nms/sim.ts";
import { endpointTransport } from "../nms/transport.ts";
import { uniform } from "../fuzz/rng.ts";
import { drive } from "./drive.ts";

const S = 1000;
const H = 3600 * S;
const DAY = 24 * H;
const BLOCK = 512;
const EUI = "00173BAB00005A30";

export interface SoakSample {
  day: number;
  /** Linear memory size, bytes. */
  memory: number;
  /** Highest non-zero byte of linear memory, + 1. */
  highWater: number;
  timers: number;
  /** Callbacks pending on the virtual clock (host side: network, NMS client). */
  clockCallbacks: number;
}

export interface SoakOptions {
  wasm: WebAssembly.Module;
  days: number;
  seed: number;
  /** 6.8 installed in slot 0, 6.9 transferred on day 1. */
  running: Uint8Array;
  upload: Uint8Array;
}

export interface SoakResult {
  samples: SoakSample[];
  polls: number;
  reports: number;
  heartbeats: number;
  boots: number;
  fatal: string | null;
  transferVerified: boolean;
  wallMs: number;
}

export function sampleAgent(host: AgentHost, day: number, clockCallbacks: number): SoakSample {
  const mem = new Uint8Array(host.exports!.memory.buffer);
  let top = mem.length;
  while (top > 0 && mem[top - 1] === 0) top--;
  return { day, memory: mem.length, highWater: top, timers: host.armedTimers().length, clockCallbacks };
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const t0 = performance.now();
  const clock = new VirtualClock({ wallStartMs: Date.UTC(2026, 10, 28), wallSynchronised: true });
  const net = new LoopNetwork({ clock, latencyMs: 5 });
  const nms = new SimulatedNms({
    transport: endpointTransport(net.bindSync("2001:db8::1", 61629)), clock, random: uniform(o.seed),
    profile: { reportSubscribe: { interval: 900, tlvid: ["22", "23"], intervalHeartBeat: 3600, tlvidHeartBeat: ["2", "43"] } },
  });
  const result: SoakResult = { samples: [], polls: 0, reports: 0, heartbeats: 0, boots: 0, fatal: null, transferVerified: false, wallMs: 0 };
  nms.on("report", (e) => {
    if (e.tlvs.some((t) => t.type === 22)) result.reports++;
    if (e.tlvs.some((t) => t.type === 43)) result.heartbeats++;
  });
  const storage = new MemoryStorage({ slotSizes: [64 * 1024, 64 * 1024, 64 * 1024] });
  storage.installImage(0, o.running);
  let registered = false;
  const host = new AgentHost({
    wasm: o.wasm,
    config: buildDeviceConfig({
      eui64: EUI, nmsUrl: "coap://[2001:db8::1]:61629", nmsKey: nms.publicKeyHex,
      hardware: { descr: "soak device", model: "SK-1", fwrev: "1.0" },
      interfaces: [{ name: "lowpan0", type: 259, mtu: 1280 }],
      addresses: [{ addr: "2001:db8::2", pfxlen: 64 }],
      extra: { "fw.hwid": "OPENCSMP" },
    }),
    clock, storage, endpoint: net.bindSync("2001:db8::2", 61628), random: seededRandom(o.seed),
    log: (e) => {
      if (e.source !== "agent") return;
      if (e.text === "registered") registered = true;
      if (e.text === "firmware upload complete and verified") result.transferVerified = true;
    },
  });
  host.start();
  if (!clock.runUntil(() => registered, H)) throw new Error("soak: the device did not register within an hour");

  const hash = createHash("sha256").update(o.upload).digest();
  const transfer = await drive(clock, nms.post(EUI, [{ type: "TransferRequest", value: {
    hwInfo: { hwId: "OPENCSMP" }, fileHash: hash, fileName: "opencsmp-node", version: "6.9.99", fileSize: o.upload.length, blockSize: BLOCK,
  } }]), 60 * S);
  if (transfer.code !== CoapCode.Created) throw new Error(`soak: TransferRequest answered ${transfer.code}`);
  for (let n = 0; n * BLOCK < o.upload.length; n++) {
    const block = o.upload.subarray(n * BLOCK, (n + 1) * BLOCK);
    await drive(clock, nms.post(EUI, [{ type: "ImageBlock", value: { fileHash: hash, blockNum: n, blockData: block } }], { signed: false }), 60 * S);
  }

  const start = clock.nowMs();
  for (let day = 1; day <= o.days; day++) {
    for (let hour = 0; hour < 24; hour++) {
      const answer = await drive(clock, nms.get(EUI, [22, 43, 75]), 60 * S);
      if (answer.code !== CoapCode.Content) throw new Error(`soak: poll answered ${answer.code}`);
      result.polls++;
      clock.advanceTo(start + (day - 1) * DAY + (hour + 1) * H);
    }
    result.samples.push(sampleAgent(host, day, clock.pending()));
  }
  result.boots = host.bootCount;
  result.fatal = host.lastFatal;
  result.wallMs = performance.now() - t0;
  host.stop();
  await nms.close();
  return result;
}
