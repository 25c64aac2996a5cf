// The FreeRTOS PAL import by import, on the real kernel's POSIX port: a small
// probe module (WAT, assembled by binaryen) with the agent's exports turns
// one-letter datagrams into PAL calls and answers with the results. Checks
// what is FreeRTOS's own here: software timers (re-arm, cancel, 0 ms, many at
// once), mbedTLS on its static heap, storage and slots through the vendor
// hooks, and restarts of the agent task's instance after a trap, a fatal and
// a reboot.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import * as dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const simBin = join(root, "pal", "freertos", "out", "csmp-agent-freertos");

// Memory: 16 "boots", 32 "k1", 40 "../x", 48 fatal text, 1024 config,
// 2048 rx, 4096 addresses, 8192 reply. Replies start with the command letter.
const PROBE_WAT = String.raw`
(module
  (import "pal" "fatal" (func $fatal (param i32 i32 i32 i32)))
  (import "pal" "udp_send" (func $send (param i32 i32 i32 i32) (result i32)))
  (import "pal" "timer_arm" (func $arm (param i32 i32)))
  (import "pal" "timer_cancel" (func $cancel (param i32)))
  (import "pal" "clock_ms" (func $clock (result i64)))
  (import "pal" "store_read" (func $sread (param i32 i32 i32 i32) (result i32)))
  (import "pal" "store_write" (func $swrite (param i32 i32 i32 i32) (result i32)))
  (import "pal" "slot_size" (func $ssize (param i32) (result i32)))
  (import "pal" "slot_write" (func $slwrite (param i32 i32 i32 i32) (result i32)))
  (import "pal" "slot_read" (func $slread (param i32 i32 i32 i32) (result i32)))
  (import "pal" "reboot" (func $reboot (param i32)))
  (import "pal" "sha256_start" (func $shastart))
  (import "pal" "sha256_update" (func $shaupdate (param i32 i32)))
  (import "pal" "sha256_finish" (func $shafinish (param i32)))
  (import "pal" "ecdsa_p256_verify" (func $verify (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 16) "boots")
  (data (i32.const 32) "k1")
  (data (i32.const 40) "../x")
  (data (i32.const 48) "probe fatal")
  (global $port (mut i32) (i32.const 0))
  (global $boots (mut i32) (i32.const 0))
  (func (export "agent_config_buf") (result i32) (i32.const 1024))
  (func (export "agent_config_cap") (result i32) (i32.const 512))
  (func (export "agent_rx_buf") (result i32) (i32.const 2048))
  (func (export "agent_rx_cap") (result i32) (i32.const 1280))
  (func (export "agent_addr_buf") (result i32) (i32.const 4096))
  ;; Counts boots in a record, so restarts over the same storage show.
  (func (export "agent_init") (param $len i32) (result i32)
    (if (i32.ne (call $sread (i32.const 16) (i32.const 5) (i32.const 128) (i32.const 4)) (i32.const 4))
      (then (i32.store (i32.const 128) (i32.const 0))))
    (global.set $boots (i32.add (i32.load (i32.const 128)) (i32.const 1)))
    (i32.store (i32.const 128) (global.get $boots))
    (drop (call $swrite (i32.const 16) (i32.const 5) (i32.const 128) (i32.const 4)))
    (i32.const 0))
  (func $reply (param $len i32)
    (drop (call $send (i32.const 4096) (global.get $port) (i32.const 8192) (local.get $len))))
  (func $reply_i32 (param $cmd i32) (param $v i32)
    (i32.store8 (i32.const 8192) (local.get $cmd))
    (i32.store (i32.const 8193) (local.get $v))
    (call $reply (i32.const 5)))
  ;; An expiry answers [T, id, clock_ms].
  (func (export "agent_timer") (param $id i32)
    (i32.store8 (i32.const 8192) (i32.const 0x54))
    (i32.store8 (i32.const 8193) (local.get $id))
    (i64.store (i32.const 8194) (call $clock))
    (call $reply (i32.const 10)))
  (func (export "agent_datagram") (param $len i32) (param $sp i32) (param $dp i32)
    (local $cmd i32) (local $id i32) (local $ms i32) (local $rc i32)
    (global.set $port (local.get $sp))
    (local.set $cmd (i32.load8_u (i32.const 2048)))
    (local.set $id (i32.load8_u (i32.const 2049)))
    (local.set $ms (i32.load16_u (i32.const 2050)))
    ;; N: [N, boots]; C: [C, clock_ms]
    (if (i32.eq (local.get $cmd) (i32.const 0x4e)) (then
      (call $reply_i32 (local.get $cmd) (global.get $boots)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x43)) (then
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i64.store (i32.const 8193) (call $clock))
      (call $reply (i32.const 9)) (return)))
    ;; a id ms: arm. A id ms: arm for 5 s, then re-arm for ms. c id: cancel.
    ;; z id: arm 0 ms. x id: arm 0 ms, then cancel.
    (if (i32.eq (local.get $cmd) (i32.const 0x61)) (then (call $arm (local.get $id) (local.get $ms)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x41)) (then
      (call $arm (local.get $id) (i32.const 5000))
      (call $arm (local.get $id) (local.get $ms)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x63)) (then (call $cancel (local.get $id)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x7a)) (then (call $arm (local.get $id) (i32.const 0)) (return)))
    ;; M: all 16 timers at once, id i for 200 - 10 i ms
    (if (i32.eq (local.get $cmd) (i32.const 0x4d)) (then
      (local.set $id (i32.const 0))
      (loop $each
        (call $arm (local.get $id) (i32.sub (i32.const 200) (i32.mul (local.get $id) (i32.const 10))))
        (local.set $id (i32.add (local.get $id) (i32.const 1)))
        (br_if $each (i32.lt_u (local.get $id) (i32.const 16))))
      (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x78)) (then
      (call $arm (local.get $id) (i32.const 0))
      (call $cancel (local.get $id)) (return)))
    ;; W: store_write k1 = rest; R: [R, store_read k1 (64), data]; K: a bad key
    (if (i32.eq (local.get $cmd) (i32.const 0x57)) (then
      (call $reply_i32 (local.get $cmd)
        (call $swrite (i32.const 32) (i32.const 2) (i32.const 2049) (i32.sub (local.get $len) (i32.const 1))))
      (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x52)) (then
      (local.set $rc (call $sread (i32.const 32) (i32.const 2) (i32.const 8197) (i32.const 64)))
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i32.store (i32.const 8193) (local.get $rc))
      (call $reply (i32.add (i32.const 5) (select (local.get $rc) (i32.const 0) (i32.gt_s (local.get $rc) (i32.const 0)))))
      (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x4b)) (then
      (call $reply_i32 (local.get $cmd) (call $swrite (i32.const 40) (i32.const 4) (i32.const 2049) (i32.const 1)))
      (return)))
    ;; S: slot_write(1, 100, rest); s: [s, slot_read(1, 98, 8), bytes];
    ;; Z: [Z, slot_write(0) rc, slot_size(9), slot_write(1, size - 1, 2 bytes) rc]
    (if (i32.eq (local.get $cmd) (i32.const 0x53)) (then
      (call $reply_i32 (local.get $cmd)
        (call $slwrite (i32.const 1) (i32.const 100) (i32.const 2049) (i32.sub (local.get $len) (i32.const 1))))
      (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x73)) (then
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i32.store (i32.const 8193) (call $slread (i32.const 1) (i32.const 98) (i32.const 8197) (i32.const 8)))
      (call $reply (i32.const 13)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x5a)) (then
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i32.store (i32.const 8193) (call $slwrite (i32.const 0) (i32.const 0) (i32.const 2049) (i32.const 1)))
      (i32.store (i32.const 8197) (call $ssize (i32.const 9)))
      (i32.store (i32.const 8201) (call $slwrite (i32.const 1)
        (i32.sub (call $ssize (i32.const 1)) (i32.const 1)) (i32.const 2049) (i32.const 2)))
      (call $reply (i32.const 13)) (return)))
    ;; H: SHA-256 of the rest, in two parts; V: verify key(65) digest r s
    (if (i32.eq (local.get $cmd) (i32.const 0x48)) (then
      (call $shastart)
      (call $shaupdate (i32.const 2049) (i32.const 3))
      (call $shaupdate (i32.const 2052) (i32.sub (local.get $len) (i32.const 4)))
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (call $shafinish (i32.const 8193))
      (call $reply (i32.const 33)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x56)) (then
      (call $reply_i32 (local.get $cmd)
        (call $verify (i32.const 2049) (i32.const 2114) (i32.const 2146) (i32.const 2178)))
      (return)))
    ;; U: trap; F: fatal; B: reboot
    (if (i32.eq (local.get $cmd) (i32.const 0x55)) (then (unreachable)))
    (if (i32.eq (local.get $cmd) (i32.const 0x46)) (then
      (call $fatal (i32.const 48) (i32.const 11) (i32.const 12) (i32.const 34)) (unreachable)))
    (if (i32.eq (local.get $cmd) (i32.const 0x42)) (then (call $reboot (i32.const 7)))))
)`;

let sim: ChildProcess;
let log = "";
let port = 0;
let sock: dgram.Socket;
const inbox: Buffer[] = [];
const cleanups: (() => void)[] = [];

/** Sends a command; resolves with the first reply starting with `letter`. */
async function ask(bytes: Buffer | string, letter?: string, timeoutMs = 3000): Promise<Buffer> {
  const msg = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
  const want = (letter ?? String.fromCharCode(msg[0])).charCodeAt(0);
  sock.send(msg, port, "::1");
  return next(want, timeoutMs);
}

async function next(want: number, timeoutMs = 3000): Promise<Buffer> {
  for (let waited = 0; waited < timeoutMs; waited += 5) {
    const i = inbox.findIndex((m) => m[0] === want);
    if (i >= 0) return inbox.splice(i, 1)[0];
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no '${String.fromCharCode(want)}' reply within ${timeoutMs} ms:\n${log}`);
}

/** A command with a timer id and a 16-bit ms argument. */
const timerCmd = (c: string, id: number, ms = 0) => Buffer.from([c.charCodeAt(0), id, ms & 0xff, ms >> 8]);
const i32 = (b: Buffer) => b.readInt32LE(1);
const starts = () => (log.match(/pal: agent started/g) ?? []).length;

async function waitStarts(n: number): Promise<void> {
  for (let i = 0; i < 400 && starts() < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(starts(), log).toBeGreaterThanOrEqual(n);
}

beforeAll(async () => {
  try {
    execFileSync(process.execPath, [join(root, "scripts", "build-freertos.mjs")], { cwd: root, stdio: "pipe" });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the FreeRTOS simulator failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "csmp-freertos-pal-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const mod = binaryen.parseText(PROBE_WAT);
  if (!mod.validate()) throw new Error("probe module does not validate");
  writeFileSync(join(dir, "probe.wasm"), mod.emitBinary());
  mod.dispose();
  writeFileSync(join(dir, "probe.conf"), "probe\n");

  sim = spawn(simBin, ["--module", join(dir, "probe.wasm"), "--config", join(dir, "probe.conf"), "--bind", "::1",
    "--port", "0", "--state", join(dir, "state")], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
  sim.stderr!.on("data", (c: Buffer) => { log += c.toString("utf8"); });
  cleanups.push(() => sim.kill("SIGKILL"));
  await waitStarts(1);
  port = Number(log.match(/listening on \[::1\]:(\d+)/)![1]);
  sock = dgram.createSocket("udp6");
  sock.on("message", (m) => inbox.push(m));
  await new Promise<void>((res) => sock.bind(0, "::1", () => res()));
  cleanups.push(() => { sock.close(); });
}, 600_000);

afterAll(() => {
  while (cleanups.length) cleanups.pop()!();
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
    sock.send(timerCmd("a", 5, 80), port, "::1");
    sock.send(timerCmd("c", 5), port, "::1");
    await expect(next(0x54, 400)).rejects.toThrow(/no 'T' reply/);
    // 0 ms fires right after the call; armed-then-cancelled does not.
    expect((await ask(timerCmd("z", 6), "T"))[1]).toBe(6);
    sock.send(timerCmd("x", 7), port, "::1");
    await expect(next(0x54, 300)).rejects.toThrow(/no 'T' reply/);

    // All 16 armed in one call, fired in deadline order. (One datagram:
    // a burst beyond the PAL's 4 receive slots is dropped, as a board's
    // stack drops what it has no buffer for.)
    sock.send(Buffer.from("M"), port, "::1");
    const order: number[] = [];
    for (let n = 0; n < 16; n++) order.push((await next(0x54, 2000))[1]);
    expect(order).toEqual([...Array(16).keys()].reverse());
  });

  it("computes SHA-256 and verifies ECDSA P-256 with mbedTLS on its static heap", async () => {
    const data = Buffer.from("The quick brown fox jumps over the lazy dog");
    const digest = await ask(Buffer.concat([Buffer.from("H"), data]));
    expect(digest.subarray(1).toString("hex")).toBe(createHash("sha256").update(data).digest("hex"));

    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const pub = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
    const msg = Buffer.from("signed by the NMS");
    const sig = sign("sha256", msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const hash = createHash("sha256").update(msg).digest();
    const verify = (key: Buffer, h: Buffer, rs: Buffer) => ask(Buffer.concat([Buffer.from("V"), key, h, rs]));
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
    const z = await ask("Zq");
    expect(z.readInt32LE(1), "write slot 0").toBe(-6);
    expect(z.readInt32LE(5), "slot 9 size").toBe(-1);
    expect(z.readInt32LE(9), "write past the end").toBe(-4);
  });

  it("restarts the agent over the same storage after a trap, a fatal and a reboot", async () => {
    const before = i32(await ask("N"));
    for (const [cmd, why] of [["U", /agent trapped/], ["F", /agent fatal \(probe fatal at 12:34\)/],
      ["B", /restarting the agent \(reboot, reason 7\)/]] as const) {
      const n = starts();
      sock.send(Buffer.from(cmd), port, "::1");
      await waitStarts(n + 1);
      expect(log).toMatch(why);
    }
    expect(i32(await ask("N"))).toBe(before + 3);
  });
});
