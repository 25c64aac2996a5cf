// The firmware image tool (host/image): header values of the real files in
// shared/vectors, detection of any single changed byte, build/inspect round
// trips, vendor signatures (checked by the tool, by the device's own P-256
// code, and by a device taking the image over CSMP), and the CLI's exit codes.
import { describe, it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HEADER_LEN, buildHeader, crc32, parseHeader } from "../host/image/header.ts";
import { buildImage } from "../host/image/build.ts";
import { formatReport, inspectImage } from "../host/image/inspect.ts";
import { parseMeta, type ImageMeta } from "../host/image/meta.ts";
import { generateKeypair, loadPublicKey, parseSigValue, publicKeyHex } from "../host/image/sign.ts";
import { verifyP256Digest } from "../host/p256.ts";
import { createWorld, addDevice, agentLog } from "./support/testbed.ts";
import { exchange, signed, postTo, nmsKeyHex } from "./support/nms-ops.ts";
import { encodeTlvs } from "../host/nms/tlv.ts";
import { MemoryStorage } from "../host/storage.ts";

const VECTORS = new URL("../../shared/vectors/", import.meta.url).pathname;
const REAL = {
  "6.8": readFileSync(`${VECTORS}opencsmp-node-6.8-sample-image.bin`),
  "6.9": readFileSync(`${VECTORS}opencsmp-node-6.9-sample-image.bin`),
};
const CLI = new URL("../host/image/cli.ts", import.meta.url).pathname;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();
const flipped = (b: Uint8Array, at: number, mask = 0xff) => { const c = Buffer.from(b); c[at] ^= mask; return c; };
const newKey = () => generateKeyPairSync("ec", { namedCurve: "P-256" });

/** The meta that rebuilds a real file: its header values minus app_len. */
function metaOf(file: Uint8Array): ImageMeta {
  const { hdrVersion: _v, hdrLen: _l, crc: _c, appLen: _a, ...meta } = parseHeader(file);
  return meta;
}
/** The vendor image inside a file: between the header and the file CRC. */
const bodyOf = (file: Uint8Array) => file.subarray(HEADER_LEN, parseHeader(file).appLen - 4);

describe("CRC-32 (poly 0x04C11DB7, MSB first, init 0, no final xor)", () => {
  it("matches the catalogue check value and the real headers", () => {
    // CRC-32/CKSUM has the same poly, direction and init, with a final xor of all ones.
    expect(crc32(Buffer.from("123456789"))).toBe(~0x765e7680 >>> 0);
    expect(crc32(REAL["6.8"].subarray(0, 252))).toBe(REAL["6.8"].readUInt32LE(252));
    expect(crc32(REAL["6.9"].subarray(0, 252))).toBe(REAL["6.9"].readUInt32LE(252));
  });
});

describe("the real files", () => {
  for (const [rev, file] of Object.entries(REAL)) {
    it(`${rev}: every header field, both CRCs ok, no signature`, () => {
      const r = inspectImage(file);
      expect(r.header).toEqual({
        hdrVersion: 2, hdrLen: 256, appRevMajor: 6, appRevMinor: Number(rev.split(".")[1]), appBuild: 99,
        appLen: 24114, appName: "opencsmp-node", gitBranch: "gitBranch", gitCommit: "gitCommi", gitFlag: 1,
        buildDate: "Mar 15 2024", hwid: "OPENCSMP", subHwid: "", kernelRev: rev, crc: file.readUInt32LE(252),
      });
      expect(r).toMatchObject({ ok: true, errors: [], warnings: [], signature: "none", size: 24114, sha256: sha(file).toString("hex") });
      expect(r.headerCrc!.stored).toBe(r.headerCrc!.computed);
      expect(r.fileCrc!.stored).toBe(r.fileCrc!.computed);
      const text = formatReport("f", r);
      for (const line of [`version        ${rev}.99`, `kernel_rev     "${rev}"`, `git_commit     "gitCommi"`, "header CRC     ok", "file CRC       ok", "signature      none", "result         OK"]) {
        expect(text).toContain(line);
      }
    });

    it(`${rev}: any single changed byte of the header, or a sample of the body, is reported`, () => {
      const body = [...Array(Math.ceil(file.length / 61)).keys()].map((i) => HEADER_LEN + i * 61).filter((at) => at < file.length);
      const positions = [...Array(HEADER_LEN).keys(), ...body, file.length - 4, file.length - 1];
      for (const at of positions) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const r = inspectImage(flipped(file, at, mask));
          expect(r.ok, `byte ${at} ^ ${mask}`).toBe(false);
          expect(r.errors.join(" "), `byte ${at} ^ ${mask}`).toMatch(/CRC-32 mismatch|hdr_version|hdr_len|app_len/);
        }
      }
    });
  }

  it("rebuild byte for byte from their header values and vendor image", () => {
    for (const file of Object.values(REAL)) expect(buildImage(bodyOf(file), metaOf(file)).equals(file)).toBe(true);
  });
});

describe("build and inspect", () => {
  const meta = parseMeta(JSON.stringify({
    appName: "demo-app", version: "7.1.12", gitBranch: "main", gitCommit: "0123abcd", gitFlag: 0,
    buildDate: "Jan  2 2025", hwid: "X".repeat(32), subHwid: "rev-b", kernelRev: "7.1",
  }), "meta");

  it("round-trips every field, pads with 0xFF, and the SHA-256 covers the whole file", () => {
    const body = Buffer.from("the vendor image\n".repeat(50));
    const image = buildImage(body, meta, { pad: 512 });
    expect(image.length % 512).toBe(0);
    const appLen = HEADER_LEN + body.length + 4;
    expect(image.subarray(appLen).every((b) => b === 0xff)).toBe(true);
    const r = inspectImage(image, { hwid: "X".repeat(32) });
    expect(r).toMatchObject({ ok: true, warnings: [], signature: "none", sha256: sha(image).toString("hex") });
    expect(r.header).toMatchObject({ ...meta, appLen, hdrVersion: 2, hdrLen: 256 });
    expect(inspectImage(image, { hwid: "OPENCSMP" }).errors).toEqual([`hwid "${"X".repeat(32)}" is not the device's "OPENCSMP" (INCOMPATIBLE_HW)`]);
  });

  it("rejects bad meta with a clear message", () => {
    const bad = (m: unknown) => () => buildHeader({ ...(parseMeta(JSON.stringify(m), "m.json")), appLen: 300 });
    const base = { appName: "a", version: "1.2.3", hwid: "H" };
    expect(() => parseMeta("{", "m.json")).toThrow(/m\.json: not valid JSON/);
    expect(bad({ ...base, hwId: "H" })).toThrow(/unknown key "hwId"/);
    expect(bad({ appName: "a", hwid: "H" })).toThrow(/version is required/);
    expect(bad({ ...base, version: "1.2" })).toThrow(/version must look like "6\.9\.99"/);
    expect(bad({ ...base, major: 1 })).toThrow(/either version or major\/minor\/build/);
    expect(bad({ ...base, hwid: "H".repeat(33) })).toThrow(/hwid: .* is 33 bytes, the header's hwid holds at most 32/);
    expect(bad({ ...base, gitCommit: "123456789" })).toThrow(/at most 8/);
    expect(bad({ ...base, appName: "café" })).toThrow(/printable ASCII/);
    expect(bad({ ...base, version: "1.2.4294967296" })).toThrow(/appBuild: expected an integer/);
    expect(bad({ ...base, hwid: "" })).toThrow(/hwid is required/);
  });

  it("reports files too short, app_len out of range and stray bytes after app_len", () => {
    expect(inspectImage(REAL["6.9"].subarray(0, 100)).errors).toEqual(["the file is 100 bytes, shorter than the 256-byte header"]);
    expect(inspectImage(REAL["6.9"].subarray(0, 20000)).errors).toEqual(["app_len 24114 exceeds the file size 20000"]);
    const stray = inspectImage(Buffer.concat([REAL["6.9"], Buffer.from([1, 2, 3])]));
    expect(stray).toMatchObject({ ok: false, signature: "malformed" });
  });
});

describe("vendor signatures", () => {
  const vendor = newKey();
  const other = newKey();
  const image = buildImage(bodyOf(REAL["6.9"]), metaOf(REAL["6.9"]), { key: vendor.privateKey, pad: 64 });
  const appLen = REAL["6.9"].length;

  it("verify with the right key (PEM or fw.key hex), fail with another or with none", () => {
    expect(image.subarray(0, appLen).equals(REAL["6.9"])).toBe(true); // the signature only follows app_len
    expect(inspectImage(image, { key: vendor.publicKey })).toMatchObject({ ok: true, signature: "ok" });
    expect(inspectImage(image, { key: loadPublicKey(publicKeyHex(vendor.publicKey)) })).toMatchObject({ ok: true, signature: "ok" });
    expect(inspectImage(image)).toMatchObject({ ok: true, signature: "unverified" });
    expect(inspectImage(image, { key: other.publicKey })).toMatchObject({ ok: false, signature: "bad" });
    expect(inspectImage(REAL["6.9"], { key: vendor.publicKey })).toMatchObject({ ok: false, signature: "none" });
  });

  it("fail after any flipped byte of the signed part or the signature", () => {
    const n = image.readUInt16LE(appLen);
    for (const at of [0, 20, 116, 252, 5000, appLen - 5, appLen - 1, appLen + 2, appLen + 2 + n - 1]) {
      const r = inspectImage(flipped(image, at, 0x01), { key: vendor.publicKey });
      expect(r.ok, `byte ${at}`).toBe(false);
      expect(r.signature, `byte ${at}`).not.toBe("ok");
    }
  });

  it("are accepted by the device's own P-256 verifier", () => {
    const { r, s } = parseSigValue(image.subarray(appLen + 2, appLen + 2 + image.readUInt16LE(appLen)));
    const key = Buffer.from(publicKeyHex(vendor.publicKey), "hex");
    expect(verifyP256Digest(key, sha(image.subarray(0, appLen)), r, s)).toBe(1);
  });

  it("reject non-canonical DER the device would refuse", () => {
    const { r, s } = parseSigValue(image.subarray(appLen + 2, appLen + 2 + image.readUInt16LE(appLen)));
    // DER INTEGER of an unsigned value, with `extra` needless leading zero bytes.
    const int = (v: Buffer, extra = 0) => {
      let d = v.subarray(v.findIndex((b) => b !== 0));
      if (d[0] & 0x80) d = Buffer.concat([Buffer.from([0]), d]);
      d = Buffer.concat([Buffer.alloc(extra), d]);
      return Buffer.concat([Buffer.from([2, d.length]), d]);
    };
    const seq = (...parts: Buffer[]) => { const c = Buffer.concat(parts); return Buffer.concat([Buffer.from([0x30, c.length]), c]); };
    expect(parseSigValue(seq(int(r), int(s)))).toEqual({ r, s });
    expect(() => parseSigValue(seq(int(r, 1), int(s)))).toThrow(/not minimally encoded/);
    expect(() => parseSigValue(Buffer.concat([seq(int(r), int(s)), Buffer.from([0])]))).toThrow(/does not fill/);
    expect(() => parseSigValue(seq(int(r)))).toThrow(/expected INTEGER s/);
  });

  it("are what a device with fw.key accepts over CSMP; another vendor's are refused", async () => {
    const deliver = async (file: Buffer) => {
      const world = createWorld();
      const device = addDevice(world, {
        storage: new MemoryStorage({ slotSizes: [64 * 1024, 64 * 1024] }), nmsKey: nmsKeyHex,
        extra: { "fw.hwid": "OPENCSMP", "fw.key": publicKeyHex(vendor.publicKey) },
      });
      const hash = sha(file);
      const transfer = { type: "TransferRequest", value: { hwInfo: { hwId: "OPENCSMP" }, fileHash: hash, fileName: "opencsmp-node", version: "6.9.99", fileSize: file.length, blockSize: 512 } };
      await exchange(world, device, postTo(signed(world, [transfer] as never)));
      for (let n = 0; n * 512 < file.length; n++) {
        const block = { type: "ImageBlock", value: { fileHash: hash, blockNum: n, blockData: file.subarray(n * 512, (n + 1) * 512) } };
        await exchange(world, device, postTo(encodeTlvs([block] as never)));
      }
      return agentLog(device).find((l) => l.startsWith("firmware upload complete"));
    };
    expect(await deliver(image)).toBe("firmware upload complete and verified");
    const foreign = buildImage(bodyOf(REAL["6.9"]), metaOf(REAL["6.9"]), { key: other.privateKey });
    expect(await deliver(foreign)).toMatch(/FAILED verification/);
  });
});

describe("the CLI (npx tsx host/image/cli.ts)", () => {
  const run = (...args: string[]) => {
    try {
      return { code: 0, out: execFileSync("npx", ["tsx", CLI, ...args], { encoding: "utf8", stdio: "pipe" }) };
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      return { code: err.status, out: err.stdout + err.stderr };
    }
  };

  // Each run costs a tsx start-up (seconds), so only a few, in two tests to
  // keep each within the timeout on a busy machine.
  it("exit codes: 0 good image, 1 bad image, 2 bad input", () => {
    const dir = mkdtempSync(join(tmpdir(), "image-tool-"));
    const ok = run("inspect", `${VECTORS}opencsmp-node-6.9-sample-image.bin`);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`SHA-256        ${sha(REAL["6.9"]).toString("hex")}`);

    writeFileSync(join(dir, "bad.bin"), flipped(REAL["6.9"], 9000));
    const bad = run("inspect", join(dir, "bad.bin"));
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/file CRC\s+BAD/);

    const missing = run("build", "--in", join(dir, "missing.bin"), "--meta", "m.json", "--out", join(dir, "o.bin"));
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.out).toContain("missing.bin: ENOENT");
  });

  it("keygen, signed build, inspect with the fw.key hex", () => {
    const dir = mkdtempSync(join(tmpdir(), "image-tool-"));

    const { publicHex } = generateKeypair(join(dir, "vendor.pem"));
    writeFileSync(join(dir, "app.bin"), bodyOf(REAL["6.9"]));
    writeFileSync(join(dir, "meta.json"), JSON.stringify({ appName: "opencsmp-node", version: "6.9.99", hwid: "OPENCSMP", kernelRev: "6.9" }));
    const built = run("build", "--in", join(dir, "app.bin"), "--meta", join(dir, "meta.json"), "--out", join(dir, "img.bin"), "--key", join(dir, "vendor.pem"));
    expect(built.code).toBe(0);
    const signedOk = run("inspect", join(dir, "img.bin"), "--key", publicHex);
    expect(signedOk.code).toBe(0);
    expect(signedOk.out).toMatch(/signature\s+ok/);
  });
});
