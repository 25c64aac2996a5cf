// PingRequest (TLV 30) on the FreeRTOS simulator: the board hook
// csmp_vendor_ping hands the test to the simulator's "ping" task, which
// sends ICMPv6 echoes with Linux sockets (pal/freertos/sim/ping.c) and
// reports the end with csmp_freertos_ping_done(); the PAL's agent task hands
// the result to the agent, whose PingResponse (TLV 31) reaches the simulated
// NMS. Same bench as test/wamr-ping.test.ts (test/support/ping-bench.ts).
//
// Destinations decided on this machine alone: ::1 answers every echo (the
// kernel does); fe80::1234 with --interface lo goes out on lo, which has no
// link-local route, so the kernel refuses every send at once (ENETUNREACH).
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeText } from "../host/nms/coap.ts";
import { buildCHost, FREERTOS_SIM, ROOT, type HostProcess } from "./support/c-host.ts";
import { startPingBench, type PingBench } from "./support/ping-bench.ts";

const AGENT_WASM = join(ROOT, "build", "agent.wasm");

let bench: PingBench;
let sim: HostProcess;

beforeAll(async () => {
  buildCHost("the FreeRTOS simulator", "build-freertos.mjs");
  bench = await startPingBench({
    binary: FREERTOS_SIM, what: "the FreeRTOS simulator", started: /pal: agent started/, eui64: "00173BAB0F1E2D3D",
    args: (config, state) => ["--module", AGENT_WASM, "--config", config, "--bind", "::1", "--port", "0",
      "--interface", "lo", "--state", state, "--trust-system-time"],
  });
  sim = bench.host;
}, 600_000);

afterAll(async () => {
  await bench?.close();
});

/** The simulator's log from character `since` on. */
const logSince = (since: number) => sim.log().slice(since);

describe("the FreeRTOS simulator pings for real (ICMPv6 echo in a FreeRTOS task)", () => {
  it("pings ::1: three echoes a second apart, all answered, sane round trips", async () => {
    const since = sim.log().length;
    const { response, elapsedMs } = await bench.ping({ dest: "::1", count: 3, delay: 1 }, 10_000);
    expect(response).toMatchObject({ sent: 3, received: 3 });
    // Absent fields are 0: loopback round trips round to 0 ms.
    const [min, mean, max, sd] = [response.minRtt, response.meanRtt, response.maxRtt, response.stdevRtt].map((v) => v ?? 0);
    expect(min).toBeLessThanOrEqual(mean);
    expect(mean).toBeLessThanOrEqual(max);
    expect(max, "round trip on loopback, ms").toBeLessThan(1000);
    expect(sd).toBeLessThanOrEqual(max);
    // Paced 1 s apart, over once the third reply is in (not after the 2 s wait).
    expect(elapsedMs).toBeGreaterThanOrEqual(1900);
    expect(elapsedMs).toBeLessThan(3900);
    const log = logSince(since);
    expect(sim.log()).toMatch(/ping: pinging over an ICMPv6 (raw|datagram \(unprivileged\)) socket/);
    expect(log).toMatch(/ping: pinging ::1: 3 echoes, 1000 ms apart/);
    // The simulator's summary in µs: real round trips, without the tick
    // the task may wait before reading a reply (the kernel's arrival stamp
    // takes it out), in order.
    const line = /ping: ::1: 3 sent, 3 received, rtt min\/mean\/max\/stdev ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(log);
    expect(line, "the simulator's summary line").not.toBeNull();
    const [lo, avg, hi] = line!.slice(1, 4).map(Number);
    expect(lo).toBeGreaterThan(0);
    expect(lo).toBeLessThanOrEqual(avg);
    expect(avg).toBeLessThanOrEqual(hi);
    expect(Math.round(hi)).toBe(max);
    // Through the PAL: csmp_freertos_ping_done, the inbox, the agent task.
    expect(log).toMatch(new RegExp(`pal: ping over: 3 sent, 3 received, rtt min/mean/max/stdev ${min}/${mean}/${max}/${sd} ms`));

    // GET 31 serves the last result.
    const g = await bench.nms.get(bench.target(), [31]);
    expect(codeText(g.code!)).toBe("2.05");
    expect(g.tlvs.find((t) => t.name === "PingResponse")?.value).toMatchObject({ sent: 3, received: 3 });
  });

  it("refuses a second ping while one runs (the PAL's one test at a time), and the first still completes", async () => {
    const since = sim.log().length;
    const running = bench.ping({ dest: "::1", count: 2, delay: 1 }, 10_000);
    await bench.until("the first ping to start", () => /ping: pinging ::1: 2 echoes/.test(logSince(since)), 5_000);
    const second = await bench.nms.post(bench.target(), [{ type: "PingRequest", value: { dest: "::1", count: 5, delay: 1 } }]);
    expect(codeText(second.code!)).toBe("2.01");
    await bench.until("the refusal", () => /ping could not be started/.test(logSince(since)), 5_000);
    const { response } = await running;
    expect(response).toMatchObject({ sent: 2, received: 2 });
    expect(logSince(since)).not.toMatch(/pinging ::1: 5 echoes/);
  });

  it("pings an address the kernel cannot route (link-local on lo): all sent, none received, no waiting", async () => {
    const since = sim.log().length;
    const { response, elapsedMs } = await bench.ping({ dest: "fe80::1234", count: 2, delay: 1 }, 10_000);
    expect(response).toMatchObject({ sent: 2, received: 0 });
    expect(response.minRtt ?? 0).toBe(0);
    expect(response.meanRtt ?? 0).toBe(0);
    // Both sends refused: over right after the second, without the 2 s wait.
    expect(elapsedMs).toBeLessThan(2500);
    expect(logSince(since)).toMatch(/ping: echo request to fe80::1234 refused: Network is unreachable/);
  });

  it("drops the result of a test an earlier agent instance started, and refuses new ones until it ends", async () => {
    const since = sim.log().length;
    const reportsBefore = bench.reports.length;
    // Five echoes take 4 s; the agent reboots 2 s after the RebootRequest
    // (assembly/csmp/reboot.ts), and the simulator restarts it in place
    // while its ping task carries on: a board cannot stop a test.
    const r = await bench.nms.post(bench.target(), [{ type: "PingRequest", value: { dest: "::1", count: 5, delay: 1 } }]);
    expect(codeText(r.code!)).toBe("2.01");
    const reboot = await bench.nms.reboot(bench.target(), 0);
    expect(codeText(reboot.code!)).toBe("2.01");
    await bench.until("the restart", () => /pal: agent started/.test(logSince(since)), 5_000);
    // The new instance asks: the board is still busy with the old test.
    const again = await bench.nms.post(bench.target(), [{ type: "PingRequest", value: { dest: "::1", count: 1, delay: 1 } }]);
    expect(codeText(again.code!)).toBe("2.01");
    await bench.until("the refusal", () => /pal: ping refused: the board still runs the test an earlier agent instance started/
      .test(logSince(since)), 5_000);
    await bench.until("the old test's end", () => /pal: ping result \(5 sent, 5 received\) dropped: the agent restarted since it asked for the test/
      .test(logSince(since)), 8_000);
    expect(logSince(since)).toMatch(/ping: ::1: 5 sent, 5 received/);
    expect(logSince(since)).not.toMatch(/pal: ping over/);
    // Give a wrongly delivered result time to be POSTed: none may be.
    await new Promise((res) => setTimeout(res, 500));
    expect(bench.reports.slice(reportsBefore).flatMap((e) => e.tlvs).some((t) => t.name === "PingResponse")).toBe(false);

    // The PAL is free again: the new instance's own test goes through.
    const { response } = await bench.ping({ dest: "::1", count: 1, delay: 1 }, 10_000);
    expect(response).toMatchObject({ sent: 1, received: 1 });
  });
});
