// A C host that pings for real, on [::1], registered with a SimulatedNms
// that signs every POST as a real NMS would: the bench of the ping suite
// (ping-suite.ts) that test/wamr-ping.test.ts (csmp-agent) and
// test/freertos-ping.test.ts (the FreeRTOS simulator) run. A signed
// PingRequest goes in, and the PingResponse (TLV 31) the agent POSTs when
// its platform's test is over is picked out of the NMS's reports.
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
import { ROOT, startHost, stopProcess, type HostProcess } from "./c-host.ts";

const AGENT_WASM = join(ROOT, "build", "agent.wasm");

export type PingResponse = { sent?: number; received?: number; minRtt?: number; meanRtt?: number; maxRtt?: number; stdevRtt?: number };

/** min, mean, max, stdev in ms; the agent leaves out the ones that are 0. */
export const rttMs = (r: PingResponse): number[] => [r.minRtt, r.meanRtt, r.maxRtt, r.stdevRtt].map((v) => v ?? 0);

export interface PingBenchOptions {
  binary: string;
  /** For messages: "csmp-agent", "the FreeRTOS simulator". */
  what: string;
  /** The log line that says the agent runs (c-host.ts's StartOptions.started). */
  started: RegExp;
  eui64: string;
  /** A program the host runs under, with its arguments (e.g. setpriv dropping CAP_NET_RAW). */
  wrapper?: string[];
}

export interface PingBench {
  nms: SimulatedNms;
  /** The host's log (stderr and stdout) from character `since` on. */
  log(since?: number): string;
  /** The PingResponses the NMS got in its reports from report number `from` on. */
  responses(from: number): PingResponse[];
  target(): { address: string; port: number };
  /** Waits for done(), failing at once if the host cannot ping (unless the test expects that: mayNotPing). */
  until(what: string, done: () => boolean, timeoutMs: number, mayNotPing?: boolean): Promise<void>;
  /** POSTs a signed PingRequest; resolves with the PingResponse reported after it. */
  ping(value: { dest: string; count: number; delay: number }, timeoutMs: number): Promise<{ response: PingResponse; elapsedMs: number }>;
  /**
   * POSTs a PingRequest of five echoes to ::1 (4 s), then a RebootRequest:
   * the agent reboots 2 s later (assembly/csmp/reboot.ts), mid-test.
   * Resolves with where the log and the reports stood before.
   */
  rebootDuringPing(): Promise<{ logFrom: number; reportsFrom: number }>;
  /** Stops the host (SIGTERM) and the NMS; resolves with the host's exit. */
  close(): Promise<number | string>;
}

/** Starts the NMS and the host, and waits until the host has registered. */
export async function startPingBench(o: PingBenchOptions): Promise<PingBench> {
  const endpoint = await new UdpNetwork().bind("::1", 0);
  const nms = new SimulatedNms({ transport: endpointTransport(endpoint) });
  const reports: (readonly Tlv[])[] = []; // the TLVs of each report, in arrival order
  let registered = false;
  nms.on("report", (e: ReportEvent) => reports.push(e.tlvs));
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
    // Both hosts take the same flags. --interface lo: where link-local
    // destinations go out (the suite's unroutable one).
    const args = ["--module", AGENT_WASM, "--config", config, "--bind", "::1", "--port", "0",
      "--interface", "lo", "--state", join(root, "state"), "--trust-system-time"];
    const [program, ...programArgs] = [...(o.wrapper ?? []), o.binary];
    host = await startHost(program, [...programArgs, ...args], { started: o.started, what: o.what });
  } catch (e) {
    await close();
    throw e;
  }
  const h = host;
  const target = () => ({ address: "::1", port: h.port });
  const responses = (from: number) => reports.slice(from).flat()
    .filter((t) => t.name === "PingResponse").map((t) => t.value as PingResponse);

  const until = async (what: string, done: () => boolean, timeoutMs: number, mayNotPing = false) => {
    const end = Date.now() + timeoutMs;
    while (!done()) {
      if (!mayNotPing && /ping unsupported/.test(h.log())) {
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
    await until(`PingResponse for ${value.dest}`, () => responses(since).length > 0, timeoutMs);
    return { response: responses(since)[0], elapsedMs: Date.now() - started };
  };

  const rebootDuringPing = async () => {
    const from = { logFrom: h.log().length, reportsFrom: reports.length };
    const r = await nms.post(target(), [{ type: "PingRequest", value: { dest: "::1", count: 5, delay: 1 } }]);
    expect(codeText(r.code!), "POST PingRequest").toBe("2.01");
    const reboot = await nms.reboot(target(), 0);
    expect(codeText(reboot.code!), "POST RebootRequest").toBe("2.01");
    return from;
  };

  // The agent's POSTs go to the NMS it registered with (SessionID).
  try {
    await until("registration", () => registered, 15_000);
  } catch (e) {
    await close();
    throw e;
  }
  return { nms, log: (since = 0) => h.log().slice(since), responses, target, until, ping, rebootDuringPing, close };
}
