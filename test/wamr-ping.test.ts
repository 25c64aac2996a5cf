// PingRequest (TLV 30) on the POSIX WAMR host: csmp-agent pings for real
// with ICMPv6 echoes from its event loop (pal/posix/ping.c over
// pal/common/icmp6_echo.c), and the PingResponse (TLV 31) reaches the
// simulated NMS by the agent's NON POST and answers a GET. The cases every
// pinging host passes are test/support/ping-suite.ts; here, what a reboot
// does to a running test on this host: it is dropped with the agent.
import { expect, it } from "vitest";
import { buildCHost, CSMP_AGENT } from "./support/c-host.ts";
import { definePingSuite } from "./support/ping-suite.ts";

definePingSuite({
  title: "csmp-agent pings for real (ICMPv6 echo)",
  build: () => buildCHost("the C host", "build-pal.mjs"),
  binary: CSMP_AGENT, what: "csmp-agent", started: /host: agent started/, eui64: "00173BAB0F1E2D3C",
  sigtermExit: 0,
  cases: (bench) => {
    it("drops a running ping when the agent reboots: the new instance never asked for it", async () => {
      const b = bench();
      const { logFrom, reportsFrom } = await b.rebootDuringPing();
      await b.until("the reboot", () => /host: rebooting the agent/.test(b.log(logFrom)), 5_000);
      expect(b.log(logFrom)).toMatch(/ping: ping to ::1 abandoned after [1-4] of 5 echoes/);
      // Past the moment the ping would have ended (4 s after it started): no result, no report of one.
      await new Promise((res) => setTimeout(res, 2_500));
      expect(b.log(logFrom)).not.toMatch(/ping: ::1: \d sent/);
      expect(b.responses(reportsFrom)).toEqual([]);
      expect(b.log(logFrom)).toMatch(/host: agent started/);
    });
  },
});
