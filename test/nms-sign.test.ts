// NMS signing (host/nms/sign.ts): FND's Signature.value structure, strict
// parsing, sign/verify round trips, the signed byte range, the validity
// window, and FND's real signed 2.03 answer (parsed, not verified: its key is
// unknown).
import * as crypto from "node:crypto";
import { describe, it, expect } from "vitest";
import { readUdpDatagrams } from "../host/pcap.ts";
import { decodeCoap } from "../host/nms/coap.ts";
import {
  ECDSA_WITH_SHA256_OID, SignatureFormatError, encodeSignatureValue, generateNmsKeyPair, nmsKeyPairFromPem,
  parseSignatureValue, privateKeyPem, publicKeyBytes, publicKeyFromHex, publicKeyHex, signPayload, verifySignedPayload,
} from "../host/nms/sign.ts";
import { decodeTlvs, encodeTlvs, tlv } from "../host/nms/tlv.ts";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

const fndAnswer = decodeCoap(readUdpDatagrams("/work/shared/vectors/csmp_register.pcap")[1].payload).payload;
const fndTlvs = decodeTlvs(fndAnswer);
const fndSignature = (fndTlvs[3].value as { value: Uint8Array }).value;

const keys = generateNmsKeyPair();
const body = encodeTlvs([tlv("ReportSubscribe", { interval: 20, tlvid: ["2", "22"] }), tlv("SessionID", { id: "1" })]);
const window = { notBefore: 1_700_000_000, notAfter: 1_800_000_000 };

describe("Signature.value structure", () => {
  it("parses FND's value: SEQUENCE { OID ecdsa-with-SHA256, BIT STRING { ECDSA-Sig-Value } }", () => {
    expect(fndSignature.length).toBe(86);
    const s = parseSignatureValue(fndSignature);
    expect(s.algorithm).toBe(ECDSA_WITH_SHA256_OID);
    expect(toHex(s.r)).toBe("a9041435c2db2974a37a953f19ad78942458393387ea422f7ce7e96706d78496");
    expect(toHex(s.s)).toBe("1ec225fb324ca2f20b48f18536340d99f9dc513a7443fb36041743e483c5842e");
    expect(toHex(s.ecdsaSigValue)).toBe(toHex(fndSignature.subarray(15)));
    // Our encoder wraps the same ECDSA-Sig-Value into FND's exact bytes.
    expect(toHex(encodeSignatureValue(s.ecdsaSigValue))).toBe(toHex(fndSignature));
  });

  // Each mutation of FND's value must be rejected (offsets into the 86 bytes).
  const mutations: [string, (b: Uint8Array) => Uint8Array, RegExp][] = [
    ["outer tag", (b) => set(b, 0, 0x31), /tag 0x31/],
    ["outer length too long", (b) => set(b, 1, 0x55), /overruns/],
    ["outer length too short", (b) => set(b, 1, 0x53), /overruns|after/],
    ["trailing byte", (b) => Uint8Array.from([...b, 0]), /after the signature SEQUENCE/],
    ["OID tag", (b) => set(b, 2, 0x04), /algorithm OID: tag/],
    ["other OID (ecdsa-with-SHA384)", (b) => set(b, 11, 0x03), /not ecdsa-with-SHA256/],
    ["BIT STRING tag", (b) => set(b, 12, 0x04), /BIT STRING: tag/],
    ["unused bits", (b) => set(b, 14, 0x01), /unused bits/],
    ["inner SEQUENCE tag", (b) => set(b, 15, 0x31), /ECDSA-Sig-Value: tag/],
    ["r tag", (b) => set(b, 17, 0x03), /r: tag/],
    ["r negative (sign byte dropped)", (b) => Uint8Array.from([0x30, 0x53, ...b.subarray(2, 13), 0x47, 0x00, 0x30, 0x44, 0x02, 0x20, ...b.subarray(20)]), /negative/],
    ["truncated", (b) => b.subarray(0, 85), /overruns/],
    ["empty", () => new Uint8Array(0), /missing/],
  ];
  for (const [what, mutate, reason] of mutations) {
    it(`rejects: ${what}`, () => {
      expect(() => parseSignatureValue(mutate(fndSignature))).toThrow(SignatureFormatError);
      expect(() => parseSignatureValue(mutate(fndSignature))).toThrow(reason);
    });
  }

  function wrapRS(r: Uint8Array, s: Uint8Array): Uint8Array {
    const int = (v: Uint8Array) => [0x02, v.length, ...v];
    const seq = [...int(r), ...int(s)];
    return encodeSignatureValue(Uint8Array.from([0x30, seq.length, ...seq]));
  }
  const one = hex("01");
  const order = hex("00ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

  it("accepts small minimal scalars and rejects non-minimal, zero and out-of-range ones", () => {
    expect(toHex(parseSignatureValue(wrapRS(one, hex("7f"))).s)).toBe("7f");
    expect(toHex(parseSignatureValue(wrapRS(hex("0080"), one)).r)).toBe("80");
    expect(() => parseSignatureValue(wrapRS(hex("0001"), one))).toThrow(/non-minimal/);
    expect(() => parseSignatureValue(wrapRS(hex("00"), one))).toThrow(/outside/);
    expect(() => parseSignatureValue(wrapRS(one, order))).toThrow(/outside/);
    expect(() => parseSignatureValue(wrapRS(one, hex("80")))).toThrow(/negative/);
    expect(() => parseSignatureValue(wrapRS(one, new Uint8Array(0)))).toThrow(/empty/);
  });

  it("rejects a long-form length where the short form fits", () => {
    const v = wrapRS(one, one);
    const longForm = Uint8Array.from([0x30, 0x81, v[1], ...v.subarray(2)]);
    expect(() => parseSignatureValue(longForm)).toThrow(/non-minimal length/);
  });
});

describe("keys", () => {
  it("gives the public key as a 65-byte uncompressed point", () => {
    const h = publicKeyHex(keys);
    expect(h).toMatch(/^04[0-9a-f]{128}$/);
    expect(publicKeyBytes(keys.publicKey)).toEqual(hex(h));
    // Same point as the SPKI DER's last 65 bytes.
    const spki = keys.publicKey.export({ type: "spki", format: "der" });
    expect(toHex(spki.subarray(spki.length - 65))).toBe(h);
    expect(publicKeyHex(publicKeyFromHex(h))).toBe(h);
  });

  it("rejects malformed or off-curve public keys", () => {
    expect(() => publicKeyFromHex("04abcd")).toThrow();
    expect(() => publicKeyFromHex(`05${"00".repeat(64)}`)).toThrow();
    expect(() => publicKeyFromHex(`04${"00".repeat(31)}01${"00".repeat(31)}01`)).toThrow();
  });

  it("survives a PEM round trip and refuses other curves", () => {
    const again = nmsKeyPairFromPem(privateKeyPem(keys));
    expect(publicKeyHex(again)).toBe(publicKeyHex(keys));
    const p384 = crypto.generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    expect(() => nmsKeyPairFromPem(p384.privateKey.export({ type: "pkcs8", format: "pem" }).toString())).toThrow(/P-256/);
  });
});

describe("signing", () => {
  const signed = signPayload(body, keys, window);
  const list = decodeTlvs(signed);

  it("appends SignatureValidity then Signature, and keeps the payload as is", () => {
    expect(list.map((t) => t.name)).toEqual(["ReportSubscribe", "SessionID", "SignatureValidity", "Signature"]);
    expect(toHex(signed.subarray(0, body.length))).toBe(toHex(body));
    expect(list[2].value).toEqual(window);
    expect(() => parseSignatureValue((list[3].value as { value: Uint8Array }).value)).not.toThrow();
  });

  it("signs the bytes from the first up to, not including, the Signature TLV", () => {
    const sig = parseSignatureValue((list[3].value as { value: Uint8Array }).value);
    const covered = signed.subarray(0, list[3].offset);
    expect(crypto.verify("sha256", covered, { key: keys.publicKey, dsaEncoding: "der" }, sig.ecdsaSigValue)).toBe(true);
    expect(crypto.verify("sha256", body, { key: keys.publicKey, dsaEncoding: "der" }, sig.ecdsaSigValue)).toBe(false);
  });

  it("verifies with the public key from its hex form", () => {
    const r = verifySignedPayload(signed, publicKeyFromHex(publicKeyHex(keys)), { now: 1_750_000_000 });
    expect(r).toEqual({ ok: true, ...window, signedLength: list[3].offset });
  });

  it("fails on a changed byte, another key, or outside the validity window", () => {
    const tampered = signed.slice();
    tampered[4] ^= 1;
    expect(verifySignedPayload(tampered, keys.publicKey)).toMatchObject({ ok: false });
    expect(verifySignedPayload(signed, generateNmsKeyPair().publicKey)).toEqual({ ok: false, reason: "signature does not verify" });
    expect(verifySignedPayload(signed, keys.publicKey, { now: window.notBefore - 1 })).toMatchObject({ ok: false, reason: /outside/ });
    expect(verifySignedPayload(signed, keys.publicKey, { now: window.notAfter + 1 })).toMatchObject({ ok: false, reason: /outside/ });
    expect(verifySignedPayload(signed, keys.publicKey, { now: window.notAfter })).toMatchObject({ ok: true });
  });

  it("fails when the Signature is not last or SignatureValidity is missing", () => {
    const trailing = Uint8Array.from([...signed, ...encodeTlvs([tlv("SessionID", { id: "2" })])]);
    expect(verifySignedPayload(trailing, keys.publicKey)).toEqual({ ok: false, reason: "Signature is not the last TLV" });
    const sigOnly = Uint8Array.from([...body, ...list[3].raw]);
    expect(verifySignedPayload(sigOnly, keys.publicKey)).toMatchObject({ ok: false, reason: /SignatureValidity/ });
    expect(verifySignedPayload(body, keys.publicKey)).toMatchObject({ ok: false });
  });

  it("refuses to sign twice", () => {
    expect(() => signPayload(signed, keys, window)).toThrow(/already/);
  });

  it("uses a fresh signature each time (ECDSA is randomised) that always verifies", () => {
    const again = signPayload(body, keys, window);
    expect(toHex(again)).not.toBe(toHex(signed));
    expect(verifySignedPayload(again, keys.publicKey).ok).toBe(true);
  });
});

describe("FND's signed registration answer", () => {
  it("has the layout we produce, and does not verify with a key that is not FND's", () => {
    expect(fndTlvs.map((t) => t.type)).toEqual([13, 7, 76, 77]);
    expect(fndTlvs[3].offset).toBe(fndAnswer.length - fndTlvs[3].raw.length);
    // Structure parses; only the (unknown) key is wrong.
    expect(verifySignedPayload(fndAnswer, keys.publicKey, { now: 1_608_173_973 })).toEqual({ ok: false, reason: "signature does not verify" });
    expect(verifySignedPayload(fndAnswer, keys.publicKey, { now: 1_700_000_000 })).toMatchObject({ ok: false, reason: /outside/ });
  });
});

function set(b: Uint8Array, at: number, v: number): Uint8Array {
  const c = b.slice();
  c[at] = v;
  return c;
}
