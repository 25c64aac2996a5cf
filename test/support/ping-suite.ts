// The PingRequest (TLV 30) cases every C host that pings for real must
// pass, written once as test/scenario/ is for the scenario:
// test/wamr-ping.test.ts (csmp-agent) and test/freertos-ping.test.ts (the
// FreeRTOS simulator) each call definePingSuite with their host, and add
// what only their host does (a reboot during a test ends differently)
// through `cases`. The bench (ping-bench.ts) fails every case, saying why,
// where the host cannot ping at all.
//
// Two destinations, both decided on this machine alone:
// - ::1 answers every echo (the kernel does);
// - fe80::1234 with --interface lo: a link-local destination goes out on
//   lo, and lo has no link-local route, so the kernel refuses every send at
//   once (ENETUNREACH): nothing leaves the machine, nothing is waited for.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeText } from "../../host/nms/coap.ts";
import { rttMs, startPingBench, type PingBench, type PingBenchOptions, type PingResponse } from "./ping-bench.ts";

export interface PingSuiteHost extends PingBenchOptions {
  /** The suite's title. */
  title: string;
  /** Builds the host (buildCHost), before the bench starts it. */
  build(): void;
  /** Its exit on SIGTERM, for a host that handles SIGTERM (csmp-agent: 0). */
  sigtermExit?: number;
  /** What else three echoes to ::1 show on this host: its log since the
   * PingRequest, and the PingResponse. */
  threeEchoes?(log: string, response: PingResponse): void;
  /** The host's own cases (it()), after the shared ones, on the same bench. */
  cases(bench: () => PingBench): void;
}

export function definePingSuite(h: PingSuiteHost): void {
  describe(h.title, () => {
    let bench: PingBench;

    beforeAll(async () => {
      h.build();
      bench = await startPingBench(h);
    }, 600_000); // includes building the host from scratch

    afterAll(async () => {
      if (!bench) return;
      const log = bench.log();
      const exit = await bench.close();
      if (h.sigtermExit !== undefined) expect(exit, `${h.what}'s exit on SIGTERM; its log:\n${log}`).toBe(h.sigtermExit);
    });

    it("pings ::1: three echoes a second apart, all answered, sane round trips", async () => {
      const since = bench.log().length;
      const { response, elapsedMs } = await bench.ping({ dest: "::1", count: 3, delay: 1 }, 10_000);
      expect(response).toMatchObject({ sent: 3, received: 3 });
      // Loopback answers in microseconds, which round to 0 ms.
      const [min, mean, max, sd] = rttMs(response);
      expect(min).toBeLessThanOrEqual(mean);
      expect(mean).toBeLessThanOrEqual(max);
      expect(max, "round trip on loopback, ms").toBeLessThan(1000);
      expect(sd).toBeLessThanOrEqual(max);
      // Paced 1 s apart, and over as soon as the third reply is in (not after the 2 s wait).
      expect(elapsedMs).toBeGreaterThanOrEqual(1900);
      expect(elapsedMs).toBeLessThan(3900);
      // Said once per process, so looked for in the whole log.
      expect(bench.log()).toMatch(/ping: pinging over an ICMPv6 (raw|datagram \(unprivileged\)) socket/);
      const log = bench.log(since);
      expect(log).toMatch(/ping: pinging ::1: 3 echoes, 1000 ms apart/);
      // The host logs the times in µs: real round trips, measured, in order.
      const line = /ping: ::1: 3 sent, 3 received, rtt min\/mean\/max\/stdev ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(log);
      expect(line, "the host's summary line").not.toBeNull();
      const [lo, avg, hi] = line!.slice(1, 4).map(Number);
      expect(lo).toBeGreaterThan(0);
      expect(lo).toBeLessThanOrEqual(avg);
      expect(avg).toBeLessThanOrEqual(hi);
      expect(Math.round(hi)).toBe(max);
      h.threeEchoes?.(log, response);

      // GET 31 serves the last result.
      const g = await bench.nms.get(bench.target(), [31]);
      expect(codeText(g.code!)).toBe("2.05");
      expect(g.tlvs.find((t) => t.name === "PingResponse")?.value).toMatchObject({ sent: 3, received: 3 });
    });

    it("refuses a second ping while one runs, and the first still completes", async () => {
      const since = bench.log().length;
      const running = bench.ping({ dest: "::1", count: 2, delay: 1 }, 10_000);
      await bench.until("the first ping to start", () => /ping: pinging ::1: 2 echoes/.test(bench.log(since)), 5_000);
      const second = await bench.nms.post(bench.target(), [{ type: "PingRequest", value: { dest: "::1", count: 5, delay: 1 } }]);
      expect(codeText(second.code!)).toBe("2.01");
      await bench.until("the refusal", () => /ping could not be started/.test(bench.log(since)), 5_000);
      const { response } = await running;
      expect(response).toMatchObject({ sent: 2, received: 2 });
      expect(bench.log(since)).not.toMatch(/pinging ::1: 5 echoes/);
    });

    it("pings an address the kernel cannot route (link-local on lo): all sent, none received, no waiting", async () => {
      const since = bench.log().length;
      const { response, elapsedMs } = await bench.ping({ dest: "fe80::1234", count: 2, delay: 1 }, 10_000);
      expect(response).toMatchObject({ sent: 2, received: 0 });
      // Nothing came back: the agent leaves the round trips out.
      expect(response.minRtt ?? 0).toBe(0);
      expect(response.meanRtt ?? 0).toBe(0);
      // Both sends refused: over right after the second, without the 2 s wait for replies.
      expect(elapsedMs).toBeLessThan(2500);
      expect(bench.log(since)).toMatch(/ping: echo request to fe80::1234 refused: Network is unreachable/);
    });

    h.cases(() => bench);
  });
}
