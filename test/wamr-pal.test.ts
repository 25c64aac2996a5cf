// The C PAL under csmp-agent, import by import. Instead of the real agent it
// runs the PAL probe (test/support/pal-probe.ts, shared with the FreeRTOS
// PAL's test) with the same exports: each datagram is a one-letter command
// that calls PAL imports and answers with their results, so storage, slots,
// timers, clocks, crypto, reboot, fatal and traps are checked through the
// real process and socket.
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { createHash, sign } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCHost, CSMP_AGENT, startHost, stopProcess, type HostProcess } from "./support/c-host.ts";
import { i32, p256KeyPair, ProbeSocket, timerCmd, verifyCmd, writeProbe } from "./support/pal-probe.ts";

const tempDirs: string[] = [];
let probePath = "";

interface Probe extends HostProcess {
  sock: ProbeSocket;
  stopped?: boolean;
  /** Sends a command and waits for the first reply starting with `expect` (default: the command letter). */
  ask(bytes: Uint8Array | string, expect?: string, timeoutMs?: number): Promise<Buffer>;
  /** Waits until the log shows `count` agent starts. */
  started(count: number): Promise<void>;
}
const probes: Probe[] = [];

async function startProbe(extra: string[] = []): Promise<Probe> {
  const state = mkdtempSync(join(tmpdir(), "csmp-pal-"));
  tempDirs.push(state);
  const host = await startHost(CSMP_AGENT, ["--module", probePath, "--eui64", "0011223344556677", "--bind", "::1",
    "--port", "0", "--state", state, "--slot-sizes", "4096,1024,2048", ...extra],
  { started: /host: agent started/, what: "csmp-agent", timeoutMs: 5_000 });
  const sock = await ProbeSocket.open(host.port, host.log);
  const probe: Probe = {
    ...host, sock,
    ask: (bytes, expectLetter, timeoutMs) => sock.ask(bytes, expectLetter, timeoutMs),
    async started(count) {
      for (let i = 0; i < 200; i++) {
        if ((host.log().match(/host: agent started/g) ?? []).length >= count) return;
        if (host.proc.exitCode !== null) throw new Error(`csmp-agent exited (${host.proc.exitCode}) waiting for ${count} starts:\n${host.log()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`timed out waiting for ${count} starts:\n${host.log()}`);
    },
  };
  probes.push(probe);
  return probe;
}

async function stop(p: Probe): Promise<number | string> {
  if (!p.stopped) p.sock.close();
  p.stopped = true;
  return stopProcess(p.proc, p.exited);
}

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "csmp-probe-"));
  tempDirs.push(dir);
  probePath = writeProbe(dir);
  buildCHost("the C host", "build-pal.mjs");
}, 600_000);

afterEach(async () => {
  while (probes.length) await stop(probes.pop()!);
});

describe("C PAL through csmp-agent", () => {
  it("passes the configuration and delivers datagrams with both addresses", async () => {
    const p = await startProbe();
    expect(p.log()).toMatch(/agent: .*eui64=0011223344556677/);
    const echo = p.ask("Ehello");
    expect((await echo).toString("latin1")).toBe("Ehello");
    const addrs = await p.ask("Eagain", "\0"); // the address block starts with ::1's zero bytes
    expect(addrs.length).toBe(32);
    const loopback = Buffer.alloc(16); loopback[15] = 1;
    expect(addrs.subarray(0, 16).equals(loopback), "source ::1").toBe(true);
    expect(addrs.subarray(16, 32).equals(loopback), "destination ::1 (IPV6_PKTINFO)").toBe(true);
  });

  it("stores records durably, atomically named, and refuses bad keys", async () => {
    const p = await startProbe();
    expect(i32(await p.ask("R"))).toBe(-1); // no such record yet
    expect(i32(await p.ask("Wfirst value"))).toBe(0);
    const r = await p.ask("R");
    expect(i32(r)).toBe(11);
    expect(r.subarray(5).toString()).toBe("first value");
    expect(i32(await p.ask("Kx"))).toBe(-2);
    const state = p.proc.spawnargs[p.proc.spawnargs.indexOf("--state") + 1];
    expect(readFileSync(join(state, "records", "k1.rec"), "utf8")).toBe("first value");
    expect(existsSync(join(state, "records", "k1.rec.tmp"))).toBe(false);
    expect(i32(await p.ask("X"))).toBe(0);
    expect(i32(await p.ask("X"))).toBe(0); // erasing a missing record is fine
    expect(i32(await p.ask("R"))).toBe(-1);
  });

  it("keeps firmware slots with flash semantics", async () => {
    const p = await startProbe();
    expect(i32(await p.ask("Sabc"))).toBe(0);
    const s = await p.ask("s");
    expect(i32(s)).toBe(8);
    expect([...s.subarray(5)]).toEqual([0xff, 0xff, 0x61, 0x62, 0x63, 0xff, 0xff, 0xff]);
    expect(i32(await p.ask(Buffer.concat([Buffer.from("S"), Buffer.alloc(1000)])))).toBe(-4); // past 1024
    const z = await p.ask("Z");
    expect(i32(z, 1), "slot 0 size").toBe(4096);
    expect(i32(z, 5), "write to the running slot").toBe(-6);
    expect(i32(z, 9), "no slot 9").toBe(-1);
    expect(i32(z, 13), "erase slot 1").toBe(0);
    expect(i32(z, 17), "activate slot 2").toBe(0);
    const state = p.proc.spawnargs[p.proc.spawnargs.indexOf("--state") + 1];
    expect(readFileSync(join(state, "boot.json"), "utf8")).toBe('{"next":2,"map":[0,1,2]}\n');
    const after = await p.ask("s");
    expect([...after.subarray(5)]).toEqual(Array(8).fill(0xff)); // erased

    // The boot loader swaps the activated slot in when the agent reboots.
    p.sock.send("B");
    await p.started(2);
    expect(p.log()).toMatch(/boot loader: slot 2 is now the running image/);
    expect(readFileSync(join(state, "boot.json"), "utf8")).toBe('{"next":null,"map":[2,1,0]}\n');
  });

  it("computes SHA-256 and verifies ECDSA P-256 signatures", async () => {
    const p = await startProbe();
    const data = Buffer.from("The quick brown fox jumps over the lazy dog");
    const h = await p.ask(Buffer.concat([Buffer.from("H"), data]));
    expect(h.subarray(1).toString("hex")).toBe(createHash("sha256").update(data).digest("hex"));

    const { privateKey, key } = p256KeyPair();
    const digest = createHash("sha256").update(data).digest();
    const sig = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const verify = async (k: Buffer, d: Buffer, rs: Buffer) => i32(await p.ask(verifyCmd(k, d, rs)));
    expect(await verify(key, digest, sig)).toBe(1);
    const tampered = Buffer.from(sig); tampered[40] ^= 1;
    expect(await verify(key, digest, tampered)).toBe(0);
    expect(await verify(key, Buffer.alloc(32), sig)).toBe(0);
    const offCurve = Buffer.from(key); offCurve[64] ^= 1;
    expect(await verify(offCurve, digest, sig)).toBeLessThan(0);
  });

  it("fires timers, keeps a monotonic clock and an untrusted wall clock until set", async () => {
    const p = await startProbe();
    const t0 = Date.now();
    const fired = await p.ask(timerCmd("a", 3, 50), "T"); // timer 3 in 50 ms
    expect(fired[1]).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    // Armed with 0 ms and cancelled in the same call: must never fire.
    await expect(p.ask(timerCmd("x", 4), "T", 300)).rejects.toThrow(/no reply/);
    const c = await p.ask("C");
    expect(c.readBigInt64LE(1)).toBeGreaterThan(0n);
    expect(c.readBigInt64LE(9)).toBe(-1n);
    const set = await p.ask("c");
    expect(Number(set.readBigInt64LE(9))).toBeGreaterThanOrEqual(1700000000);
    expect(Number(set.readBigInt64LE(9))).toBeLessThan(1700000005);
    const g1 = await p.ask("G"), g2 = await p.ask("G");
    expect(g1.equals(g2)).toBe(false);
  });

  it("trusts the system clock when told to", async () => {
    const p = await startProbe(["--trust-system-time"]);
    const wall = Number((await p.ask("C")).readBigInt64LE(9));
    expect(Math.abs(wall - Date.now() / 1000)).toBeLessThan(5);
  });

  it("joins and leaves multicast groups", async () => {
    const p = await startProbe();
    const m = await p.ask("J");
    expect([i32(m, 1), i32(m, 5)]).toEqual([0, 0]);
  });

  it("restarts the agent over the same storage after reboot, fatal, trap and a wild pointer", async () => {
    const p = await startProbe();
    expect(i32(await p.ask("N"))).toBe(1);
    expect(i32(await p.ask("Wsurvives"))).toBe(0);

    p.sock.send("B");
    await p.started(2);
    expect(p.log()).toMatch(/rebooting the agent \(reason 7\)/);
    expect(i32(await p.ask("N"))).toBe(2);
    expect((await p.ask("R")).subarray(5).toString()).toBe("survives");

    p.sock.send("F");
    await p.started(3);
    expect(p.log()).toMatch(/agent fatal: probe fatal \(line 12, column 34\)/);

    p.sock.send("U");
    await p.started(4);
    expect(p.log()).toMatch(/agent trapped \(agent_datagram: Exception: unreachable\)/);

    p.sock.send("P");
    await p.started(5);
    expect(p.log()).toMatch(/agent trapped \(agent_datagram: Exception: out of bounds memory access\)/);
    expect(i32(await p.ask("N"))).toBe(5);
    expect(await stop(p)).toBe(0);
  });

  it("gives up with exit 5 when the agent keeps failing", async () => {
    const p = await startProbe();
    for (let i = 0; i < 5; i++) {
      p.sock.send("F");
      await p.started(i + 2);
    }
    p.sock.send("F");
    expect(await p.exited).toBe(5);
    expect(p.log()).toMatch(/giving up/);
  });
});

afterAll(() => {
  while (tempDirs.length) rmSync(tempDirs.pop()!, { recursive: true, force: true });
});
