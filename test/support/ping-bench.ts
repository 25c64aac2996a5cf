// A C host that pings for real, on [::1], registered with a SimulatedNms
// that signs every POST as a real NMS would: what test/wamr-ping.test.ts
// (csmp-agent) and test/freertos-ping.test.ts (the FreeRTOS simulator)
// share. A signed PingRequest goes in, and the PingResponse (TLV 31) the
// agent POSTs when its platform's test is over is picked out of the NMS's
// reports.
//
// Pinging needs an ICMPv6 datagram socket (the gid in
// net.ipv4.ping_group_range) or a raw one (root or CAP_NET_RAW). Without
// either both hosts log "ping unsupported", and every wait here fails
// saying so: a ping test must not pass without having pinged.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { buildDeviceConfig } from "../../host/device-config.ts";
import { codeText } from "../../host/nms/coap.ts";
import { SimulatedNms, type ReportEvent } from "../../host/nms/sim.ts";
import type { Tlv } from "../../host/nms/tlv.ts";
import { endpointTransport } from "../../host/nms/transport.ts";
import { UdpNetwork } from "../../host/udp-network.ts";
import { startHost, stopProcess, type HostProcess } from "./c-host.ts";

export type PingResponse = { sent?: number; received?: number; minRtt?: number; meanRtt?: number; maxRtt?: number; stdevRtt?: number };

export interface PingBenchOptions {
  binary: string;
  /** For messages: "csmp-agent", "the FreeRTOS simulator". */
  what: string;
  /** The log line that says the agent runs (c-host.ts's StartOptions.started). */
  started: RegExp;
  /** The host's arguments for a configuration file and a state directory. */
  args(config: string, state: string): string[];
  eui64: string;
}

export interface PingBench {
  nms: SimulatedNms;
  host: HostProcess;
  /** The NMS's reports so far, in arrival order. */
  reports: { at: number; tlvs: readonly Tlv[] }[];
  target(): { address: string; port: number };
  /** Waits for done(), failing at once if the host cannot ping. */
  until(what: string, done: () => boolean, timeoutMs: number): Promise<void>;
  /** POSTs a signed PingRequest; resolves with the PingResponse reported after it. */
  ping(value: { dest: string; count: number; delay: number }, timeoutMs: number): Promise<{ response: PingResponse; elapsedMs: number }>;
  /** Stops the host (SIGTERM) and the NMS; resolves with the host's exit. */
  close(): Promise<number | string>;
}

/** Starts the NMS and the host, and waits until the host has registered. */
export async function startPingBench(o: PingBenchOptions): Promise<PingBench> {
  const endpoint = await new UdpNetwork().bind("::1", 0);
  const nms = new SimulatedNms({ transport: endpointTransport(endpoint) });
  const reports: PingBench["reports"] = [];
  let registered = false;
  nms.on("report", (e: ReportEvent) => reports.push({ at: Date.now(), tlvs: e.tlvs }));
  nms.on("registration", (e) => { if (e.outcome === "registered") registered = true; });
  const root = mkdtempSync(join(tmpdir(), "csmp-ping-"));
  const config = join(root, "device.conf");
  writeFileSync(config, buildDeviceConfig({
    eui64: o.eui64,
    nmsUrl: `coap://[::1]:${endpoint.port}`,
    nmsKey: nms.publicKeyHex,
    interfaces: [{ name: "lo", descr: "loopback", type: 24, mtu: 65536 }],
    addresses: [{ addr: "::1", if: 1, pfxlen: 128 }],
    // Registration within a second or two instead of minutes.
    extra: { "reg.min": 1, "reg.max": 4 },
  }));
  let host: HostProcess | undefined;
  const close = async () => {
    const exit = host ? await stopProcess(host.proc, host.exited) : 0;
    await nms.close();
    rmSync(root, { recursive: true, force: true });
    return exit;
  };
  try {
    host = await startHost(o.binary, o.args(config, join(root, "state")), { started: o.started, what: o.what });
  } catch (e) {
    await close();
    throw e;
  }
  const h = host;
  const target = () => ({ address: "::1", port: h.port });

  const until = async (what: string, done: () => boolean, timeoutMs: number) => {
    const end = Date.now() + timeoutMs;
    while (!done()) {
      if (/ping unsupported/.test(h.log())) {
        throw new Error(`${o.what} cannot ping on this machine: it needs an ICMPv6 datagram socket (this gid in `
          + "net.ipv4.ping_group_range) or a raw one (root or CAP_NET_RAW). Its log:\n" + h.log());
      }
      if (Date.now() > end) throw new Error(`${what} did not happen within ${timeoutMs} ms; ${o.what}'s log:\n${h.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const ping: PingBench["ping"] = async (value, timeoutMs) => {
    const since = reports.length;
    const started = Date.now();
    const r = await nms.post(target(), [{ type: "PingRequest", value }]);
    expect(codeText(r.code!), "POST PingRequest").toBe("2.01");
    let found: PingResponse | undefined;
    await until(`PingResponse for ${value.dest}`, () => {
      const tlv = reports.slice(since).flatMap((e) => e.tlvs).find((t) => t.name === "PingResponse");
      found = tlv?.value as PingResponse | undefined;
      return found !== undefined;
    }, timeoutMs);
    return { response: found!, elapsedMs: Date.now() - started };
  };

  // The agent's POSTs go to the NMS it registered with (SessionID).
  try {
    await until("registration", () => registered, 15_000);
  } catch (e) {
    await close();
    throw e;
  }
  return { nms, host: h, reports, target, until, ping, close };
}
