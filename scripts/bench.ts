// npm run bench: prints one table of figures measured in this run. Speed
// and memory targets are tracked here, never by timed assertions in tests.
// The previous run's numbers are kept in bench/results.json so a change shows
// its effect.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import binaryen from "binaryen";
import { AgentHost, compileAgent } from "../host/agent.ts";
import { VirtualClock } from "../host/clock.ts";
import { LoopNetwork } from "../host/loop-network.ts";
import { MemoryStorage } from "../host/storage.ts";
import { buildDeviceConfig } from "../host/device-config.ts";
import { seededRandom } from "../host/random.ts";
import { requireAddress } from "../host/ipv6.ts";
import { encodeCoap, get } from "../host/nms/coap.ts";

import { readdirSync } from "node:fs";

interface Row { name: string; value: number; unit: string }
const rows: Row[] = [];
/** Adds one figure to the table; bench sections in scripts/bench/*.ts receive it. */
export type AddFigure = (name: string, value: number, unit: string) => void;
const add: AddFigure = (name, value, unit) => { rows.push({ name, value, unit }); };

// ---- module ----------------------------------------------------------------------
const wasm = readFileSync("build/agent.wasm");
add("agent.wasm size", wasm.length, "bytes");
{
  const m = binaryen.readBinary(wasm);
  const mem = m.getMemoryInfo("0");
  add("linear memory declared (initial = maximum)", mem.initial * 64 * 1024, "bytes");
  m.dispose();
}

// ---- one device in virtual time, driven with raw requests --------------------------
const clock = new VirtualClock({ wallStartMs: Date.UTC(2026, 10, 28), wallSynchronised: true });
const net = new LoopNetwork({ clock, latencyMs: 0 });
const nmsAddr = requireAddress("2001:db8::1");
const nms = net.bindSync("2001:db8::1", 61629);
const endpoint = net.bindSync("2001:db8::2", 61628);
const host = new AgentHost({
  wasm: compileAgent(wasm),
  config: buildDeviceConfig({
    eui64: "00173bab00000001",
    nmsUrl: "coap://[2001:db8::1]:61629",
    hardware: { descr: "bench device", model: "B-1", fwrev: "1.0" },
    interfaces: [{ name: "lowpan0", type: 259, mtu: 1280 }],
    addresses: [{ addr: "2001:db8::2" }],
  }),
  clock, storage: new MemoryStorage(), endpoint, random: seededRandom(1), log: () => {},
});
host.start();
const exports = host.exports!;
const memory = exports.memory;
const rx = exports.agent_rx_buf();
const addr = exports.agent_addr_buf();
void nms; void nmsAddr;

/** Median nanoseconds per call of fn over `runs` runs (after a warm-up). */
function medianNs(fn: () => void, runs = 20000): number {
  for (let i = 0; i < 2000; i++) fn();
  const samples: number[] = [];
  const batch = 50;
  for (let i = 0; i < runs / batch; i++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < batch; k++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

// The request goes straight into the agent's receive buffer, as the host
// does; the response is built and handed to pal.udp_send (the loop network
// queues it). This measures the agent, not the network.
const getQ11 = encodeCoap({ ...get("/c", ["q=11"], Uint8Array.of(7)), mid: 0x1234 });
const src = requireAddress("2001:db8::1");
const dst = requireAddress("2001:db8::2");
function deliver(bytes: Uint8Array): void {
  const mem = new Uint8Array(memory.buffer);
  mem.set(bytes, rx);
  mem.set(src, addr);
  mem.set(dst, addr + 16);
  exports.agent_datagram(bytes.length, 61629, 61628);
}
const sizeBefore = memory.buffer.byteLength;
add("GET /c?q=11 in Node (median)", Math.round(medianNs(() => deliver(getQ11))), "ns");
clock.advance(10); // flush the queued answers
add("linear memory after 22,000 GETs", memory.buffer.byteLength, "bytes");
{
  // Everything the agent uses is static; the highest byte ever written bounds its use.
  const mem = new Uint8Array(memory.buffer);
  let top = mem.length - 1;
  while (top > 0 && mem[top] === 0) top--;
  add("linear memory high-water mark (highest byte written)", top + 1, "bytes");
}
add("memory growth per request", (memory.buffer.byteLength - sizeBefore) / 22000, "bytes");
// No allocator is reachable in the module (test/module.test.ts), so:
add("allocations per request", 0, "count (no allocator in the module)");

// ---- further sections: scripts/bench/*.ts, each exporting run(add) -------------------
host.stop();
for (const file of readdirSync(new URL("./bench/", import.meta.url)).filter((f) => f.endsWith(".ts")).sort()) {
  const section = await import(new URL(`./bench/${file}`, import.meta.url).href) as { run(add: AddFigure): Promise<void> | void };
  await section.run(add);
}

// ---- report ------------------------------------------------------------------------
const RESULTS = "bench/results.json";
const previous: Record<string, number> = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, "utf8")) : {};
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`${"figure".padEnd(width)}  ${"value".padStart(10)}  ${"previous".padStart(10)}  unit`);
for (const r of rows) {
  const prev = previous[r.name];
  console.log(`${r.name.padEnd(width)}  ${String(r.value).padStart(10)}  ${String(prev ?? "-").padStart(10)}  ${r.unit}`);
}
mkdirSync("bench", { recursive: true });
writeFileSync(RESULTS, JSON.stringify(Object.fromEntries(rows.map((r) => [r.name, r.value])), null, 2) + "\n");
