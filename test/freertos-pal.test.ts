// The FreeRTOS PAL import by import, on the real kernel's POSIX port: the PAL
// probe (test/support/pal-probe.ts, shared with test/wamr-pal.test.ts) with
// the agent's exports turns one-letter datagrams into PAL calls and answers
// with the results. Checks
// what is FreeRTOS's own here: software timers (re-arm, cancel, 0 ms, many at
// once), mbedTLS on its static heap, storage and slots through the vendor
// hooks, the simulator's boot loader, and restarts of the agent task's
// instance after a trap, a fatal and a reboot.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createHash, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCHost, FREERTOS_SIM, startHost, stopProcess, type HostProcess } from "./support/c-host.ts";
import { i32, p256KeyPair, ProbeSocket, timerCmd, verifyCmd, writeProbe } from "./support/pal-probe.ts";

let sim: HostProcess;
let probe: ProbeSocket;
let state = "";
const cleanups: (() => void | Promise<unknown>)[] = [];

const log = () => sim.log();
/** Sends a command; resolves with the first reply starting with `letter`. */
const ask = (bytes: Buffer | string, letter?: string, timeoutMs?: number) => probe.ask(bytes, letter, timeoutMs);
const next = (letter: string, timeoutMs?: number) => probe.next(letter, timeoutMs);
const starts = () => (log().match(/pal: agent started/g) ?? []).length;

async function waitStarts(n: number): Promise<void> {
  for (let i = 0; i < 400 && starts() < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(starts(), log()).toBeGreaterThanOrEqual(n);
}

beforeAll(async () => {
  buildCHost("the FreeRTOS simulator", "build-freertos.mjs");
  const dir = mkdtempSync(join(tmpdir(), "csmp-freertos-pal-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const module = writeProbe(dir);
  writeFileSync(join(dir, "probe.conf"), "probe\n");
  state = join(dir, "state");
  sim = await startHost(FREERTOS_SIM, ["--module", module, "--config", join(dir, "probe.conf"), "--bind", "::1",
    "--port", "0", "--state", state], { started: /pal: agent started/, what: "the simulator", timeoutMs: 4_000 });
  cleanups.push(() => stopProcess(sim.proc, sim.exited));
  probe = await ProbeSocket.open(sim.port, log);
  cleanups.push(() => probe.close());
}, 600_000);

afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe("FreeRTOS PAL, import by import (POSIX port)", () => {
  it("fires FreeRTOS software timers on time, re-armed, cancelled and at 0 ms", async () => {
    const t0 = (await ask("C")).readBigInt64LE(1);
    const fired = await ask(timerCmd("a", 3, 120), "T");
    expect(fired[1]).toBe(3);
    const elapsed = Number(fired.readBigInt64LE(2) - t0);
    expect(elapsed).toBeGreaterThanOrEqual(120);
    expect(elapsed).toBeLessThan(1000);

    // Re-armed: the first arming (5 s) must not fire, the second does.
    const rearmed = await ask(timerCmd("A", 4, 50), "T");
    expect(rearmed[1]).toBe(4);
    // Cancelled: nothing arrives.
    probe.send(timerCmd("a", 5, 80));
    probe.send(timerCmd("d", 5));
    await expect(next("T", 400)).rejects.toThrow(/no 'T' reply/);
    // 0 ms fires right after the call; armed-then-cancelled does not.
    expect((await ask(timerCmd("z", 6), "T"))[1]).toBe(6);
    probe.send(timerCmd("x", 7));
    await expect(next("T", 300)).rejects.toThrow(/no 'T' reply/);

    // All 16 armed in one call, fired in deadline order. (One datagram:
    // a burst beyond the PAL's 4 receive slots is dropped, as a board's
    // stack drops what it has no buffer for.)
    probe.send("M");
    const order: number[] = [];
    for (let n = 0; n < 16; n++) order.push((await next("T", 2000))[1]);
    expect(order).toEqual([...Array(16).keys()].reverse());
  });

  it("computes SHA-256 and verifies ECDSA P-256 with mbedTLS on its static heap", async () => {
    const data = Buffer.from("The quick brown fox jumps over the lazy dog");
    const digest = await ask(Buffer.concat([Buffer.from("H"), data]));
    expect(digest.subarray(1).toString("hex")).toBe(createHash("sha256").update(data).digest("hex"));

    const { privateKey, key: pub } = p256KeyPair();
    const msg = Buffer.from("signed by the NMS");
    const sig = sign("sha256", msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const hash = createHash("sha256").update(msg).digest();
    const verify = (key: Buffer, h: Buffer, rs: Buffer) => ask(verifyCmd(key, h, rs));
    expect(i32(await verify(pub, hash, sig))).toBe(1);
    const bad = Buffer.from(sig);
    bad[40] ^= 1;
    expect(i32(await verify(pub, hash, bad))).toBe(0);
    const offCurve = Buffer.from(pub);
    offCurve[64] ^= 1;
    expect(i32(await verify(offCurve, hash, sig))).toBe(-1);
    // Again: the static heap was given back.
    for (let i = 0; i < 5; i++) expect(i32(await verify(pub, hash, sig))).toBe(1);
  });

  it("stores records through the vendor hooks and refuses bad keys", async () => {
    expect(i32(await ask("R"))).toBe(-1);
    expect(i32(await ask("Whello"))).toBe(0);
    const r = await ask("R");
    expect(i32(r)).toBe(5);
    expect(r.subarray(5).toString()).toBe("hello");
    expect(i32(await ask("K"))).toBe(-2);
  });

  it("keeps firmware slots: erased bytes read 0xFF, slot 0 and the end are guarded", async () => {
    expect(i32(await ask("Sabcd"))).toBe(0);
    const s = await ask("s");
    expect(i32(s)).toBe(8);
    expect([...s.subarray(5)]).toEqual([0xff, 0xff, 0x61, 0x62, 0x63, 0x64, 0xff, 0xff]);
    const z = await ask("Yq");
    expect(z.readInt32LE(1), "write slot 0").toBe(-6);
    expect(z.readInt32LE(5), "slot 9 size").toBe(-1);
    expect(z.readInt32LE(9), "write past the end").toBe(-4);
  });

  it("swaps an activated slot in at the reboot, in the POSIX host's boot.json", async () => {
    const z = await ask("Z");
    expect(z.readInt32LE(1), "slot 0 size").toBe(512 * 1024);
    expect(z.readInt32LE(17), "activate slot 2").toBe(0);
    expect(readFileSync(join(state, "boot.json"), "utf8")).toBe('{"next":2,"map":[0,1,2]}\n');
    // The simulator's reboot hook runs the boot loader, as a reset would.
    const n = starts();
    probe.send("B");
    await waitStarts(n + 1);
    expect(log()).toMatch(/slots: boot loader: slot 2 is now the running image/);
    expect(readFileSync(join(state, "boot.json"), "utf8")).toBe('{"next":null,"map":[2,1,0]}\n');
  });

  it("restarts the agent over the same storage after a trap, a fatal and a reboot", async () => {
    const before = i32(await ask("N"));
    for (const [cmd, why] of [["U", /agent trapped/], ["F", /agent fatal \(probe fatal at 12:34\)/],
      ["B", /restarting the agent \(reboot, reason 7\)/]] as const) {
      const n = starts();
      probe.send(cmd);
      await waitStarts(n + 1);
      expect(log()).toMatch(why);
    }
    expect(i32(await ask("N"))).toBe(before + 3);
  });
});
