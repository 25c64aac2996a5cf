// One device's place in a firmware campaign, and what its answers mean for
// it: the response TLVs (71..74) and FirmwareImageInfo rows (75), from
// whichever message brought them. No I/O: the campaign (campaign.ts) feeds
// decoded TLVs in and acts on the phases.
import type { Tlv } from "./tlv.ts";
import { receivedBlocks } from "./campaign-bitmap.ts";
import { responseName, type DevicePhase, type DeviceProgress } from "./campaign-progress.ts";

export interface DeviceState extends DeviceProgress {
  /** The last bitmap (null: none yet, or the device lost its transfer). */
  bits: boolean[] | null;
  /** The round whose answer `bits` is. */
  bitsRound: number;
  /** When (NMS clock) its last FirmwareImageInfo arrived. */
  heardAtMs: number;
  /** Multicast blocks did not reach it (not in the group yet): unicast only. */
  unicastOnly: boolean;
  transfers: number;
  loads: number;
  /** Why the last request failed, for the final error. */
  lastError?: string;
}

/** What the answers are judged against. */
export interface AnswerContext {
  /** The campaign's fileHash (hex). */
  hash: string;
  /** The fileHash of the last SetBackupRequest (hex). */
  backupHash: string;
  blocks: number;
  round: number;
  /** IMAGE_INCOMPLETE answers to a LoadRequest taken as lost blocks before giving up. */
  retries: number;
  nowMs: number;
}

type Value = Record<string, unknown>;

export const hex = (b: unknown): string => (b instanceof Uint8Array ? Buffer.from(b).toString("hex") : "");

export function newDeviceState(eui64: string, blocks: number): DeviceState {
  return {
    eui64: eui64.toUpperCase(), phase: "transferring", received: 0, blocks,
    bits: null, bitsRound: -1, heardAtMs: -1, unicastOnly: false, transfers: 0, loads: 0,
  };
}

export function receivedCount(s: DeviceState): number {
  return s.bits?.filter(Boolean).length ?? 0;
}

export function failDevice(s: DeviceState, why: string): void {
  s.phase = "failed";
  s.error = why;
}

export function deviceProgress(s: DeviceState): DeviceProgress {
  return {
    eui64: s.eui64, phase: s.phase, received: receivedCount(s), blocks: s.blocks,
    transferCode: s.transferCode, loadCode: s.loadCode, cancelCode: s.cancelCode, backupCode: s.backupCode,
    loadTime: s.loadTime, runningVersion: s.runningVersion, runningHash: s.runningHash, error: s.error,
  };
}

/** Takes in what a device said, from a direct answer or its own POST /c. */
export function absorbAnswer(s: DeviceState, tlvs: readonly Tlv[], ctx: AnswerContext): void {
  const rows: Value[] = [];
  for (const t of tlvs) {
    if (t.value instanceof Uint8Array) continue;
    if (t.type === 75) rows.push(t.value);
    else if (t.type >= 71 && t.type <= 74) onResponse(s, t.type, t.value, ctx);
  }
  if (rows.length) onImages(s, rows, ctx);
}

function onResponse(s: DeviceState, type: number, v: Value, ctx: AnswerContext): void {
  const code = Number(v.response ?? 0);
  if (type === 74) { if (hex(v.fileHash) === ctx.backupHash) s.backupCode = code; return; }
  if (hex(v.fileHash) !== ctx.hash) return;
  if (type === 71) {
    s.transferCode = code;
    if (s.phase !== "transferring") return;
    if (code === 0) s.phase = "receiving";
    else if (code === 9) s.phase = "running";
    else failDevice(s, `TransferRequest: ${responseName(code)}`);
  } else if (type === 72) {
    s.loadCode = code;
    if (s.phase !== "complete" && s.phase !== "scheduled") return;
    if (code === 0) { s.phase = "scheduled"; s.loadTime = Number(v.loadTime ?? 0); }
    else if (code === 9) s.phase = "running";
    else if (code === 2 && ++s.loads <= ctx.retries) { s.phase = "receiving"; s.bits = null; } // it lost blocks: send them again
    else failDevice(s, `LoadRequest: ${responseName(code)}`);
  } else if (type === 73) {
    s.cancelCode = code;
    if (code === 0 && s.phase === "scheduled") { s.phase = "complete"; s.loadTime = undefined; }
  }
}

/** FirmwareImageInfo rows: the running image, and what the device holds of the campaign's file. */
function onImages(s: DeviceState, rows: Value[], ctx: AnswerContext): void {
  s.heardAtMs = ctx.nowMs;
  const running = rows.find((r) => r.isRunning === true);
  if (running) {
    s.runningHash = hex(running.fileHash);
    s.runningVersion = typeof running.version === "string" ? running.version : undefined;
  }
  if (s.runningHash === ctx.hash) { s.phase = "running"; s.error = undefined; return; }
  if (s.phase === "failed" || s.phase === "transferring") return;
  const upload = rows.find((r) => r.isRunning !== true && hex(r.fileHash) === ctx.hash);
  if (!upload) {
    // It holds no part of the file: the transfer did not survive (a reboot before it was durable).
    s.phase = "transferring";
    s.bits = null;
    return;
  }
  const bits = receivedBlocks(upload as { bitmap?: Uint8Array; bitmapOffset?: number }, ctx.blocks);
  // Within a round answers may arrive out of order, and blocks are only
  // ever added: an answer with fewer blocks than one already in is older.
  // A new round takes the next answer as it is (a reboot may lose a block).
  if (s.bitsRound === ctx.round && s.bits && bits.filter(Boolean).length < receivedCount(s)) return;
  s.bits = bits;
  s.bitsRound = ctx.round;
  const complete = receivedCount(s) === ctx.blocks;
  if (s.phase === "receiving" && complete) s.phase = "complete";
  else if (s.phase === "complete" && !complete) s.phase = "receiving";
}

/** Phases a device can still leave by itself (with the NMS's help). */
export function unfinished(loading: boolean): DevicePhase[] {
  return loading ? ["transferring", "receiving", "complete"] : ["transferring", "receiving"];
}
