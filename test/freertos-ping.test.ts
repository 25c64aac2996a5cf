// PingRequest (TLV 30) on the FreeRTOS simulator: the board hook
// csmp_vendor_ping hands the test to the simulator's "ping" task, which
// sends ICMPv6 echoes with Linux sockets (pal/freertos/sim/ping.c over
// pal/common/icmp6_echo.c) and reports the end with
// csmp_freertos_ping_done(); the PAL's agent task hands the result to the
// agent, whose PingResponse (TLV 31) reaches the simulated NMS. The cases
// every pinging host passes are test/support/ping-suite.ts; here, what only
// the FreeRTOS PAL does: the result's way through it, and a test that
// outlives the agent instance that asked for it.
//
// The round trips the suite checks in µs leave out the tick the task may
// wait before reading a reply: the kernel's arrival stamp takes it out.
import { expect, it } from "vitest";
import { codeText } from "../host/nms/coap.ts";
import { buildCHost, FREERTOS_SIM } from "./support/c-host.ts";
import { rttMs } from "./support/ping-bench.ts";
import { definePingSuite } from "./support/ping-suite.ts";

definePingSuite({
  title: "the FreeRTOS simulator pings for real (ICMPv6 echo in a FreeRTOS task)",
  build: () => buildCHost("the FreeRTOS simulator", "build-freertos.mjs"),
  binary: FREERTOS_SIM, what: "the FreeRTOS simulator", started: /pal: agent started/, eui64: "00173BAB0F1E2D3D",
  threeEchoes: (log, response) => {
    // Through the PAL: csmp_freertos_ping_done, the inbox, the agent task.
    const [min, mean, max, sd] = rttMs(response);
    expect(log).toMatch(new RegExp(`pal: ping over: 3 sent, 3 received, rtt min/mean/max/stdev ${min}/${mean}/${max}/${sd} ms`));
  },
  cases: (bench) => {
    it("drops the result of a test an earlier agent instance started, and refuses new ones until it ends", async () => {
      const b = bench();
      // The simulator restarts the agent in place while its ping task
      // carries on: a board cannot stop a test.
      const { logFrom, reportsFrom } = await b.rebootDuringPing();
      await b.until("the restart", () => /pal: agent started/.test(b.log(logFrom)), 5_000);
      // The new instance asks: the board is still busy with the old test.
      const again = await b.nms.post(b.target(), [{ type: "PingRequest", value: { dest: "::1", count: 1, delay: 1 } }]);
      expect(codeText(again.code!)).toBe("2.01");
      await b.until("the refusal", () => /pal: ping refused: the board still runs the test an earlier agent instance started/
        .test(b.log(logFrom)), 5_000);
      await b.until("the old test's end", () => /pal: ping result \(5 sent, 5 received\) dropped: the agent restarted since it asked for the test/
        .test(b.log(logFrom)), 8_000);
      expect(b.log(logFrom)).toMatch(/ping: ::1: 5 sent, 5 received/);
      expect(b.log(logFrom)).not.toMatch(/pal: ping over/);
      // Give a wrongly delivered result time to be POSTed: none may be.
      await new Promise((res) => setTimeout(res, 500));
      expect(b.responses(reportsFrom)).toEqual([]);

      // The PAL is free again: the new instance's own test goes through.
      const { response } = await b.ping({ dest: "::1", count: 1, delay: 1 }, 10_000);
      expect(response).toMatchObject({ sent: 1, received: 1 });
    });
  },
});
