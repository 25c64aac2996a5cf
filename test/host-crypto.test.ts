import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../host/clock.ts";
import { LoopNetwork } from "../host/loop-network.ts";
import { createPal } from "../host/pal.ts";
import { verifyP256Digest } from "../host/p256.ts";
import { MemoryStorage } from "../host/storage.ts";

// Agent memory layout used by these tests.
const KEY = 0, DIGEST = 100, R = 200, S = 300, DATA = 1000, OUT = 400;

function setup() {
  const clock = new VirtualClock();
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const logs: string[] = [];
  const binding = createPal({
    clock,
    storage: new MemoryStorage(),
    endpoint: new LoopNetwork({ clock }).bindSync("::1", 61628),
    log: (e) => logs.push(`${e.source}: ${e.text}`),
  });
  binding.setInstance({ memory, agent_timer: () => undefined });
  const mem = () => new Uint8Array(memory.buffer);
  return { pal: binding.imports, mem, logs };
}

/** The uncompressed point 04|X|Y of a P-256 public key, via its SubjectPublicKeyInfo. */
function rawPublicKey(key: KeyObject): Uint8Array {
  const spki = key.export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(spki.length - 65));
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, raw: rawPublicKey(publicKey) };
}

/** node:crypto hashes the data itself (SHA-256) and signs; r|s come out raw (IEEE P1363). */
function signData(privateKey: KeyObject, data: Uint8Array) {
  const sig = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
  return { r: new Uint8Array(sig.subarray(0, 32)), s: new Uint8Array(sig.subarray(32)) };
}

const sha256 = (data: Uint8Array) => new Uint8Array(createHash("sha256").update(data).digest());

describe("pal sha256_*", () => {
  it("matches node:crypto for data fed in pieces", () => {
    const { pal, mem } = setup();
    const data = randomBytes(3000);
    mem().set(data, DATA);
    pal.sha256_start();
    pal.sha256_update(DATA, 1);
    pal.sha256_update(DATA + 1, 0);
    pal.sha256_update(DATA + 1, 1499);
    pal.sha256_update(DATA + 1500, 1500);
    pal.sha256_finish(OUT);
    expect(mem().slice(OUT, OUT + 32)).toEqual(sha256(data));
  });

  it("gives the known digest of \"abc\" and of nothing", () => {
    const { pal, mem } = setup();
    mem().set(new TextEncoder().encode("abc"), DATA);
    pal.sha256_start();
    pal.sha256_update(DATA, 3);
    pal.sha256_finish(OUT);
    expect(Buffer.from(mem().slice(OUT, OUT + 32)).toString("hex"))
      .toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pal.sha256_start();
    pal.sha256_finish(OUT);
    expect(Buffer.from(mem().slice(OUT, OUT + 32)).toString("hex"))
      .toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("discards a running computation on a new start", () => {
    const { pal, mem } = setup();
    mem().set(new TextEncoder().encode("junk"), DATA);
    pal.sha256_start();
    pal.sha256_update(DATA, 4);
    pal.sha256_start();
    pal.sha256_finish(OUT);
    expect(mem().slice(OUT, OUT + 32)).toEqual(sha256(new Uint8Array()));
  });

  it("does not throw into the agent on a bad pointer", () => {
    const { pal, logs } = setup();
    pal.sha256_start();
    expect(() => pal.sha256_update(65530, 100)).not.toThrow();
    expect(() => pal.sha256_finish(65520)).not.toThrow();
    expect(logs.some((l) => l.startsWith("pal: sha256_update"))).toBe(true);
  });
});

describe("pal ecdsa_p256_verify", () => {
  function place(mem: Uint8Array, key: Uint8Array, digest: Uint8Array, r: Uint8Array, s: Uint8Array) {
    mem.set(key, KEY);
    mem.set(digest, DIGEST);
    mem.set(r, R);
    mem.set(s, S);
  }

  it("accepts signatures node:crypto made over the data, verified against its digest", () => {
    const { pal, mem } = setup();
    for (let i = 0; i < 10; i++) {
      const { privateKey, raw } = keyPair();
      const data = randomBytes(1 + i * 97);
      const { r, s } = signData(privateKey, data);
      place(mem(), raw, sha256(data), r, s);
      expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, S)).toBe(1);
    }
  });

  it("a signature over the digest-as-data does not verify against the digest (no double hashing)", () => {
    const { pal, mem } = setup();
    const { privateKey, raw } = keyPair();
    const digest = sha256(new TextEncoder().encode("payload"));
    const { r, s } = signData(privateKey, digest); // signs SHA-256(digest)
    place(mem(), raw, digest, r, s);
    expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, S)).toBe(0);
    place(mem(), raw, sha256(digest), r, s);
    expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, S)).toBe(1);
  });

  it("rejects a wrong key", () => {
    const { pal, mem } = setup();
    const signer = keyPair(), other = keyPair();
    const data = new TextEncoder().encode("TransferRequest");
    const { r, s } = signData(signer.privateKey, data);
    place(mem(), other.raw, sha256(data), r, s);
    expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, S)).toBe(0);
  });

  it("rejects a flipped bit in the digest, r or s", () => {
    const { pal, mem } = setup();
    const { privateKey, raw } = keyPair();
    const data = randomBytes(200);
    const { r, s } = signData(privateKey, data);
    const digest = sha256(data);
    for (const [which, at] of [["digest", DIGEST], ["r", R], ["s", S]] as const) {
      for (const bit of [0, 77, 255]) {
        place(mem(), raw, digest, r, s);
        mem()[at + (bit >> 3)] ^= 1 << (bit & 7);
        expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, S), `${which} bit ${bit}`).toBe(0);
      }
    }
    place(mem(), raw, digest, r, s);
    expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, S)).toBe(1);
  });

  it("returns negative for a malformed key, 0 for out-of-range r or s", () => {
    const { pal, mem } = setup();
    const { privateKey, raw } = keyPair();
    const data = randomBytes(10);
    const { r, s } = signData(privateKey, data);
    const digest = sha256(data);
    const compressedTag = raw.slice(); compressedTag[0] = 0x02;
    const offCurve = raw.slice(); offCurve[64] ^= 1;
    const bigX = raw.slice(); bigX.fill(0xff, 1, 33);
    for (const bad of [compressedTag, offCurve, bigX, new Uint8Array(65)]) {
      place(mem(), bad, digest, r, s);
      expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, S)).toBeLessThan(0);
    }
    place(mem(), raw, digest, new Uint8Array(32), s);
    expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, S)).toBe(0);
    place(mem(), raw, digest, r, new Uint8Array(32).fill(0xff)); // s >= n
    expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, S)).toBe(0);
  });

  it("returns negative for pointers outside memory instead of throwing", () => {
    const { pal } = setup();
    expect(pal.ecdsa_p256_verify(65500, DIGEST, R, S)).toBeLessThan(0);
    expect(pal.ecdsa_p256_verify(KEY, DIGEST, R, 65535)).toBeLessThan(0);
  });

  it("agrees with a fixed vector (RFC 6979 A.2.5, P-256 / SHA-256 / \"sample\")", () => {
    const hex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
    const key = hex("04" +
      "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6" +
      "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299");
    const r = hex("efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716");
    const s = hex("f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8");
    const digest = sha256(new TextEncoder().encode("sample"));
    expect(verifyP256Digest(key, digest, r, s)).toBe(1);
    expect(verifyP256Digest(key, sha256(new TextEncoder().encode("test")), r, s)).toBe(0);
  });
});
