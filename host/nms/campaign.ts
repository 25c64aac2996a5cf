// A firmware campaign as an NMS runs it (draft "Firmware Management"), over
// the simulated NMS and its CoAP client:
//
//   transfer  TransferRequest (65, signed) to the firmware group by multicast
//             with GroupMatch and `a`, so each device answers TransferResponse
//             (71) by a NON POST of its own; then unicast CON to the silent.
//   stream    rounds of ImageBlock (67) NON POSTs, multicast to the group or
//             unicast. A DescriptionRequest (8) for FirmwareImageInfo (75)
//             rides on the block at every 10 % of a round and on its last
//             block; each device's bitmap says what it still misses, and the
//             next round sends only that: multicast when several devices miss
//             a block, unicast otherwise. Until every device is complete.
//   load      LoadRequest (68, signed, a UTC load time), multicast with `a`
//             then unicast; LoadResponse (72).
//   confirm   after the load time, FirmwareImageInfo until the running row is
//             the new file; a load the device lost is asked again.
//   also      CancelLoadRequest (69/73), SetBackupRequest (70/74).
//
// Every answer is taken from whatever brings it (a direct CoAP answer or a
// device's NON POST /c seen as a "report" event), so lost and reordered
// datagrams only cost time. Timers come from the NMS's clock, so a campaign
// runs in virtual time on a LoopNetwork as on real UDP.
import { createHash } from "node:crypto";
import { codeText } from "./coap.ts";
import type { NmsTimers } from "./client.ts";
import type { GroupRef } from "./profile.ts";
import { postPayload, postRequest } from "./requests.ts";
import type { ReportEvent, SimulatedNms } from "./sim.ts";
import type { Tlv, TlvInput } from "./tlv.ts";
import { blockCount, blockData, checkpoints } from "./campaign-bitmap.ts";
import type { CampaignProgress } from "./campaign-progress.ts";
import {
  absorbAnswer, deviceProgress, failDevice, hex, newDeviceState, receivedCount as received, unfinished, type DeviceState,
} from "./campaign-state.ts";

export * from "./campaign-progress.ts";

export interface CampaignImage {
  /** The whole image file (header, image, signature, pad): what fileHash covers. */
  file: Uint8Array;
  /** TransferRequest.hwInfo.hwId: must equal the devices' fw.hwid. */
  hwId: string;
  fileName?: string;
  version?: string;
}

/** The firmware group (type 2) and the multicast address its members listen on. */
export interface CampaignGroup {
  group: GroupRef;
  address: string;
}

export interface CampaignOptions {
  nms: SimulatedNms;
  /** The NMS's clock (the same VirtualClock as the network in tests). */
  timers: NmsTimers;
  image: CampaignImage;
  /** EUI-64s of devices registered with the NMS. */
  devices: readonly string[];
  /** Multicast to this group; absent: unicast to each device. */
  multicast?: CampaignGroup;
  /** Bytes per ImageBlock, 16..1024 (default 512). */
  blockSize?: number;
  /** `a` of multicast requests: devices answer within this many seconds (default 10). */
  answerWindowS?: number;
  /** Pause between block sends, ms (default 20). */
  blockIntervalMs?: number;
  /** How long to wait for answers after a round or query, ms (default 2000). */
  settleMs?: number;
  /** Ask for the bitmap every this many percent of a round (default 10). */
  queryEveryPercent?: number;
  /** A block missing at this many devices (or more) goes by multicast (default 2). */
  multicastMin?: number;
  /** Rounds of blocks before giving up on a device (default 30). */
  maxRounds?: number;
  /** Attempts of each unicast request and query (default 3). */
  retries?: number;
  /**
   * Sign multicast ImageBlock POSTs (default true). They must carry a
   * GroupMatch, and this agent counts GroupMatch as a TLV that needs a
   * signature, so unsigned multicast blocks are ignored by it.
   */
  signMulticastBlocks?: boolean;
  /** Called with a fresh snapshot after every change. */
  onProgress?: (p: CampaignProgress) => void;
}

type Value = Record<string, unknown>;

const DESCRIBE_IMAGES: TlvInput = { type: "DescriptionRequest", value: { tlvid: ["75"] } };

export class FirmwareCampaign {
  readonly fileHash: Buffer;
  readonly blocks: number;
  private readonly o: Required<Omit<CampaignOptions, "multicast" | "onProgress">> & Pick<CampaignOptions, "multicast" | "onProgress">;
  private readonly hash: string;
  private readonly states: DeviceState[];
  private readonly sent = { multicast: 0, unicast: 0 };
  private round = 0;
  private backupHash = "";
  private readonly listener = (e: ReportEvent) => this.onReport(e);

  constructor(options: CampaignOptions) {
    this.o = {
      blockSize: 512, answerWindowS: 10, blockIntervalMs: 20, settleMs: 2000, queryEveryPercent: 10, multicastMin: 2,
      maxRounds: 30, retries: 3, signMulticastBlocks: true, ...options,
    };
    const { file } = this.o.image;
    if (this.o.blockSize < 16 || this.o.blockSize > 1024) throw new RangeError(`blockSize ${this.o.blockSize} outside 16..1024`);
    this.fileHash = createHash("sha256").update(file).digest();
    this.hash = this.fileHash.toString("hex");
    this.blocks = blockCount(file.length, this.o.blockSize);
    this.states = options.devices.map((eui64) => newDeviceState(eui64, this.blocks));
    this.o.nms.on("report", this.listener);
  }

  /** Stops listening to the NMS. */
  close(): void {
    this.o.nms.off("report", this.listener);
  }

  progress(): CampaignProgress {
    const { image, blockSize } = this.o;
    return {
      fileHash: this.hash, fileName: image.fileName ?? "", version: image.version ?? "", fileSize: image.file.length,
      blockSize, blocks: this.blocks, round: this.round, sent: { ...this.sent },
      devices: this.states.map(deviceProgress),
    };
  }

  /**
   * The whole campaign: transfer, blocks until complete, then (with loadAt,
   * UTC seconds or 1 for "now") load and confirm the devices run the file.
   * Devices that lose their transfer on the way (a reboot) go round again.
   */
  async run(loadAt?: number, confirmTimeoutMs = 3_600_000): Promise<CampaignProgress> {
    for (let pass = 0; pass < this.o.retries; pass++) {
      await this.transfer();
      await this.stream();
      if (loadAt === undefined) break;
      // A second pass comes after the first load time: load at once then.
      await this.load(pass === 0 || loadAt <= 1 ? loadAt : 1);
      await this.confirm(confirmTimeoutMs);
      if (!this.states.some((s) => s.phase === "transferring" || s.phase === "receiving" || s.phase === "complete")) break;
    }
    const left = unfinished(loadAt !== undefined);
    for (const s of this.states) if (left.includes(s.phase)) this.fail(s, `still ${s.phase} after ${this.o.retries} passes${s.lastError ? ` (${s.lastError})` : ""}`);
    this.changed();
    return this.progress();
  }

  // ---- transfer ------------------------------------------------------------------

  private transferTlv(): TlvInput {
    const { image } = this.o;
    const value: Value = { hwInfo: { hwId: image.hwId }, fileHash: this.fileHash, fileSize: image.file.length, blockSize: this.o.blockSize };
    if (image.fileName !== undefined) value.fileName = image.fileName;
    if (image.version !== undefined) value.version = image.version;
    return { type: "TransferRequest", value };
  }

  /** TransferRequest to every device still without a TransferResponse. */
  async transfer(): Promise<void> {
    const todo = () => this.states.filter((s) => s.phase === "transferring");
    if (this.o.multicast && todo().length >= this.o.multicastMin) {
      this.sendGroup([this.transferTlv()], true, this.o.answerWindowS);
      // Nothing else goes to the group meanwhile: a request arriving while a
      // device waits to answer would replace that pending answer.
      await this.sleep(this.o.answerWindowS * 1000 + this.o.settleMs);
    }
    for (let i = 0; i < this.o.retries && todo().length; i++) {
      await Promise.all(todo().map((s) => { s.transfers++; return this.request(s, [this.transferTlv()]); }));
    }
    for (const s of todo()) this.fail(s, `no TransferResponse${s.lastError ? ` (${s.lastError})` : ""}`);
  }

  // ---- blocks --------------------------------------------------------------------

  /** Rounds of blocks until no device is receiving. */
  async stream(): Promise<void> {
    for (;;) {
      // A device that lost its transfer (it reported no part of the file) is asked again first.
      for (const s of this.states.filter((x) => x.phase === "transferring")) {
        if (s.transfers >= this.o.retries * 3) this.fail(s, "keeps losing its transfer");
        else { s.transfers++; await this.request(s, [this.transferTlv()]); }
      }
      const active = this.states.filter((s) => s.phase === "receiving");
      if (!active.length) return;
      if (this.round >= this.o.maxRounds) {
        for (const s of active) this.fail(s, `incomplete after ${this.round} rounds (${received(s)}/${this.blocks})`);
        return;
      }
      this.round++;
      const before = new Map(active.map((s) => [s, received(s)]));
      const plan = this.plan(active);
      const asked = await this.sendRound(plan);
      await this.collect(active, asked);
      // Heard from, missed multicast blocks, gained nothing: not in the group (yet).
      if (plan.multicast.length) {
        for (const s of active) {
          if (s.phase === "receiving" && s.heardAtMs >= (asked.get(s) ?? Infinity) && received(s) === before.get(s)) s.unicastOnly = true;
        }
      }
      this.changed();
    }
  }

  /** Which blocks go to the group and which to single devices. */
  private plan(active: DeviceState[]): { multicast: number[]; unicast: Map<DeviceState, number[]> } {
    const multicast: number[] = [];
    const unicast = new Map<DeviceState, number[]>();
    for (let n = 0; n < this.blocks; n++) {
      let missing = active.filter((s) => !s.bits || !s.bits[n]);
      if (this.o.multicast && missing.filter((s) => !s.unicastOnly).length >= this.o.multicastMin) {
        multicast.push(n);
        missing = missing.filter((s) => s.unicastOnly);
      }
      for (const s of missing) {
        const list = unicast.get(s) ?? [];
        list.push(n);
        unicast.set(s, list);
      }
    }
    return { multicast, unicast };
  }

  private blockTlvs(n: number, ask: boolean): TlvInput[] {
    const block: TlvInput = { type: "ImageBlock", value: { fileHash: this.fileHash, blockNum: n, blockData: blockData(this.o.image.file, this.o.blockSize, n) } };
    return ask ? [block, DESCRIBE_IMAGES] : [block];
  }

  /**
   * Sends one round, the streams interleaved block by block; returns when
   * each device was last asked for its bitmap.
   */
  private async sendRound(plan: { multicast: number[]; unicast: Map<DeviceState, number[]> }): Promise<Map<DeviceState, number>> {
    const asked = new Map<DeviceState, number>();
    const streams: { blocks: number[]; ask: Set<number>; send: (n: number, ask: boolean) => void }[] = [];
    const members = this.states.filter((s) => s.phase === "receiving" && !s.unicastOnly);
    if (plan.multicast.length) {
      streams.push({
        blocks: plan.multicast, ask: checkpoints(plan.multicast.length, this.o.queryEveryPercent),
        send: (n, ask) => {
          this.sendGroup(this.blockTlvs(n, ask), this.o.signMulticastBlocks);
          if (ask) for (const s of members) asked.set(s, this.o.timers.nowMs());
        },
      });
    }
    for (const [s, list] of plan.unicast) {
      streams.push({
        blocks: list, ask: checkpoints(list.length, this.o.queryEveryPercent),
        send: (n, ask) => {
          this.sendDevice(s, this.blockTlvs(n, ask), false);
          if (ask) asked.set(s, this.o.timers.nowMs());
        },
      });
    }
    const longest = Math.max(0, ...streams.map((st) => st.blocks.length));
    for (let i = 0; i < longest; i++) {
      for (const st of streams) if (i < st.blocks.length) st.send(st.blocks[i], st.ask.has(i));
      await this.sleep(this.o.blockIntervalMs);
    }
    return asked;
  }

  /** Waits for the round's bitmaps; asks the devices not heard from again (unicast, unsigned). */
  private async collect(active: DeviceState[], asked: Map<DeviceState, number>): Promise<void> {
    await this.sleep(this.o.settleMs);
    for (let i = 0; i < this.o.retries; i++) {
      const stale = active.filter((s) => s.phase === "receiving" && s.heardAtMs < (asked.get(s) ?? 0));
      if (!stale.length) return;
      for (const s of stale) {
        this.sendDevice(s, [DESCRIBE_IMAGES], false);
        asked.set(s, this.o.timers.nowMs());
      }
      await this.sleep(this.o.settleMs);
    }
  }

  // ---- load, confirm, cancel, backup ---------------------------------------------

  /** LoadRequest (loadTime: UTC seconds, 1 = now) to every complete device. */
  async load(loadTime: number): Promise<void> {
    const tlv: TlvInput = { type: "LoadRequest", value: { fileHash: this.fileHash, loadTime } };
    const todo = () => this.states.filter((s) => s.phase === "complete");
    if (this.o.multicast && todo().length >= this.o.multicastMin) {
      this.sendGroup([tlv], true, this.o.answerWindowS);
      await this.sleep(this.o.answerWindowS * 1000 + this.o.settleMs);
    }
    for (let i = 0; i < this.o.retries && todo().length; i++) await Promise.all(todo().map((s) => this.request(s, [tlv])));
    for (const s of todo()) this.fail(s, `no LoadResponse${s.lastError ? ` (${s.lastError})` : ""}`);
  }

  /**
   * After the load times, reads each scheduled device's FirmwareImageInfo
   * until it runs the file. A device whose load time passed without a load
   * pending (a reboot lost it, or the new image fell back) is asked to load
   * now, up to `retries` times.
   */
  async confirm(timeoutMs: number): Promise<void> {
    const deadline = this.o.timers.nowMs() + timeoutMs;
    const latest = Math.max(0, ...this.states.filter((s) => s.phase === "scheduled").map((s) => s.loadTime ?? 0));
    const untilLoad = latest * 1000 - this.o.nms.nowPosix() * 1000;
    if (untilLoad > 0) await this.sleep(Math.min(untilLoad + this.o.settleMs, timeoutMs));
    for (;;) {
      const waiting = this.states.filter((s) => s.phase === "scheduled");
      if (!waiting.length) return;
      if (this.o.timers.nowMs() >= deadline) {
        for (const s of waiting) this.fail(s, "does not run the file by the deadline");
        return;
      }
      await Promise.all(waiting.map((s) => this.poll(s)));
      await this.sleep(this.o.settleMs);
    }
  }

  private async poll(s: DeviceState): Promise<void> {
    let tlvs: Tlv[];
    try {
      tlvs = (await this.o.nms.get(s.eui64, [75], { timeoutMs: 4 * this.o.settleMs })).tlvs;
    } catch {
      return; // rebooting, or lost: next time
    }
    this.absorb(s, tlvs);
    if (s.phase !== "scheduled") return;
    const row = tlvs.map((t) => t.value as Value).find((v) => hex(v.fileHash) === this.hash && v.isRunning !== true);
    const pending = Number(row?.loadTime ?? 0) > 0;
    if (pending || this.o.nms.nowPosix() <= (s.loadTime ?? 0)) return;
    if (++s.loads > this.o.retries) { this.fail(s, "does not keep its load (lost or fell back)"); return; }
    s.phase = "complete";
    await this.request(s, [{ type: "LoadRequest", value: { fileHash: this.fileHash, loadTime: 1 } }]);
  }

  /** CancelLoadRequest to every device with a load scheduled. */
  async cancelLoad(): Promise<void> {
    const tlv: TlvInput = { type: "CancelLoadRequest", value: { fileHash: this.fileHash } };
    const todo = () => this.states.filter((s) => s.phase === "scheduled");
    for (let i = 0; i < this.o.retries && todo().length; i++) await Promise.all(todo().map((s) => this.request(s, [tlv])));
  }

  /** SetBackupRequest for a file (default: this one) to every device not failed; the codes by EUI-64. */
  async setBackup(fileHash: Uint8Array = this.fileHash): Promise<Map<string, number | undefined>> {
    this.backupHash = hex(fileHash);
    const targets = this.states.filter((s) => s.phase !== "failed");
    for (const s of targets) s.backupCode = undefined;
    const tlv: TlvInput = { type: "SetBackupRequest", value: { fileHash } };
    for (let i = 0; i < this.o.retries; i++) {
      const todo = targets.filter((s) => s.backupCode === undefined);
      if (!todo.length) break;
      await Promise.all(todo.map((s) => this.request(s, [tlv])));
    }
    return new Map(targets.map((s) => [s.eui64, s.backupCode]));
  }

  // ---- answers -------------------------------------------------------------------

  private onReport(e: ReportEvent): void {
    const eui = e.device?.eui64 ?? this.o.nms.inventory.byAddress(e.from.address)?.eui64;
    const s = this.states.find((x) => x.eui64 === eui);
    if (s) this.absorb(s, e.tlvs);
  }

  private absorb(s: DeviceState, tlvs: readonly Tlv[]): void {
    absorbAnswer(s, tlvs, {
      hash: this.hash, backupHash: this.backupHash, blocks: this.blocks, round: this.round, retries: this.o.retries, nowMs: this.o.timers.nowMs(),
    });
    this.changed();
  }

  // ---- sending -------------------------------------------------------------------

  /** A CON POST, signed; its answer absorbed. Errors are kept for the failure message. */
  private async request(s: DeviceState, tlvs: TlvInput[]): Promise<void> {
    this.sent.unicast++;
    try {
      const r = await this.o.nms.post(s.eui64, tlvs);
      if (r.code !== null && r.code >> 5 !== 2) s.lastError = `answered ${codeText(r.code)}`;
      this.absorb(s, r.tlvs);
    } catch (e) {
      s.lastError = (e as Error).message;
    }
  }

  private sendGroup(tlvs: TlvInput[], signed: boolean, a?: number): void {
    const m = this.o.multicast!;
    const payload = postPayload(tlvs, m.group, signed ? { keys: this.o.nms.keys, validity: this.o.nms.validityWindow() } : null);
    this.sent.multicast++;
    this.o.nms.client.send(postRequest(payload, { confirmable: false, a }), m.address, this.o.nms.devicePort);
  }

  private sendDevice(s: DeviceState, tlvs: TlvInput[], signed: boolean): void {
    const d = this.o.nms.device(s.eui64);
    if (!d) { s.lastError = "not in the NMS inventory"; return; }
    const payload = postPayload(tlvs, undefined, signed ? { keys: this.o.nms.keys, validity: this.o.nms.validityWindow() } : null);
    this.sent.unicast++;
    this.o.nms.client.send(postRequest(payload, { confirmable: false }), d.address, d.coapPort);
  }

  private fail(s: DeviceState, why: string): void {
    failDevice(s, why);
  }

  private changed(): void {
    this.o.onProgress?.(this.progress());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => { this.o.timers.schedule(ms, resolve); });
  }
}
