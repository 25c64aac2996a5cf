// The shared test vectors the fuzzer starts from: the FND captures' CoAP
// datagrams and the two sample firmware images. They live in shared/vectors
// beside the repository; a campaign without them still runs (generated
// inputs only), it just exercises less.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readUdpDatagrams } from "../pcap.ts";
import type { Images } from "./campaign.ts";

export const DEFAULT_VECTORS = new URL("../../../shared/vectors/", import.meta.url).pathname;

export interface Vectors {
  captured: Uint8Array[];
  images?: Images;
}

export function loadVectors(dir = process.env.OPENCSMP_VECTORS ?? DEFAULT_VECTORS): Vectors {
  const captured: Uint8Array[] = [];
  for (const f of ["csmp_get.pcap", "csmp_register.pcap"]) {
    const path = join(dir, f);
    if (existsSync(path)) for (const d of readUdpDatagrams(path)) captured.push(d.payload);
  }
  const running = join(dir, "opencsmp-node-6.8-sample-image.bin");
  const upload = join(dir, "opencsmp-node-6.9-sample-image.bin");
  const images = existsSync(running) && existsSync(upload)
    ? { running: new Uint8Array(readFileSync(running)), upload: new Uint8Array(readFileSync(upload)) }
    : undefined;
  return { captured, images };
}
