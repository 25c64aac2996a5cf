// The C PAL under csmp-agent, import by import. Instead of the real agent it
// runs a small probe module (WAT below, assembled with binaryen) with the same
// exports: each datagram is a one-letter command that calls PAL imports and
// answers with their results, so storage, slots, timers, clocks, crypto,
// reboot, fatal and traps are checked through the real process and socket.
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import * as dgram from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const agentBin = join(root, "pal", "out", "csmp-agent");

// Memory map: 16 "boots" key, 32 "k1" key, 40 "../x" key, 48 fatal text,
// 64 multicast group, 1024 config (512), 2048 rx (1280), 4096 addresses (32),
// 8192 reply buffer. Replies start with the command letter.
const PROBE_WAT = String.raw`
(module
  (import "pal" "log" (func $log (param i32 i32 i32)))
  (import "pal" "fatal" (func $fatal (param i32 i32 i32 i32)))
  (import "pal" "udp_send" (func $send (param i32 i32 i32 i32) (result i32)))
  (import "pal" "udp_multicast" (func $mcast (param i32 i32) (result i32)))
  (import "pal" "timer_arm" (func $arm (param i32 i32)))
  (import "pal" "timer_cancel" (func $cancel (param i32)))
  (import "pal" "clock_ms" (func $clock (result i64)))
  (import "pal" "wall_time" (func $wall (result i64)))
  (import "pal" "wall_time_set" (func $wallset (param i64) (result i32)))
  (import "pal" "random" (func $random (param i32 i32)))
  (import "pal" "store_read" (func $sread (param i32 i32 i32 i32) (result i32)))
  (import "pal" "store_write" (func $swrite (param i32 i32 i32 i32) (result i32)))
  (import "pal" "store_erase" (func $serase (param i32 i32) (result i32)))
  (import "pal" "slot_size" (func $ssize (param i32) (result i32)))
  (import "pal" "slot_erase" (func $slerase (param i32) (result i32)))
  (import "pal" "slot_write" (func $slwrite (param i32 i32 i32 i32) (result i32)))
  (import "pal" "slot_read" (func $slread (param i32 i32 i32 i32) (result i32)))
  (import "pal" "slot_activate" (func $slact (param i32) (result i32)))
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
  (data (i32.const 64) "\ff\02\00\00\00\00\00\00\00\00\00\01\ff\00\00\01")
  (global $port (mut i32) (i32.const 0))
  (global $boots (mut i32) (i32.const 0))
  (func (export "agent_config_buf") (result i32) (i32.const 1024))
  (func (export "agent_config_cap") (result i32) (i32.const 512))
  (func (export "agent_rx_buf") (result i32) (i32.const 2048))
  (func (export "agent_rx_cap") (result i32) (i32.const 1280))
  (func (export "agent_addr_buf") (result i32) (i32.const 4096))
  (func (export "agent_init") (param $len i32) (result i32)
    (if (i32.ne (call $sread (i32.const 16) (i32.const 5) (i32.const 128) (i32.const 4)) (i32.const 4))
      (then (i32.store (i32.const 128) (i32.const 0))))
    (global.set $boots (i32.add (i32.load (i32.const 128)) (i32.const 1)))
    (i32.store (i32.const 128) (global.get $boots))
    (drop (call $swrite (i32.const 16) (i32.const 5) (i32.const 128) (i32.const 4)))
    (call $log (i32.const 2) (i32.const 1024) (local.get $len))
    (i32.const 0))
  (func $reply (param $len i32)
    (drop (call $send (i32.const 4096) (global.get $port) (i32.const 8192) (local.get $len))))
  (func $reply_i32 (param $cmd i32) (param $v i32)
    (i32.store8 (i32.const 8192) (local.get $cmd))
    (i32.store (i32.const 8193) (local.get $v))
    (call $reply (i32.const 5)))
  (func (export "agent_timer") (param $id i32)
    (i32.store8 (i32.const 8192) (i32.const 0x54))
    (i32.store8 (i32.const 8193) (local.get $id))
    (call $reply (i32.const 2)))
  (func (export "agent_datagram") (param $len i32) (param $sp i32) (param $dp i32)
    (local $cmd i32) (local $rc i32)
    (global.set $port (local.get $sp))
    (local.set $cmd (i32.load8_u (i32.const 2048)))
    ;; N: boot count
    (if (i32.eq (local.get $cmd) (i32.const 0x4e)) (then
      (call $reply_i32 (local.get $cmd) (global.get $boots)) (return)))
    ;; E: echo the datagram, then the 32-byte source|destination address block
    (if (i32.eq (local.get $cmd) (i32.const 0x45)) (then
      (drop (call $send (i32.const 4096) (local.get $sp) (i32.const 2048) (local.get $len)))
      (drop (call $send (i32.const 4096) (local.get $sp) (i32.const 4096) (i32.const 32)))
      (return)))
    ;; W: store_write k1 = rest
    (if (i32.eq (local.get $cmd) (i32.const 0x57)) (then
      (call $reply_i32 (local.get $cmd)
        (call $swrite (i32.const 32) (i32.const 2) (i32.const 2049) (i32.sub (local.get $len) (i32.const 1))))
      (return)))
    ;; R: store_read k1 into 64 bytes: [R, rc, data]
    (if (i32.eq (local.get $cmd) (i32.const 0x52)) (then
      (local.set $rc (call $sread (i32.const 32) (i32.const 2) (i32.const 8197) (i32.const 64)))
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i32.store (i32.const 8193) (local.get $rc))
      (call $reply (select (i32.add (i32.const 5) (select (local.get $rc) (i32.const 64) (i32.lt_s (local.get $rc) (i32.const 64))))
                           (i32.const 5) (i32.gt_s (local.get $rc) (i32.const 0))))
      (return)))
    ;; X: store_erase k1
    (if (i32.eq (local.get $cmd) (i32.const 0x58)) (then
      (call $reply_i32 (local.get $cmd) (call $serase (i32.const 32) (i32.const 2))) (return)))
    ;; K: a key that would escape the record directory
    (if (i32.eq (local.get $cmd) (i32.const 0x4b)) (then
      (call $reply_i32 (local.get $cmd) (call $swrite (i32.const 40) (i32.const 4) (i32.const 2049) (i32.const 1)))
      (return)))
    ;; S: slot_write(1, 100, rest)
    (if (i32.eq (local.get $cmd) (i32.const 0x53)) (then
      (call $reply_i32 (local.get $cmd)
        (call $slwrite (i32.const 1) (i32.const 100) (i32.const 2049) (i32.sub (local.get $len) (i32.const 1))))
      (return)))
    ;; s: slot_read(1, 98, 8 bytes): [s, rc, bytes]
    (if (i32.eq (local.get $cmd) (i32.const 0x73)) (then
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i32.store (i32.const 8193) (call $slread (i32.const 1) (i32.const 98) (i32.const 8197) (i32.const 8)))
      (call $reply (i32.const 13)) (return)))
    ;; Z: [Z, slot_size(0), slot_write(0) rc, slot_size(9), slot_erase(1), slot_activate(2)]
    (if (i32.eq (local.get $cmd) (i32.const 0x5a)) (then
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i32.store (i32.const 8193) (call $ssize (i32.const 0)))
      (i32.store (i32.const 8197) (call $slwrite (i32.const 0) (i32.const 0) (i32.const 2049) (i32.const 1)))
      (i32.store (i32.const 8201) (call $ssize (i32.const 9)))
      (i32.store (i32.const 8205) (call $slerase (i32.const 1)))
      (i32.store (i32.const 8209) (call $slact (i32.const 2)))
      (call $reply (i32.const 21)) (return)))
    ;; H: SHA-256 of the rest, fed in two parts
    (if (i32.eq (local.get $cmd) (i32.const 0x48)) (then
      (call $shastart)
      (call $shaupdate (i32.const 2049) (i32.const 3))
      (call $shaupdate (i32.const 2052) (i32.sub (local.get $len) (i32.const 4)))
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (call $shafinish (i32.const 8193))
      (call $reply (i32.const 33)) (return)))
    ;; V: verify key(65) digest(32) r(32) s(32)
    (if (i32.eq (local.get $cmd) (i32.const 0x56)) (then
      (call $reply_i32 (local.get $cmd)
        (call $verify (i32.const 2049) (i32.const 2114) (i32.const 2146) (i32.const 2178)))
      (return)))
    ;; T: arm timer rx[1] for rx[2] * 10 ms; t: arm then cancel it
    (if (i32.eq (local.get $cmd) (i32.const 0x54)) (then
      (call $arm (i32.load8_u (i32.const 2049)) (i32.mul (i32.load8_u (i32.const 2050)) (i32.const 10)))
      (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x74)) (then
      (call $arm (i32.load8_u (i32.const 2049)) (i32.const 0))
      (call $cancel (i32.load8_u (i32.const 2049)))
      (return)))
    ;; C: [C, clock_ms, wall_time]; c: wall_time_set(1700000000) first
    (if (i32.eq (local.get $cmd) (i32.const 0x63)) (then
      (drop (call $wallset (i64.const 1700000000)))))
    (if (i32.or (i32.eq (local.get $cmd) (i32.const 0x43)) (i32.eq (local.get $cmd) (i32.const 0x63))) (then
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i64.store (i32.const 8193) (call $clock))
      (i64.store (i32.const 8201) (call $wall))
      (call $reply (i32.const 17)) (return)))
    ;; G: 16 random bytes
    (if (i32.eq (local.get $cmd) (i32.const 0x47)) (then
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (call $random (i32.const 8193) (i32.const 16))
      (call $reply (i32.const 17)) (return)))
    ;; M: join and leave ff02::1:ff00:1
    (if (i32.eq (local.get $cmd) (i32.const 0x4d)) (then
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i32.store (i32.const 8193) (call $mcast (i32.const 64) (i32.const 1)))
      (i32.store (i32.const 8197) (call $mcast (i32.const 64) (i32.const 0)))
      (call $reply (i32.const 9)) (return)))
    ;; B: reboot; F: fatal; U: trap; P: a wild pointer
    (if (i32.eq (local.get $cmd) (i32.const 0x42)) (then (call $reboot (i32.const 7)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x46)) (then
      (call $fatal (i32.const 48) (i32.const 11) (i32.const 12) (i32.const 34)) (unreachable)))
    (if (i32.eq (local.get $cmd) (i32.const 0x55)) (then (unreachable)))
    (if (i32.eq (local.get $cmd) (i32.const 0x50)) (then
      (drop (call $send (i32.const 65530) (local.get $sp) (i32.const 8192) (i32.const 1))))))
)`;

function assemble(wat: string): Uint8Array {
  const mod = binaryen.parseText(wat);
  try {
    if (!mod.validate()) throw new Error("probe module does not validate");
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

const tempDirs: string[] = [];
let probePath = "";

interface Probe {
  proc: ChildProcess;
  port: number;
  sock: dgram.Socket;
  log(): string;
  exited: Promise<number | string>;
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
  const proc = spawn(agentBin, ["--module", probePath, "--eui64", "0011223344556677", "--bind", "::1",
    "--port", "0", "--state", state, "--slot-sizes", "4096,1024,2048", ...extra], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (c: Buffer) => { stderr += c.toString("utf8"); });
  const exited = new Promise<number | string>((res) => proc.on("exit", (code, sig) => res(code ?? sig ?? -1)));
  const waitFor = async (test: () => boolean, what: string) => {
    for (let i = 0; i < 200; i++) {
      if (test()) return;
      if (proc.exitCode !== null) throw new Error(`csmp-agent exited (${proc.exitCode}) waiting for ${what}:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}:\n${stderr}`);
  };
  await waitFor(() => /host: agent started/.test(stderr), "start");
  const port = Number(stderr.match(/listening on \[::1\]:(\d+)/)![1]);
  const sock = dgram.createSocket("udp6");
  await new Promise<void>((res) => sock.bind(0, "::1", () => res()));
  const inbox: Buffer[] = [];
  sock.on("message", (m) => inbox.push(m));
  const probe: Probe = {
    proc, port, sock, exited, log: () => stderr,
    async ask(bytes, expectLetter, timeoutMs = 3000) {
      const msg = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes);
      const letter = (expectLetter ?? String.fromCharCode(msg[0])).charCodeAt(0);
      inbox.length = 0;
      sock.send(msg, port, "::1");
      for (let waited = 0; waited < timeoutMs; waited += 10) {
        const i = inbox.findIndex((m) => m[0] === letter);
        if (i >= 0) return inbox.splice(i, 1)[0];
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no reply to ${String.fromCharCode(msg[0])}:\n${stderr}`);
    },
    async started(count) {
      await waitFor(() => (stderr.match(/host: agent started/g) ?? []).length >= count, `${count} starts`);
    },
  };
  probes.push(probe);
  return probe;
}

async function stop(p: Probe): Promise<number | string> {
  if (!p.stopped) p.sock.close();
  p.stopped = true;
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGTERM");
  const killer = setTimeout(() => p.proc.kill("SIGKILL"), 5000);
  const code = await p.exited;
  clearTimeout(killer);
  return code;
}

const i32 = (b: Buffer, at = 1) => b.readInt32LE(at);

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "csmp-probe-"));
  tempDirs.push(dir);
  probePath = join(dir, "probe.wasm");
  writeFileSync(probePath, assemble(PROBE_WAT));
  try {
    execFileSync(process.execPath, [join(root, "scripts", "build-pal.mjs")], { cwd: root, stdio: "pipe" });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the C host failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
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
    p.sock.send(Buffer.from("B"), p.port, "::1");
    await p.started(2);
    expect(p.log()).toMatch(/boot loader: slot 2 is now the running image/);
    expect(readFileSync(join(state, "boot.json"), "utf8")).toBe('{"next":null,"map":[2,1,0]}\n');
  });

  it("computes SHA-256 and verifies ECDSA P-256 signatures", async () => {
    const p = await startProbe();
    const data = Buffer.from("The quick brown fox jumps over the lazy dog");
    const h = await p.ask(Buffer.concat([Buffer.from("H"), data]));
    expect(h.subarray(1).toString("hex")).toBe(createHash("sha256").update(data).digest("hex"));

    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const key = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
    const digest = createHash("sha256").update(data).digest();
    const sig = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const verify = async (k: Buffer, d: Buffer, rs: Buffer) => i32(await p.ask(Buffer.concat([Buffer.from("V"), k, d, rs])));
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
    const fired = await p.ask(Uint8Array.from([0x54, 3, 5]), "T"); // timer 3 in 50 ms
    expect(fired[1]).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    // Armed with 0 ms and cancelled in the same call: must never fire.
    await expect(p.ask(Uint8Array.from([0x74, 4]), "T", 300)).rejects.toThrow(/no reply/);
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
    const m = await p.ask("M");
    expect([i32(m, 1), i32(m, 5)]).toEqual([0, 0]);
  });

  it("restarts the agent over the same storage after reboot, fatal, trap and a wild pointer", async () => {
    const p = await startProbe();
    expect(i32(await p.ask("N"))).toBe(1);
    expect(i32(await p.ask("Wsurvives"))).toBe(0);

    p.sock.send(Buffer.from("B"), p.port, "::1");
    await p.started(2);
    expect(p.log()).toMatch(/rebooting the agent \(reason 7\)/);
    expect(i32(await p.ask("N"))).toBe(2);
    expect((await p.ask("R")).subarray(5).toString()).toBe("survives");

    p.sock.send(Buffer.from("F"), p.port, "::1");
    await p.started(3);
    expect(p.log()).toMatch(/agent fatal: probe fatal \(line 12, column 34\)/);

    p.sock.send(Buffer.from("U"), p.port, "::1");
    await p.started(4);
    expect(p.log()).toMatch(/agent trapped \(agent_datagram: Exception: unreachable\)/);

    p.sock.send(Buffer.from("P"), p.port, "::1");
    await p.started(5);
    expect(p.log()).toMatch(/agent trapped \(agent_datagram: Exception: out of bounds memory access\)/);
    expect(i32(await p.ask("N"))).toBe(5);
    expect(await stop(p)).toBe(0);
  });

  it("gives up with exit 5 when the agent keeps failing", async () => {
    const p = await startProbe();
    for (let i = 0; i < 5; i++) {
      p.sock.send(Buffer.from("F"), p.port, "::1");
      await p.started(i + 2);
    }
    p.sock.send(Buffer.from("F"), p.port, "::1");
    expect(await p.exited).toBe(5);
    expect(p.log()).toMatch(/giving up/);
  });
});

afterAll(() => {
  while (tempDirs.length) rmSync(tempDirs.pop()!, { recursive: true, force: true });
});
