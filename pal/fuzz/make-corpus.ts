// npx tsx pal/fuzz/make-corpus.ts [VECTORS_DIR]: (re)writes pal/fuzz/corpus/,
// the seed inputs of fuzz_datagram, from the UDP datagrams of the FND
// captures in /work/shared/vectors (or VECTORS_DIR / $OPENCSMP_VECTORS).
// One file per distinct payload, in fuzz_datagram.c's input layout: a flags
// byte, then the payload. Datagrams the device received keep their source
// port (the NMS's CoAP port 61628, or 62590 where the captured NMS sends its
// GETs from); what the device sent is offered as input too (responses, a
// registration), from the NMS. A few GETs also come by multicast (mcast.1),
// from another peer, and with the timers fired afterwards, so every flag bit
// has a seed.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readUdpDatagrams } from "../../host/pcap.ts";

const vectors = process.argv[2] ?? process.env.OPENCSMP_VECTORS ?? new URL("../../../shared/vectors/", import.meta.url).pathname;
const out = new URL("./corpus/", import.meta.url).pathname;
// The captured device; the NMS (2018::2) uses the same CoAP port 61628.
const DEVICE = "20180000000000000000000000000188";
const NMS_OTHER_PORT = 62590;
const FLAG_MCAST1 = 1;
const FLAG_OTHER_PORT = 4;
const FLAG_TIMERS = 8;
const FLAG_OTHER_PEER = 16;

const seeds = new Map<string, Uint8Array>();
function add(name: string, flags: number, payload: Uint8Array): void {
  const input = new Uint8Array(1 + payload.length);
  input[0] = flags;
  input.set(payload, 1);
  const hash = createHash("sha1").update(input).digest("hex").slice(0, 12);
  if (![...seeds.values()].some((s) => Buffer.compare(s, input) === 0)) seeds.set(`${name}-${hash}`, input);
}

let gets = 0;
for (const file of ["csmp_get.pcap", "csmp_register.pcap"]) {
  const path = join(vectors, file);
  if (!existsSync(path)) {
    console.error(`make-corpus: ${path} missing`);
    process.exit(1);
  }
  const stem = file.replace(/\.pcap$/, "").replace(/_/g, "-");
  for (const d of readUdpDatagrams(path)) {
    if (d.payload.length === 0) continue;
    const toDevice = Buffer.from(d.dst).toString("hex") === DEVICE;
    const flags = toDevice && d.srcPort === NMS_OTHER_PORT ? FLAG_OTHER_PORT : 0;
    add(`${stem}-${toDevice ? "in" : "out"}`, flags, d.payload);
    // A CoAP GET (code 0.01) to the device: also by multicast, from another
    // peer, and with the timers fired afterwards.
    if (toDevice && d.payload.length > 1 && d.payload[1] === 0x01 && gets++ < 2) {
      add(`${stem}-mcast`, flags | FLAG_MCAST1, d.payload);
      add(`${stem}-peer`, flags | FLAG_OTHER_PEER, d.payload);
      add(`${stem}-timers`, flags | FLAG_TIMERS, d.payload);
    }
  }
}

if (existsSync(out)) for (const f of readdirSync(out)) rmSync(join(out, f));
mkdirSync(out, { recursive: true });
for (const [name, input] of seeds) writeFileSync(join(out, name), input);
console.log(`make-corpus: ${seeds.size} seeds in ${out}`);
