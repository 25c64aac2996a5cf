// What a device's flash holds of the agent's firmware, read as the boot
// loader and the agent would after a power cut: the slots, the agent's
// "fwmeta" and "fwbits" records (layouts in assembly/firmware/slots.ts), and
// the two truths a download must keep: a block marked received holds the
// file's bytes, and a FirmwareImageInfo row for a whole file describes what
// its slot holds. Two views of a flash: a csmp-agent state directory
// (stateDirFlash: slot partitions through boot.json's map, pal/posix/slots.c;
// erased bytes read 0xFF) and a Node host DeviceStorage (storageFlash).
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { blockCount, blockData, receivedBlocks } from "../../host/nms/campaign-bitmap.ts";
import { decodeTlvs, encodeVarint } from "../../host/nms/tlv.ts";
import type { DeviceStorage } from "../../host/storage.ts";

export type Row = Record<string, unknown>;

const SLOTS = 3;
const hex = (b: unknown) => (b instanceof Uint8Array ? Buffer.from(b).toString("hex") : "");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A device's flash as the checks below read it. */
export interface FlashView {
  /** A record's bytes, null when absent. */
  record(key: string): Buffer | null;
  /** len bytes of a slot from offset (erased: 0xFF). */
  slotBytes(slot: number, offset: number, len: number): Buffer;
}

/** boot.json (absent: nothing pending, the identity map). */
export function bootMap(stateDir: string): { next: number | null; map: number[] } {
  const path = join(stateDir, "boot.json");
  if (!existsSync(path)) return { next: null, map: Array.from({ length: SLOTS }, (_, i) => i) };
  return JSON.parse(readFileSync(path, "utf8")) as { next: number | null; map: number[] };
}

/** len bytes of a slot from offset, as slots.c reads them. */
export function slotBytes(stateDir: string, slot: number, offset: number, len: number): Buffer {
  const path = join(stateDir, `slot-${bootMap(stateDir).map[slot]}.bin`);
  const out = Buffer.alloc(len, 0xff);
  const written = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
  if (offset < written.length) written.copy(out, 0, offset, Math.min(written.length, offset + len));
  return out;
}

/** A csmp-agent (or FreeRTOS simulator) state directory. */
export function stateDirFlash(stateDir: string): FlashView {
  return {
    record: (key) => {
      const path = join(stateDir, "records", `${key}.rec`);
      return existsSync(path) ? readFileSync(path) : null;
    },
    slotBytes: (slot, offset, len) => slotBytes(stateDir, slot, offset, len),
  };
}

/** A Node host DeviceStorage (read errors read as absent / erased). */
export function storageFlash(storage: DeviceStorage): FlashView {
  return {
    record: (key) => {
      const r = storage.read(key);
      return r.ok && r.value ? Buffer.from(r.value) : null;
    },
    slotBytes: (slot, offset, len) => {
      const r = storage.slotRead(slot, offset, len);
      return r.ok ? Buffer.from(r.value) : Buffer.alloc(len, 0xff);
    },
  };
}

/** The "fwmeta" record: the 16 bytes of state, then per slot an i16 length and a FirmwareImageInfo encoding (-1: none). */
export interface FwMeta {
  upload: number;
  loadSlot: number;
  loadTime: number;
  /** The slot being activated, -1 when none. */
  activating: number;
  slots: (Row | null)[];
}

export function readFwmeta(flash: FlashView): FwMeta | null {
  const b = flash.record("fwmeta");
  if (!b || b.length < 16) return null;
  const slots: (Row | null)[] = [];
  let p = 16;
  for (let i = 0; i < SLOTS; i++) {
    const len = b.readInt16LE(p);
    p += 2;
    if (len < 0) { slots.push(null); continue; }
    // The record holds the message without its TLV header: frame it as TLV 75 to decode it.
    slots.push(decodeTlvs(Buffer.concat([encodeVarint(75), encodeVarint(len), b.subarray(p, p + len)]))[0].value as Row);
    p += len;
  }
  return { upload: b.readUInt32LE(0), loadSlot: b.readInt32LE(4), loadTime: b.readUInt32LE(8), activating: b.readInt32LE(12), slots };
}

/**
 * Blocks the "fwbits" bitmap (big-endian, 1 = received) marks whose bytes in
 * slot 1 are not the file's, while fwmeta's slot 1 is that file's upload.
 * Not during an activation: the boot loader may have swapped the slots, and
 * the agent puts its records right at the next boot.
 */
export function markedButWrong(flash: FlashView, file: Uint8Array, blockSize: number): { checked: number; wrong: number[] } {
  const meta = readFwmeta(flash);
  const bits = flash.record("fwbits");
  const none = { checked: 0, wrong: [] };
  if (!meta || hex(meta.slots[1]?.fileHash) !== sha(file) || meta.activating >= 0 || !bits) return none;
  const wrong: number[] = [];
  let checked = 0;
  for (let n = 0; n < blockCount(file.length, blockSize); n++) {
    if ((bits[n >> 3] & (0x80 >> (n & 7))) === 0) continue;
    checked++;
    const want = blockData(file, blockSize, n);
    if (!flash.slotBytes(1, n * blockSize, want.length).equals(want)) wrong.push(n);
  }
  return { checked, wrong };
}

/** FirmwareImageInfo rows for a whole file (not an upload in progress) whose slot holds something else. */
export function rowsNotTrue(flash: FlashView, rows: readonly Row[]): string[] {
  const problems: string[] = [];
  for (const r of rows) {
    const size = Number(r.fileSize ?? 0);
    const bitmap = r.bitmap as Uint8Array | undefined;
    if (bitmap?.length && !receivedBlocks(r as { bitmap?: Uint8Array; bitmapOffset?: number }, blockCount(size, Number(r.blockSize ?? 1))).every(Boolean)) continue;
    if (sha(flash.slotBytes(Number(r.index ?? 0), 0, size)) !== hex(r.fileHash)) {
      problems.push(`FirmwareImageInfo row ${String(r.index ?? 0)} says ${String(r.version)} but its slot holds something else`);
    }
  }
  return problems;
}
