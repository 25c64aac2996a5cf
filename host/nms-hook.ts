// The seam for the embedded simulated NMS (`--nms-sim`). The simulator lives
// in host/nms/; its entry module host/nms/index.ts exports
//
//   export async function startSimulatedNms(ctx: NmsSimContext): Promise<NmsSimHandle>
//
// which binds its CoAP endpoint on ctx.network at ctx.address/ctx.port (the
// --nms URL), uses ctx.clock for every timer so it runs in virtual time too,
// and logs through ctx.log. It is loaded on demand, so a run without
// --nms-sim never loads the NMS side (protobufjs, the TLV schema).
//
// The device verifies what the NMS signs only when its configuration holds
// the NMS public key (nms.key). So the key must exist before the device
// configuration is built: cli.ts calls simulatedNmsKey(stateDir) first, puts
// publicKeyHex into the configuration (nodeDeviceOptions({ nmsKey })) and
// hands pem to startSimulatedNms as ctx.nmsKeyPem. The key lives in
// <state-dir>/nms-key.pem, so host/nms-cli.ts --key can sign for the same
// device.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "./clock.ts";
import type { Ipv6Bytes } from "./ipv6.ts";
import type { LogSink } from "./log.ts";
import type { Network } from "./network.ts";

export interface NmsSimContext {
  /** Where to bind: real UDP or the in-process LoopNetwork (--virtual). */
  network: Network;
  clock: Clock;
  /** The NMS address and port from --nms (text form, e.g. "::1", 61629). */
  address: string;
  port: number;
  /** The device it manages. */
  agent: { address: Ipv6Bytes; port: number; eui64: string };
  log: LogSink;
  /** The NMS private key (PEM) the device's nms.key belongs to; absent: a key for this run only. */
  nmsKeyPem?: string;
}

export interface NmsSimHandle {
  stop(): void | Promise<void>;
}

export type StartSimulatedNms = (ctx: NmsSimContext) => Promise<NmsSimHandle>;

/** The simulated NMS's key: what the device configuration and the NMS need of it. */
export interface SimulatedNmsKey {
  /** Where it is kept: <state-dir>/nms-key.pem. */
  file: string;
  /** PKCS#8 PEM private key, for ctx.nmsKeyPem. */
  pem: string;
  /** 130 hex digits, for the device configuration's nms.key. */
  publicKeyHex: string;
}

/** The key in <stateDir>/nms-key.pem, generated there on first use. */
export async function simulatedNmsKey(stateDir: string): Promise<SimulatedNmsKey> {
  const { loadOrCreateNmsKey } = await import("./nms/key-file.ts");
  const file = join(stateDir, "nms-key.pem");
  const k = loadOrCreateNmsKey(file);
  return { file, pem: k.pem, publicKeyHex: k.publicKeyHex };
}

/** The simulator's entry point, or null when host/nms/ is not there. */
export async function loadSimulatedNms(): Promise<StartSimulatedNms | null> {
  const url = new URL("./nms/index.ts", import.meta.url);
  // Only a missing entry module means "not there yet"; a broken one must say why.
  if (!existsSync(url)) return null;
  const mod = (await import(url.href)) as { startSimulatedNms?: unknown };
  if (typeof mod.startSimulatedNms !== "function") {
    throw new Error(`${url.pathname} does not export startSimulatedNms(ctx)`);
  }
  return mod.startSimulatedNms as StartSimulatedNms;
}
