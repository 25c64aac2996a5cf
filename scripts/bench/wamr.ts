// Bench section: the agent under WAMR's fast interpreter (pal/out/csmp-agent)
// next to the Node host, on the same datagrams.
//
// csmp-agent --replay FILE delivers datagrams from a file without a socket
// (format: pal/posix/replay.c). Instructions come from valgrind's callgrind,
// counting only inside csmp_agent_datagram (the agent's work, natives such as
// ECDSA verify included): a run with N requests minus a run without them,
// divided by N. Time per request is measured natively by the host itself
// (clock_gettime around each measured call) and, for the same bytes, in Node
// by calling the AgentHost's exports as scripts/bench.ts does. Both keep
// their state directory (same layout) on tmpfs when there is one, so the
// times compare agent and host code, not the disk's fsync.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentHost, compileAgent } from "../../host/agent.ts";
import { VirtualClock } from "../../host/clock.ts";
import { buildDeviceConfig } from "../../host/device-config.ts";
import { requireAddress } from "../../host/ipv6.ts";
import { FileStorage } from "../../host/file-storage.ts";
import { LoopNetwork } from "../../host/loop-network.ts";
import { encodeCoap, get, post } from "../../host/nms/coap.ts";
import { generateNmsKeyPair, publicKeyHex, signPayload } from "../../host/nms/sign.ts";
import { encodeTlvs, type TlvInput } from "../../host/nms/tlv.ts";
import { seededRandom } from "../../host/random.ts";
import type { AddFigure } from "../bench.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const BINARY = join(ROOT, "pal/out/csmp-agent");
const WASM = join(ROOT, "build/agent.wasm");
const IMAGE_68 = readFileSync(new URL("../../../shared/vectors/opencsmp-node-6.8-sample-image.bin", import.meta.url));
const IMAGE_69 = readFileSync(new URL("../../../shared/vectors/opencsmp-node-6.9-sample-image.bin", import.meta.url));
const BLOCK = 512;
const NMS = "::1";
const NMS_PORT = 61629;
const DEVICE_PORT = 61628;
const SLOT_SIZE = 512 * 1024;
const SCRATCH = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();

/** Request counts: enough for stable figures, few enough for ~1 minute under callgrind. */
const COUNT = { get: { callgrind: 100, timed: 2000 }, post: { callgrind: 10, timed: 50 } };
/**
 * Unmeasured GETs before the measured requests in Node: V8 tiers the agent's
 * wasm up from its baseline compiler only after many calls (a fresh host's
 * first 2,000 GETs take several times as long as later ones).
 */
const NODE_WARM_UP_GETS = 10_000;

interface Datagram { measured: boolean; payload: Uint8Array }

// ---- the requests ----------------------------------------------------------------

const keys = generateNmsKeyPair();
let nextMid = 1;
/** Every datagram gets its own message id and token: a repeat would only hit CoAP deduplication. */
function coap(m: ReturnType<typeof get>): Uint8Array {
  const mid = nextMid++ & 0xffff;
  return encodeCoap({ ...m, mid, token: Uint8Array.of(mid >> 8, mid & 0xff) });
}

function signed(tlvs: TlvInput[]): Uint8Array {
  const now = Math.floor(Date.now() / 1000);
  return signPayload(encodeTlvs(tlvs), keys, { notBefore: now - 60, notAfter: now + 3600 });
}

const getQ11 = (): Uint8Array => coap(get("/c", ["q=11"]));
const postSettings = (): Uint8Array =>
  coap(post("/c", signed([{ type: "NMSSettings", value: { regIntervalMin: 300, regIntervalMax: 3600 } }])));
const hash69 = createHash("sha256").update(IMAGE_69).digest();
const transferRequest = (): Uint8Array => coap(post("/c", signed([{ type: "TransferRequest", value: {
  hwInfo: { hwId: "OPENCSMP" }, fileHash: hash69, fileName: "opencsmp-node", version: "6.9.99", fileSize: IMAGE_69.length, blockSize: BLOCK,
} }])));
/** Every block but the last, whose arrival also verifies the whole image. */
const imageBlocks = (): Uint8Array[] => Array.from({ length: Math.ceil(IMAGE_69.length / BLOCK) - 1 }, (_, n) =>
  coap(post("/c", encodeTlvs([{ type: "ImageBlock", value: { fileHash: hash69, blockNum: n, blockData: IMAGE_69.subarray(n * BLOCK, (n + 1) * BLOCK) } }]))));

const config = buildDeviceConfig({
  eui64: "00173bab00000b01",
  nmsUrl: `coap://[${NMS}]:${NMS_PORT}`,
  nmsKey: publicKeyHex(keys),
  hardware: { descr: "bench device", model: "B-1", fwrev: "1.0" },
  interfaces: [{ name: "lo", type: 24, mtu: 65536 }],
  addresses: [{ addr: "::1", pfxlen: 128 }],
  extra: { "fw.hwid": "OPENCSMP" },
});

const setup = (payloads: Uint8Array[]): Datagram[] => payloads.map((payload) => ({ measured: false, payload }));
const measured = (payloads: Uint8Array[]): Datagram[] => payloads.map((payload) => ({ measured: true, payload }));

// ---- WAMR ---------------------------------------------------------------------------

interface HostRun { instructions: number | null; measuredNs: number; measured: number; poolHigh: number; peakRssKiB: number }

/** The replay file of pal/posix/replay.c: flags, source address and port, length, payload. */
function replayFile(datagrams: Datagram[]): Buffer {
  const src = requireAddress(NMS);
  return Buffer.concat(datagrams.map((d) => {
    const header = Buffer.alloc(21);
    header[0] = d.measured ? 1 : 0;
    header.set(src, 1);
    header.writeUInt16BE(NMS_PORT, 17);
    header.writeUInt16BE(d.payload.length, 19);
    return Buffer.concat([header, d.payload]);
  }));
}

/** Runs csmp-agent over one replay file in a fresh state directory (6.8 running), optionally under callgrind. */
function runHost(datagrams: Datagram[], callgrind: boolean): HostRun {
  const dir = mkdtempSync(join(SCRATCH, "csmp-bench-wamr-"));
  try {
    writeFileSync(join(dir, "replay.bin"), replayFile(datagrams));
    writeFileSync(join(dir, "device.conf"), config);
    writeFileSync(join(dir, "slot-0.bin"), IMAGE_68);
    const host = [BINARY, "--replay", join(dir, "replay.bin"), "--config", join(dir, "device.conf"), "--state", dir,
      "--bind", "::1", "--port", String(DEVICE_PORT), "--trust-system-time", "--log-level", "info"];
    const out = join(dir, "callgrind.out");
    const [cmd, ...args] = callgrind
      ? ["valgrind", "--tool=callgrind", `--callgrind-out-file=${out}`, "--toggle-collect=csmp_agent_datagram", ...host]
      : host;
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
    const figures = /replay: (\d+) datagrams, (\d+) measured in (\d+) ns, \d+ sent; WAMR pool high mark (\d+) of \d+ bytes; peak RSS (-?\d+) KiB/.exec(r.stderr ?? "");
    if (r.status !== 0 || !figures) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.error ?? ""}${r.stderr}`);
    if (Number(figures[1]) !== datagrams.length) throw new Error(`replayed ${figures[1]} of ${datagrams.length} datagrams:\n${r.stderr}`);
    const totals = callgrind ? /^(?:totals|summary): (\d+)/m.exec(readFileSync(out, "utf8")) : null;
    if (callgrind && !totals) throw new Error(`no totals in ${out}`);
    return {
      instructions: totals ? Number(totals[1]) : null,
      measured: Number(figures[2]), measuredNs: Number(figures[3]), poolHigh: Number(figures[4]), peakRssKiB: Number(figures[5]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Instructions per measured datagram: (run with them - run without them) / count. */
function instructionsPer(base: Datagram[], extra: Datagram[]): number {
  const without = runHost(base, true).instructions!;
  const withThem = runHost([...base, ...extra], true).instructions!;
  return Math.round((withThem - without) / extra.length);
}

const nsPer = (r: HostRun): number => Math.round(r.measuredNs / r.measured);

// ---- Node -----------------------------------------------------------------------------

/** ns per measured datagram in a fresh AgentHost (same configuration, starting image and storage layout). */
function nodeNs(wasm: WebAssembly.Module, datagrams: Datagram[]): number {
  const dir = mkdtempSync(join(SCRATCH, "csmp-bench-node-"));
  writeFileSync(join(dir, "slot-0.bin"), IMAGE_68);
  const clock = new VirtualClock({ wallStartMs: Date.now(), wallSynchronised: true });
  const net = new LoopNetwork({ clock, latencyMs: 0 });
  net.bindSync(NMS, NMS_PORT); // answers land there unread
  const storage = new FileStorage(dir, { slotSizes: [SLOT_SIZE, SLOT_SIZE, SLOT_SIZE] });
  const host = new AgentHost({ wasm, config, clock, storage, endpoint: net.bindSync("::1", DEVICE_PORT), random: seededRandom(1), log: () => {} });
  host.start();
  const x = host.exports!;
  const src = requireAddress(NMS);
  const dst = requireAddress("::1");
  let ns = 0n, count = 0;
  try {
    for (const d of datagrams) {
      const mem = new Uint8Array(x.memory.buffer);
      mem.set(d.payload, x.agent_rx_buf());
      mem.set(src, x.agent_addr_buf());
      mem.set(dst, x.agent_addr_buf() + 16);
      const t0 = process.hrtime.bigint();
      x.agent_datagram(d.payload.length, NMS_PORT, DEVICE_PORT);
      if (d.measured) { ns += process.hrtime.bigint() - t0; count++; }
      // Hands the answer to the (unread) NMS endpoint now: a growing queue would slow later sends.
      clock.advance(0);
    }
  } finally {
    host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return Number(ns) / count;
}

/** The median of several runs (one more runs first and is dropped: JIT and file cache warm-up). */
function medianOf(runs: number, f: () => number): number {
  f();
  const v = Array.from({ length: runs }, f).sort((a, b) => a - b);
  return Math.round(v[v.length >> 1]);
}

// ---- the section ----------------------------------------------------------------------

export async function run(add: AddFigure): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, "scripts/build-pal.mjs")], { stdio: "ignore" });
  const wasm = compileAgent(readFileSync(WASM));
  const requests = {
    "GET /c?q=11": { base: [] as Datagram[], extra: (n: number) => measured(Array.from({ length: n }, getQ11)), n: COUNT.get },
    "signed POST /c NMSSettings": { base: [] as Datagram[], extra: (n: number) => measured(Array.from({ length: n }, postSettings)), n: COUNT.post },
    "ImageBlock (512 B)": { base: setup([transferRequest()]), extra: () => measured(imageBlocks()), n: { callgrind: 0, timed: 0 } },
  };
  const haveValgrind = spawnSync("valgrind", ["--version"]).status === 0;
  if (!haveValgrind) console.error("bench/wamr: valgrind not installed (Debian: valgrind); instruction counts skipped");
  let poolHigh = 0, peakRss = 0;
  for (const [name, r] of Object.entries(requests)) {
    if (haveValgrind) add(`WAMR: ${name}, instructions (callgrind)`, instructionsPer(r.base, r.extra(r.n.callgrind)), "instructions");
    // Times are medians of three runs each: a busy machine shows up as noise.
    const wamrNs = medianOf(3, () => {
      const native = runHost([...r.base, ...r.extra(r.n.timed)], false);
      poolHigh = Math.max(poolHigh, native.poolHigh);
      peakRss = Math.max(peakRss, native.peakRssKiB);
      return nsPer(native);
    });
    const warmUp = () => setup(Array.from({ length: NODE_WARM_UP_GETS }, getQ11));
    const nodeNsPer = medianOf(3, () => nodeNs(wasm, [...warmUp(), ...r.base, ...r.extra(r.n.timed)]));
    add(`WAMR: ${name}, time`, wamrNs, "ns");
    add(`Node: ${name}, time (same datagrams)`, nodeNsPer, "ns");
    add(`WAMR / Node time: ${name}`, Math.round((wamrNs / nodeNsPer) * 10) / 10, "ratio");
  }
  add("WAMR host peak RSS (replay runs, VmHWM)", peakRss, "KiB");
  add("WAMR pool high mark (wasm_runtime_get_mem_alloc_info)", poolHigh, "bytes");
}
