// The seam for the embedded simulated NMS (`--nms-sim`). The simulator lives
// in host/nms/ (another engineer's part, it may not exist yet); its entry
// module host/nms/index.ts must export
//
//   export async function startSimulatedNms(ctx: NmsSimContext): Promise<NmsSimHandle>
//
// binding its CoAP endpoint on ctx.network at ctx.address/ctx.port (the
// --nms URL), using ctx.clock for every timer so it runs in virtual time too.
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
}

export interface NmsSimHandle {
  stop(): void | Promise<void>;
}

export type StartSimulatedNms = (ctx: NmsSimContext) => Promise<NmsSimHandle>;

/** The simulator's entry point, or null when host/nms/ is not there (yet). */
export async function loadSimulatedNms(): Promise<StartSimulatedNms | null> {
  const url = new URL("./nms/index.ts", import.meta.url);
  let mod: { startSimulatedNms?: unknown };
  try {
    mod = (await import(url.href)) as { startSimulatedNms?: unknown };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "ENOENT") return null;
    throw e;
  }
  if (typeof mod.startSimulatedNms !== "function") {
    throw new Error(`${url.pathname} does not export startSimulatedNms(ctx)`);
  }
  return mod.startSimulatedNms as StartSimulatedNms;
}
