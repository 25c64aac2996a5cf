// Assembles an image file: header + vendor image + file CRC (that much is
// app_len), then the optional vendor signature, then optional 0xFF pad.
import type { KeyObject } from "node:crypto";
import { HEADER_LEN, buildHeader, crc32 } from "./header.ts";
import type { ImageMeta } from "./meta.ts";
import { signImage } from "./sign.ts";

export interface BuildOptions {
  /** The vendor's private key: sign the image when given. */
  key?: KeyObject;
  /** Pad with 0xFF to a multiple of this many bytes (e.g. a flash page). */
  pad?: number;
}

export function buildImage(body: Uint8Array, meta: ImageMeta, opts: BuildOptions = {}): Buffer {
  const appLen = HEADER_LEN + body.length + 4;
  if (appLen > 0xffffffff) throw new Error(`the vendor image is too large for a u32 app_len`);
  if (opts.pad !== undefined && !(Number.isInteger(opts.pad) && opts.pad > 0)) throw new Error(`pad must be a positive integer, got ${opts.pad}`);
  const file = Buffer.alloc(appLen);
  buildHeader({ ...meta, appLen }).copy(file, 0);
  file.set(body, HEADER_LEN);
  file.writeUInt32LE(crc32(file.subarray(0, appLen - 4)), appLen - 4);
  const parts: Buffer[] = [file];
  if (opts.key) parts.push(signImage(file, opts.key));
  const size = parts.reduce((n, p) => n + p.length, 0);
  // 0xFF, not zero: erased flash, and never mistaken for a signature (0xFFFF
  // is no valid signature length).
  if (opts.pad) parts.push(Buffer.alloc((opts.pad - (size % opts.pad)) % opts.pad, 0xff));
  return Buffer.concat(parts);
}
