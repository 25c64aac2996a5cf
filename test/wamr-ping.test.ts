// PingRequest (TLV 30) on the POSIX WAMR host: csmp-agent pings for real
// with ICMPv6 echoes from its event loop (pal/posix/ping.c over
// pal/common/icmp6_echo.c), and the PingResponse (TLV 31) reaches the
// simulated NMS by the agent's NON POST and answers a GET. The cases every
// pinging host passes are test/support/ping-suite.ts; here, what a reboot
// does to a running test on this host (it is dropped with the agent), and
// what the host does without CAP_NET_RAW.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { codeText } from "../host/nms/coap.ts";
import { buildCHost, CSMP_AGENT } from "./support/c-host.ts";
import { startPingBench } from "./support/ping-bench.ts";
import { definePingSuite } from "./support/ping-suite.ts";

/** Whether this process's gid may open ICMPv6 datagram sockets (net.ipv4.ping_group_range). */
function gidMayPingUnprivileged(): boolean {
  const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ping_group_range", "utf8").trim().split(/\s+/).map(Number);
  const gid = process.getgid!();
  return gid >= lo && gid <= hi;
}

/** setpriv (util-linux) runs the host without CAP_NET_RAW; dropping a capability needs root (CAP_SETPCAP). */
const WITHOUT_NET_RAW = ["setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--ambient-caps", "-net_raw", "--"];
const canDropNetRaw = spawnSync(WITHOUT_NET_RAW[0], [...WITHOUT_NET_RAW.slice(1), "true"]).status === 0;

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

    // Without root the ping tests above already run unprivileged or not at all; as root (CI) this
    // is the way to reach the datagram socket or the "cannot ping" path.
    (canDropNetRaw ? it : it.skip)("without CAP_NET_RAW: a datagram socket if this gid may have one, else a clear refusal and the device carries on", async () => {
      const b = await startPingBench({
        binary: CSMP_AGENT, what: "csmp-agent without CAP_NET_RAW", started: /host: agent started/, eui64: "00173BAB0F1E2D3D", wrapper: WITHOUT_NET_RAW,
      });
      try {
        if (gidMayPingUnprivileged()) {
          const { response } = await b.ping({ dest: "::1", count: 1, delay: 1 }, 10_000);
          expect(response).toMatchObject({ sent: 1, received: 1 });
          expect(b.log()).toMatch(/pinging over an ICMPv6 datagram \(unprivileged\) socket/);
          return;
        }
        const r = await b.nms.post(b.target(), [{ type: "PingRequest", value: { dest: "::1", count: 1, delay: 1 } }]);
        expect(codeText(r.code!), "the PingRequest is still answered").toBe("2.01");
        await b.until("the agent's refusal", () => /ping could not be started/.test(b.log()), 5_000, true);
        expect(b.log()).toMatch(/ping unsupported: ICMPv6 datagram socket: .*raw ICMPv6 socket: .*CAP_NET_RAW/);
        expect(b.log()).toMatch(/ping could not be started/);
        // The device carries on: it answers a GET.
        const get = await b.nms.get(b.target(), [2]);
        expect(codeText(get.code!)).toBe("2.05");
      } finally {
        expect(await b.close()).toBe(0);
      }
    });
  },
});
