// Byte helpers shared by the fuzzer's generators and mutators.

import { concatBytes } from "../bytes.ts";

export { concatBytes };

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export function fromHex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, "hex"));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * A protobuf varint of any size (bigint), optionally padded to `width`
 * bytes with redundant continuation groups: the non-minimal forms a decoder
 * must accept or reject without reading past its buffer.
 */
export function varint(value: number | bigint, width = 0): Uint8Array {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    out.push(Number(v & 0x7fn));
    v >>= 7n;
  } while (v > 0n);
  while (out.length < width) out.push(0);
  for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80;
  return Uint8Array.from(out);
}

/** One raw TLV: varint type, varint length, value. */
export function rawTlv(type: number | bigint, value: Uint8Array, length: number | bigint = value.length): Uint8Array {
  return concatBytes([varint(type), varint(length), value]);
}

/** A protobuf field key (field number, wire type). */
export function pbKey(field: number | bigint, wireType: number): Uint8Array {
  return varint((BigInt(field) << 3n) | BigInt(wireType));
}

/** A length-delimited protobuf field. */
export function pbBytes(field: number, value: Uint8Array): Uint8Array {
  return concatBytes([pbKey(field, 2), varint(value.length), value]);
}

export function pbVarint(field: number, value: number | bigint, width = 0): Uint8Array {
  return concatBytes([pbKey(field, 0), varint(value, width)]);
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
