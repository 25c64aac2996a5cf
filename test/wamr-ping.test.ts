// PingRequest (TLV 30) on the POSIX WAMR host: csmp-agent pings for real
// with ICMPv6 echoes from its event loop (pal/posix/ping.c), and the
// PingResponse (TLV 31) reaches the simulated NMS by the agent's NON POST
// and answers a GET. The device runs on [::1] against a SimulatedNms that
// signs every POST, as a real NMS would.
//
// Two destinations, both decided on this machine alone:
// - ::1 answers every echo (the kernel does);
// - fe80::1234 with --interface lo: a link-local destination goes out on
//   lo, and lo has no link-local route, so the kernel refuses every send at
//   once (ENETUNREACH): nothing leaves the machine, nothing is waited for.
//
// Pinging needs an ICMPv6 datagram socket (the gid in
// net.ipv4.ping_group_range) or a raw one (root or CAP_NET_RAW). Without
// either csmp-agent logs "ping unsupported" and this test fails saying so:
// it must not pass without having pinged.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDeviceConfig } from "../host/device-config.ts";
import { codeText } from "../host/nms/coap.ts";
import { SimulatedNms, type ReportEvent } from "../host/nms/sim.ts";
import type { Tlv } from "../host/nms/tlv.ts";
import { endpointTransport } from "../host/nms/transport.ts";
import { UdpNetwork } from "../host/udp-network.ts";
import { buildCHost, CSMP_AGENT, ROOT, startHost, stopProcess, type HostProcess } from "./support/c-host.ts";

const AGENT_WASM = join(ROOT, "build", "agent.wasm");
const EUI64 = "00173BAB0F1E2D3C";

type PingResponse = { sent?: number; received?: number; minRtt?: number; meanRtt?: number; maxRtt?: number; stdevRtt?: number };

let nms: SimulatedNms;
let agent: HostProcess;
let root: string;
let registered = false;
const reports: { at: number; tlvs: readonly Tlv[] }[] = [];
const target = () => ({ address: "::1", port: agent.port });

beforeAll(async () => {
  buildCHost("the C host", "build-pal.mjs");
  const endpoint = await new UdpNetwork().bind("::1", 0);
  nms = new SimulatedNms({ transport: endpointTransport(endpoint) });
  nms.on("report", (e: ReportEvent) => reports.push({ at: Date.now(), tlvs: e.tlvs }));
  nms.on("registration", (e) => { if (e.outcome === "registered") registered = true; });
  root = mkdtempSync(join(tmpdir(), "csmp-ping-"));
  const config = join(root, "device.conf");
  writeFileSync(config, buildDeviceConfig({
    eui64: EUI64,
    nmsUrl: `coap://[::1]:${endpoint.port}`,
    nmsKey: nms.publicKeyHex,
    interfaces: [{ name: "lo", descr: "loopback", type: 24, mtu: 65536 }],
    addresses: [{ addr: "::1", if: 1, pfxlen: 128 }],
    // Registration within a second or two instead of minutes.
    extra: { "reg.min": 1, "reg.max": 4 },
  }));
  agent = await startHost(CSMP_AGENT, ["--module", AGENT_WASM, "--config", config, "--bind", "::1", "--port", "0",
    "--interface", "lo", "--state", join(root, "state"), "--trust-system-time"],
  { started: /host: agent started/, what: "csmp-agent" });
  // The agent's POSTs go to the NMS it registered with (SessionID).
  await until("registration", () => registered, 15_000);
}, 600_000);

afterAll(async () => {
  const exit = agent ? await stopProcess(agent.proc, agent.exited) : 0;
  await nms?.close();
  if (root) rmSync(root, { recursive: true, force: true });
  expect(exit, `csmp-agent's exit on SIGTERM; its log:\n${agent?.log()}`).toBe(0);
});

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (/ping unsupported/.test(agent?.log() ?? "")) {
      throw new Error("csmp-agent cannot ping on this machine: it needs an ICMPv6 datagram socket (this gid in "
        + "net.ipv4.ping_group_range) or a raw one (root or CAP_NET_RAW). Its log:\n" + agent.log());
    }
    if (Date.now() > end) throw new Error(`${what} did not happen within ${timeoutMs} ms; csmp-agent log:\n${agent?.log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** POSTs a signed PingRequest and waits for the PingResponse the agent POSTs when the test is over. */
async function ping(value: { dest: string; count: number; delay: number }, timeoutMs: number) {
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
}

describe("csmp-agent pings for real (ICMPv6 echo)", () => {
  it("pings ::1: three echoes a second apart, all answered, sane round trips", async () => {
    const { response, elapsedMs } = await ping({ dest: "::1", count: 3, delay: 1 }, 10_000);
    expect(response).toMatchObject({ sent: 3, received: 3 });
    // Loopback answers in microseconds, which round to 0 ms; absent fields are 0.
    const [min, mean, max, sd] = [response.minRtt, response.meanRtt, response.maxRtt, response.stdevRtt].map((v) => v ?? 0);
    expect(min).toBeLessThanOrEqual(mean);
    expect(mean).toBeLessThanOrEqual(max);
    expect(max, "round trip on loopback, ms").toBeLessThan(1000);
    expect(sd).toBeLessThanOrEqual(max);
    // Paced 1 s apart, and over as soon as the third reply is in (not after the 2 s wait).
    expect(elapsedMs).toBeGreaterThanOrEqual(1900);
    expect(elapsedMs).toBeLessThan(3900);
    expect(agent.log()).toMatch(/ping: pinging over an ICMPv6 (raw|datagram \(unprivileged\)) socket/);
    // The host logs the times in µs: real round trips, measured, in order.
    const line = /ping: ::1: 3 sent, 3 received, rtt min\/mean\/max\/stdev ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(agent.log());
    expect(line, "the host's summary line").not.toBeNull();
    const [lo, avg, hi] = line!.slice(1, 4).map(Number);
    expect(lo).toBeGreaterThan(0);
    expect(lo).toBeLessThanOrEqual(avg);
    expect(avg).toBeLessThanOrEqual(hi);
    expect(Math.round(hi)).toBe(max);

    // GET 31 serves the last result.
    const g = await nms.get(target(), [31]);
    expect(codeText(g.code!)).toBe("2.05");
    expect(g.tlvs.find((t) => t.name === "PingResponse")?.value).toMatchObject({ sent: 3, received: 3 });
  });

  it("refuses a second ping while one runs, and the first still completes", async () => {
    const since = agent.log().length;
    const running = ping({ dest: "::1", count: 2, delay: 1 }, 10_000);
    await until("the first ping to start", () => /ping: pinging ::1: 2 echoes/.test(agent.log().slice(since)), 5_000);
    const second = await nms.post(target(), [{ type: "PingRequest", value: { dest: "::1", count: 5, delay: 1 } }]);
    expect(codeText(second.code!)).toBe("2.01");
    await until("the refusal", () => /ping could not be started/.test(agent.log().slice(since)), 5_000);
    const { response } = await running;
    expect(response).toMatchObject({ sent: 2, received: 2 });
  });

  it("pings an address the kernel cannot route (link-local on lo): all sent, none received, no waiting", async () => {
    const { response, elapsedMs } = await ping({ dest: "fe80::1234", count: 2, delay: 1 }, 10_000);
    expect(response).toMatchObject({ sent: 2, received: 0 });
    // Nothing came back: the agent leaves the round trips out.
    expect(response.minRtt ?? 0).toBe(0);
    expect(response.meanRtt ?? 0).toBe(0);
    // Both sends refused: over right after the second, without the 2 s wait for replies.
    expect(elapsedMs).toBeLessThan(2500);
    expect(agent.log()).toMatch(/ping: echo request to fe80::1234 refused: Network is unreachable/);
  });

  it("drops a running ping when the agent reboots: the new instance never asked for it", async () => {
    const since = agent.log().length;
    const reportsBefore = reports.length;
    // Five echoes take 4 s; the agent reboots 2 s after the RebootRequest (assembly/csmp/reboot.ts).
    const r = await nms.post(target(), [{ type: "PingRequest", value: { dest: "::1", count: 5, delay: 1 } }]);
    expect(codeText(r.code!)).toBe("2.01");
    const reboot = await nms.reboot(target(), 0);
    expect(codeText(reboot.code!)).toBe("2.01");
    const log = () => agent.log().slice(since);
    await until("the reboot", () => /host: rebooting the agent/.test(log()), 5_000);
    expect(log()).toMatch(/ping: ping to ::1 abandoned after [1-4] of 5 echoes/);
    // Past the moment the ping would have ended (4 s after it started): no result, no report of one.
    await new Promise((res) => setTimeout(res, 2_500));
    expect(log()).not.toMatch(/ping: ::1: \d sent/);
    expect(reports.slice(reportsBefore).flatMap((e) => e.tlvs).some((t) => t.name === "PingResponse")).toBe(false);
    expect(log()).toMatch(/host: agent started/);
  });
});
