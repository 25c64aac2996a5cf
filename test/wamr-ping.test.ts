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
// Pinging needs an ICMPv6 datagram socket or a raw one; without either the
// test fails saying so (test/support/ping-bench.ts): it must not pass
// without having pinged.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeText } from "../host/nms/coap.ts";
import { buildCHost, CSMP_AGENT, ROOT, type HostProcess } from "./support/c-host.ts";
import { startPingBench, type PingBench } from "./support/ping-bench.ts";

const AGENT_WASM = join(ROOT, "build", "agent.wasm");

let bench: PingBench;
let agent: HostProcess;

beforeAll(async () => {
  buildCHost("the C host", "build-pal.mjs");
  bench = await startPingBench({
    binary: CSMP_AGENT, what: "csmp-agent", started: /host: agent started/, eui64: "00173BAB0F1E2D3C",
    args: (config, state) => ["--module", AGENT_WASM, "--config", config, "--bind", "::1", "--port", "0",
      "--interface", "lo", "--state", state, "--trust-system-time"],
  });
  agent = bench.host;
}, 600_000);

afterAll(async () => {
  const exit = bench ? await bench.close() : 0;
  expect(exit, `csmp-agent's exit on SIGTERM; its log:\n${agent?.log()}`).toBe(0);
});

const until = (what: string, done: () => boolean, timeoutMs: number) => bench.until(what, done, timeoutMs);
const ping = (value: { dest: string; count: number; delay: number }, timeoutMs: number) => bench.ping(value, timeoutMs);
const target = () => bench.target();

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
    const g = await bench.nms.get(target(), [31]);
    expect(codeText(g.code!)).toBe("2.05");
    expect(g.tlvs.find((t) => t.name === "PingResponse")?.value).toMatchObject({ sent: 3, received: 3 });
  });

  it("refuses a second ping while one runs, and the first still completes", async () => {
    const since = agent.log().length;
    const running = ping({ dest: "::1", count: 2, delay: 1 }, 10_000);
    await until("the first ping to start", () => /ping: pinging ::1: 2 echoes/.test(agent.log().slice(since)), 5_000);
    const second = await bench.nms.post(target(), [{ type: "PingRequest", value: { dest: "::1", count: 5, delay: 1 } }]);
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
    const reportsBefore = bench.reports.length;
    // Five echoes take 4 s; the agent reboots 2 s after the RebootRequest (assembly/csmp/reboot.ts).
    const r = await bench.nms.post(target(), [{ type: "PingRequest", value: { dest: "::1", count: 5, delay: 1 } }]);
    expect(codeText(r.code!)).toBe("2.01");
    const reboot = await bench.nms.reboot(target(), 0);
    expect(codeText(reboot.code!)).toBe("2.01");
    const log = () => agent.log().slice(since);
    await until("the reboot", () => /host: rebooting the agent/.test(log()), 5_000);
    expect(log()).toMatch(/ping: ping to ::1 abandoned after [1-4] of 5 echoes/);
    // Past the moment the ping would have ended (4 s after it started): no result, no report of one.
    await new Promise((res) => setTimeout(res, 2_500));
    expect(log()).not.toMatch(/ping: ::1: \d sent/);
    expect(bench.reports.slice(reportsBefore).flatMap((e) => e.tlvs).some((t) => t.name === "PingResponse")).toBe(false);
    expect(log()).toMatch(/host: agent started/);
  });
});
