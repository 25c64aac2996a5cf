// The oracle's question "may this payload change the device's state?":
// does it carry a valid NMS signature, now? The signed part (every byte
// before the Signature TLV) must verify under the trusted key and its
// SignatureValidity window must hold the current time; the signature's DER
// is parsed strictly (FND devices do). The Signature TLV's own protobuf
// wrapper is not covered by the signature, so it is read as leniently as any
// protobuf decoder may read it (protobufjs refuses a tag written in 10
// bytes, which protobuf allows): a device that accepts such a wrapper around
// a good signature has applied exactly what the NMS signed.
import { verify, type KeyObject } from "node:crypto";
import { parseSignatureValue, SIGNATURE_TLV, SIGNATURE_VALIDITY_TLV } from "../nms/sign.ts";
import { decodeTlvs, readVarint } from "../nms/tlv.ts";

/** The value of the last field 1 (bytes) in a protobuf message, read leniently; null when it does not parse. */
function lastBytesField1(v: Uint8Array): Uint8Array | null {
  let at = 0, found: Uint8Array | null = null;
  while (at < v.length) {
    const key = readVarint(v, at);
    if (!key) return null;
    const wire = key.value % 8;
    if (wire === 0) {
      const x = readVarint(v, key.next);
      if (!x) return null;
      at = x.next;
    } else if (wire === 2) {
      const len = readVarint(v, key.next);
      if (!len || len.next + len.value > v.length) return null;
      if (Math.floor(key.value / 8) === 1) found = v.subarray(len.next, len.next + len.value);
      at = len.next + len.value;
    } else if (wire === 1 || wire === 5) {
      at = key.next + (wire === 1 ? 8 : 4);
      if (at > v.length) return null;
    } else {
      return null;
    }
  }
  return found;
}

export function validlySigned(payload: Uint8Array, key: KeyObject, nowS: number): boolean {
  // Frame the TLVs; the Signature must be the last one and end the payload.
  let at = 0, last: { start: number; value: Uint8Array; type: number } | null = null;
  while (at < payload.length) {
    const type = readVarint(payload, at);
    const len = type && readVarint(payload, type.next);
    if (!type || !len || len.next + len.value > payload.length) return false;
    last = { start: at, type: type.value, value: payload.subarray(len.next, len.next + len.value) };
    at = len.next + len.value;
  }
  if (!last || last.type !== SIGNATURE_TLV) return false;
  const der = lastBytesField1(last.value);
  if (!der) return false;
  const signed = payload.subarray(0, last.start);
  try {
    const sig = parseSignatureValue(der);
    if (!verify("sha256", signed, { key, dsaEncoding: "der" }, sig.ecdsaSigValue)) return false;
    // The signed part is the NMS's own bytes, so the strict decoder reads it.
    const validity = decodeTlvs(signed).reverse().find((t) => t.type === SIGNATURE_VALIDITY_TLV);
    if (!validity || validity.value instanceof Uint8Array) return false;
    const { notBefore, notAfter } = validity.value as { notBefore?: number; notAfter?: number };
    return notBefore !== undefined && notAfter !== undefined && notBefore <= nowS && nowS <= notAfter;
  } catch {
    return false;
  }
}
