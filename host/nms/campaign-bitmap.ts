// Blocks of a firmware file and what a device says it received of them:
// FirmwareImageInfo (75) carries a big-endian bitmap, one bit per block
// (1 = received), whose first bit is block bitmapOffset. Also where in a
// stream of blocks the NMS asks for that bitmap (every so many percent and
// with the last block).

export function blockCount(fileSize: number, blockSize: number): number {
  return Math.ceil(fileSize / blockSize);
}

/** Block n of the file (the last one may be short). */
export function blockData(file: Uint8Array, blockSize: number, n: number): Uint8Array {
  return file.subarray(n * blockSize, Math.min(file.length, (n + 1) * blockSize));
}

/**
 * Which blocks a FirmwareImageInfo row reports received. Blocks before
 * bitmapOffset count as received: a device sends a window of its bitmap
 * starting at its first missing block, and leaves out only the whole bytes
 * before it that are complete. Blocks past the window count as missing, so
 * at worst they are sent again (a device drops a block it already has).
 */
export function receivedBlocks(row: { bitmap?: Uint8Array; bitmapOffset?: number }, blocks: number): boolean[] {
  const offset = row.bitmapOffset ?? 0;
  const bits = row.bitmap ?? new Uint8Array(0);
  const out: boolean[] = [];
  for (let n = 0; n < blocks; n++) {
    if (n < offset) { out.push(true); continue; }
    const i = n - offset;
    out.push(i >> 3 < bits.length && (bits[i >> 3] & (0x80 >> (i & 7))) !== 0);
  }
  return out;
}

/**
 * Positions in a stream of `length` blocks after which the NMS asks for
 * the bitmap: every `percent` of the stream (at least every block) and the
 * last block always.
 */
export function checkpoints(length: number, percent: number): Set<number> {
  const every = Math.max(1, Math.ceil((length * percent) / 100));
  const out = new Set<number>();
  for (let i = every - 1; i < length; i += every) out.add(i);
  if (length > 0) out.add(length - 1);
  return out;
}
