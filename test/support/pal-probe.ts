// The PAL probe: a small module (WAT, assembled by binaryen) with the agent's
// exports that turns one-letter datagrams into PAL imports and answers with
// their results, so a test checks a C platform (csmp-agent, the FreeRTOS
// simulator) import by import through the real process and socket.
// test/wamr-pal.test.ts and test/freertos-pal.test.ts both run it.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import * as dgram from "node:dgram";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import binaryen from "binaryen";

// Memory: 16 "boots" key, 32 "k1" key, 40 "../x" key, 48 fatal text,
// 64 multicast group, 128 boot count, 1024 config (512), 2048 rx (1280),
// 4096 addresses (32), 8192 reply. Replies start with the command letter
// (timer expiries with T); rx[1] is a timer id, rx[2..3] a 16-bit ms value.
//
//   N            [N, boots]: agent_init counts boots in a record
//   E...         the datagram echoed, then the 32-byte source|destination block
//   W...         [W, store_write(k1, rest)]
//   R            [R, store_read(k1, 64 bytes), data]
//   X            [X, store_erase(k1)]
//   K            [K, store_write("../x")]: a key that would escape
//   S...         [S, slot_write(1, 100, rest)]
//   s            [s, slot_read(1, 98, 8 bytes), bytes]
//   Z            [Z, slot_size(0), slot_write(0), slot_size(9), slot_erase(1), slot_activate(2)]
//   Y.           [Y, slot_write(0), slot_size(9), slot_write(1, size - 1, 2 bytes)]
//   H...         [H, SHA-256 of rest, fed in two parts]
//   V...         [V, ecdsa_p256_verify(key 65, digest 32, r 32, s 32)]
//   a id ms      arm; A id ms: arm for 5 s, then re-arm for ms; d id: cancel;
//   z id         arm for 0 ms; x id: arm for 0 ms, then cancel
//   M            arm all 16 timers at once, id i for 200 - 10 i ms
//                (an expiry answers [T, id, clock_ms])
//   C            [C, clock_ms, wall_time]; c: wall_time_set(1700000000) first
//   G            [G, 16 random bytes]
//   J            [J, udp_multicast join, leave] of ff02::1:ff00:1
//   B reboot(7); F fatal("probe fatal", 12, 34); U trap; P a wild pointer
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
  ;; Counts boots in a record, so restarts over the same storage show, and
  ;; logs the configuration text it was given.
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
    ;; Y: [Y, slot_write(0) rc, slot_size(9), slot_write(1, size - 1, 2 bytes) rc]
    (if (i32.eq (local.get $cmd) (i32.const 0x59)) (then
      (i32.store8 (i32.const 8192) (local.get $cmd))
      (i32.store (i32.const 8193) (call $slwrite (i32.const 0) (i32.const 0) (i32.const 2049) (i32.const 1)))
      (i32.store (i32.const 8197) (call $ssize (i32.const 9)))
      (i32.store (i32.const 8201) (call $slwrite (i32.const 1)
        (i32.sub (call $ssize (i32.const 1)) (i32.const 1)) (i32.const 2049) (i32.const 2)))
      (call $reply (i32.const 13)) (return)))
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
    ;; a id ms: arm. A id ms: arm for 5 s, then re-arm for ms. d id: cancel.
    ;; z id: arm 0 ms. x id: arm 0 ms, then cancel.
    (if (i32.eq (local.get $cmd) (i32.const 0x61)) (then (call $arm (local.get $id) (local.get $ms)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x41)) (then
      (call $arm (local.get $id) (i32.const 5000))
      (call $arm (local.get $id) (local.get $ms)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x64)) (then (call $cancel (local.get $id)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x7a)) (then (call $arm (local.get $id) (i32.const 0)) (return)))
    (if (i32.eq (local.get $cmd) (i32.const 0x78)) (then
      (call $arm (local.get $id) (i32.const 0))
      (call $cancel (local.get $id)) (return)))
    ;; M: all 16 timers at once, id i for 200 - 10 i ms
    (if (i32.eq (local.get $cmd) (i32.const 0x4d)) (then
      (local.set $id (i32.const 0))
      (loop $each
        (call $arm (local.get $id) (i32.sub (i32.const 200) (i32.mul (local.get $id) (i32.const 10))))
        (local.set $id (i32.add (local.get $id) (i32.const 1)))
        (br_if $each (i32.lt_u (local.get $id) (i32.const 16))))
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
    ;; J: join and leave ff02::1:ff00:1
    (if (i32.eq (local.get $cmd) (i32.const 0x4a)) (then
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

/** Writes probe.wasm into dir and returns its path. */
export function writeProbe(dir: string): string {
  const mod = binaryen.parseText(PROBE_WAT);
  try {
    if (!mod.validate()) throw new Error("probe module does not validate");
    const path = join(dir, "probe.wasm");
    writeFileSync(path, mod.emitBinary());
    return path;
  } finally {
    mod.dispose();
  }
}

/** A command with a timer id and a 16-bit ms argument (a, A, d, z, x). */
export const timerCmd = (c: string, id: number, ms = 0): Buffer => Buffer.from([c.charCodeAt(0), id, ms & 0xff, ms >> 8]);

/** The i32 after a reply's letter (or at `at`). */
export const i32 = (b: Buffer, at = 1): number => b.readInt32LE(at);

/** A V command: verify signature rs (r | s, 64 bytes) of digest under key (65 bytes, uncompressed). */
export const verifyCmd = (key: Buffer, digest: Buffer, rs: Buffer): Buffer => Buffer.concat([Buffer.from("V"), key, digest, rs]);

/** A fresh P-256 key pair and its public key in the contract's form (0x04 | X | Y). */
export function p256KeyPair(): { privateKey: KeyObject; key: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  return { privateKey, key: Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]) };
}

/** The test's end of the probe: a UDP socket on [::1] talking to the host's port. */
export class ProbeSocket {
  private readonly inbox: Buffer[] = [];

  private constructor(private readonly sock: dgram.Socket, private readonly port: number, private readonly log: () => string) {
    sock.on("message", (m) => this.inbox.push(m));
  }

  /** log: the host's output, shown when a reply does not come. */
  static async open(port: number, log: () => string): Promise<ProbeSocket> {
    const sock = dgram.createSocket("udp6");
    await new Promise<void>((res) => sock.bind(0, "::1", () => res()));
    return new ProbeSocket(sock, port, log);
  }

  send(bytes: Uint8Array | string): void {
    this.sock.send(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes, this.port, "::1");
  }

  /**
   * Sends a command and resolves with the first reply starting with `letter`
   * (default: the command's letter); replies that came before are dropped.
   */
  async ask(bytes: Uint8Array | string, letter?: string, timeoutMs = 3000): Promise<Buffer> {
    const msg = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes);
    this.inbox.length = 0;
    this.send(msg);
    try {
      return await this.next(letter ?? String.fromCharCode(msg[0]), timeoutMs);
    } catch (e) {
      throw new Error(`no reply to '${String.fromCharCode(msg[0])}': ${(e as Error).message}`);
    }
  }

  /** The first reply starting with `letter` that came or comes within timeoutMs. */
  async next(letter: string, timeoutMs = 3000): Promise<Buffer> {
    const want = letter.charCodeAt(0);
    for (let waited = 0; waited < timeoutMs; waited += 5) {
      const i = this.inbox.findIndex((m) => m[0] === want);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`no '${letter}' reply within ${timeoutMs} ms:\n${this.log()}`);
  }

  close(): void {
    this.sock.close();
  }
}
