// Firmware download speed and flash wear on one device in Node: ImageBlock
// NON POSTs go straight into AgentHost.deliver (no network, no NMS), so the
// figures are the agent's own (decode, slot write, bitmap save, and the
// verification the last block triggers). Storage is counted by FaultStorage.
// Transfers alternate between two files so every one starts on an erased slot.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { AgentHost, compileAgent } from "../../host/agent.ts";
import { VirtualClock } from "../../host/clock.ts";
import { buildDeviceConfig } from "../../host/device-config.ts";
import { FaultStorage } from "../../host/fault-storage.ts";
import { requireAddress } from "../../host/ipv6.ts";
import { LoopNetwork } from "../../host/loop-network.ts";
import { seededRandom } from "../../host/random.ts";
import { MemoryStorage } from "../../host/storage.ts";
import { buildImage } from "../../host/image/build.ts";
import { HEADER_LEN, parseHeader } from "../../host/image/header.ts";
import { encodeCoap } from "../../host/nms/coap.ts";
import { postPayload, postRequest } from "../../host/nms/requests.ts";
import { generateNmsKeyPair, publicKeyHex } from "../../host/nms/sign.ts";
import type { TlvInput } from "../../host/nms/tlv.ts";
import { blockCount, blockData } from "../../host/nms/campaign-bitmap.ts";
import type { AddFigure } from "../bench.ts";

const VECTORS = new URL("../../../shared/vectors/", import.meta.url).pathname;
const NMS = "2001:db8::1";
const DEVICE = "2001:db8::2";
const GROUP_ADDRESS = "ff03::1";
const GROUP = { type: 2, id: 7 };

/** The 6.9 file and a twin with another build number (another fileHash). */
function files(): Buffer[] {
  const file = readFileSync(`${VECTORS}opencsmp-node-6.9-sample-image.bin`);
  const h = parseHeader(file);
  const twin = buildImage(file.subarray(HEADER_LEN, h.appLen - 4), {
    appName: h.appName, gitBranch: h.gitBranch, gitCommit: h.gitCommit, buildDate: h.buildDate, hwid: h.hwid, subHwid: h.subHwid,
    kernelRev: h.kernelRev, appRevMajor: h.appRevMajor, appRevMinor: h.appRevMinor, appBuild: h.appBuild + 1, gitFlag: h.gitFlag,
  });
  return [file, twin];
}

export async function run(add: AddFigure): Promise<void> {
  const keys = generateNmsKeyPair();
  const clock = new VirtualClock({ wallStartMs: Date.UTC(2026, 10, 28), wallSynchronised: true });
  const net = new LoopNetwork({ clock, latencyMs: 0 });
  net.bindSync(NMS, 61629).onReceive(() => {});
  const inner = new MemoryStorage({ slotSizes: [64 * 1024, 64 * 1024, 64 * 1024] });
  inner.installImage(0, readFileSync(`${VECTORS}opencsmp-node-6.8-sample-image.bin`));
  const storage = new FaultStorage(inner);
  const host = new AgentHost({
    wasm: compileAgent(readFileSync("build/agent.wasm")),
    config: buildDeviceConfig({
      eui64: "00173bab00000002", nmsUrl: `coap://[${NMS}]:61629`, nmsKey: publicKeyHex(keys),
      hardware: { descr: "bench device", model: "B-1", fwrev: "1.0" }, interfaces: [{ name: "lowpan0", type: 259, mtu: 1280 }],
      addresses: [{ addr: DEVICE }], extra: { "fw.hwid": "OPENCSMP", "mcast.1": GROUP_ADDRESS },
    }),
    clock, storage, endpoint: net.bindSync(DEVICE, 61628), random: seededRandom(2), log: () => {},
  });
  host.start();
  const src = requireAddress(NMS);
  let mid = 0;
  const signing = () => ({ keys, validity: { notBefore: Math.floor(clock.wallTimeMs() / 1000) - 60, notAfter: Math.floor(clock.wallTimeMs() / 1000) + 3600 } });
  /** A NON POST /c, with a fresh message id (the agent drops repeated ids as duplicates). */
  const datagram = (tlvs: TlvInput[], o: { signed?: boolean; group?: boolean } = {}) => ({
    src, srcPort: 61629, dst: requireAddress(o.group ? GROUP_ADDRESS : DEVICE), dstPort: 61628,
    payload: encodeCoap({ ...postRequest(postPayload(tlvs, o.group ? GROUP : undefined, o.signed ? signing() : null), { confirmable: false }), mid: mid++ & 0xffff }),
  });
  const deliver = (d: ReturnType<typeof datagram>) => { if (!host.deliver(d)) throw new Error("the agent did not take a datagram"); };
  deliver(datagram([{ type: "GroupAssign", value: GROUP }], { signed: true }));

  /** One whole transfer: TransferRequest, then every block (timed); returns ns spent on blocks. */
  const transfer = (file: Buffer, blockSize: number, o: { signed?: boolean; group?: boolean }): bigint => {
    const fileHash = createHash("sha256").update(file).digest();
    const n = blockCount(file.length, blockSize);
    deliver(datagram([{ type: "TransferRequest", value: { hwInfo: { hwId: "OPENCSMP" }, fileHash, fileSize: file.length, blockSize } }], { signed: true }));
    clock.advance(1); // lets the agent's answer go
    const blocks = Array.from({ length: n }, (_, i) => datagram([{ type: "ImageBlock", value: { fileHash, blockNum: i, blockData: blockData(file, blockSize, i) } }], o));
    const t0 = process.hrtime.bigint();
    for (const b of blocks) deliver(b);
    const ns = process.hrtime.bigint() - t0;
    clock.advance(1);
    // The agent's "fwmeta" record starts with its firmware state; u32 upload state 2 = verified.
    const meta = inner.read("fwmeta");
    if (!meta.ok || !meta.value || meta.value[0] !== 2) throw new Error("the bench upload did not verify");
    return ns;
  };

  const pair = files();
  /** Median blocks/s over `batches` batches of `transfers` transfers, after a warm-up; storage counted over all. */
  const measure = (blockSize: number, transfers: number, batches: number, o: { signed?: boolean; group?: boolean } = {}) => {
    for (let i = 0; i < Math.min(transfers, 10); i++) transfer(pair[i % 2], blockSize, o);
    storage.reset();
    const rates: number[] = [];
    let blocks = 0;
    for (let b = 0; b < batches; b++) {
      let ns = 0n;
      let n = 0;
      for (let i = 0; i < transfers; i++) {
        ns += transfer(pair[i % 2], blockSize, o);
        n += blockCount(pair[i % 2].length, blockSize);
      }
      rates.push(n / (Number(ns) / 1e9));
      blocks += n;
    }
    rates.sort((x, y) => x - y);
    return { perSecond: Math.round(rates[rates.length >> 1]), counts: storage.counts, blocks };
  };

  const plain = measure(512, 40, 5);
  add("image blocks per second (512 B, unicast unsigned, Node)", plain.perSecond, "blocks/s");
  // Everything the transfers wrote (TransferRequest and verification included), per block:
  // the block's data, and records (the whole bitmap again each block, the slot and state records).
  const recordBytes = plain.counts.byKind["record-write"].bytes;
  add("storage bytes written per 512-byte block (slot + records)", Math.round(plain.counts.bytes / plain.blocks), "bytes");
  add("record bytes written per 512-byte block (bitmap, state)", Number((recordBytes / plain.blocks).toFixed(1)), "bytes");
  add("durable writes per 512-byte block", Number((plain.counts.count / plain.blocks).toFixed(2)), "writes");
  const large = measure(1024, 40, 5);
  add("image blocks per second (1024 B, unicast unsigned, Node)", large.perSecond, "blocks/s");
  add("storage bytes written per 1024-byte block", Math.round(large.counts.bytes / large.blocks), "bytes");
  // Multicast blocks carry GroupMatch, which this agent wants signed: one ECDSA verify per block.
  const signed = measure(512, 1, 3, { signed: true, group: true });
  add("image blocks per second (512 B, multicast signed, Node)", signed.perSecond, "blocks/s");
  host.stop();
}
