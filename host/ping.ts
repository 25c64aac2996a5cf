// Network tests the agent asks for (pal.ping): ICMPv6 echo for real, by the
// system's ping program on a UDP host, or across the in-process network's
// links in virtual time. Results are in ms, as PingResponse reports them.
import { execFile } from "node:child_process";
import { formatAddress, type Ipv6Bytes } from "./ipv6.ts";
import type { LoopNetwork } from "./loop-network.ts";

export interface PingResult { sent: number; received: number; minMs: number; meanMs: number; maxMs: number; stdevMs: number }

/** Runs a ping; resolves when it is over. */
export type Pinger = (from: Ipv6Bytes, dest: Ipv6Bytes, count: number, intervalMs: number) => Promise<PingResult>;

/** Summarises round-trip times (ms) of `sent` echoes. */
export function pingSummary(sent: number, rtts: number[]): PingResult {
  if (rtts.length === 0) return { sent, received: 0, minMs: 0, meanMs: 0, maxMs: 0, stdevMs: 0 };
  const mean = rtts.reduce((a, b) => a + b, 0) / rtts.length;
  const sd = Math.sqrt(rtts.reduce((a, b) => a + (b - mean) ** 2, 0) / rtts.length);
  const r = Math.round;
  return { sent, received: rtts.length, minMs: r(Math.min(...rtts)), meanMs: r(mean), maxMs: r(Math.max(...rtts)), stdevMs: r(sd) };
}

/** The system's ping (iputils: "-6 -c N -i S"); rejects when it cannot run. */
export const systemPinger: Pinger = (_from, dest, count, intervalMs) =>
  new Promise((resolve, reject) => {
    const args = ["-6", "-n", "-c", String(count), "-i", String(Math.max(intervalMs, 200) / 1000), "-W", "2", formatAddress(dest)];
    execFile("ping", args, { timeout: (count * Math.max(intervalMs, 200)) + 10_000 }, (err, stdout) => {
      const tx = /(\d+) packets transmitted, (\d+) received/.exec(stdout);
      if (!tx) { reject(new Error(`ping failed: ${err?.message ?? stdout.trim()}`)); return; }
      const rtts = [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
      resolve(pingSummary(Number(tx[1]), rtts));
    });
  });

/** Echoes across a LoopNetwork's links; time passes on the network's clock. */
export function loopPinger(net: LoopNetwork): Pinger {
  return (from, dest, count, intervalMs) => {
    const rtts: number[] = [];
    for (let i = 0; i < count; i++) {
      const rtt = net.echoRtt(from, dest);
      if (rtt !== null) rtts.push(rtt);
    }
    const lastReply = (count - 1) * intervalMs + (rtts.length ? Math.max(...rtts) : 2000);
    return new Promise((resolve) => { net.clock.schedule(lastReply, () => resolve(pingSummary(count, rtts))); });
  };
}
