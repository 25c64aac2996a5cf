// The fuzzer's device under test: the real agent.wasm in an AgentHost on a
// virtual clock, with an endpoint that records every datagram the agent sends
// synchronously (no network in between), so each input's answers are known
// the moment agent_datagram returns. Setup is deterministic: a given seed
// boots, registers and joins its group the same way every time, which is
// what lets a saved regression input replay.
import { AgentHost } from "../agent.ts";
import { VirtualClock } from "../clock.ts";
import { buildDeviceConfig } from "../device-config.ts";
import { formatAddress, isMulticast, requireAddress, type Ipv6Bytes } from "../ipv6.ts";
import type { LogEntry } from "../log.ts";
import { checkSend, type Datagram, type DatagramHandler, type Endpoint } from "../network.ts";
import { seededRandom } from "../random.ts";
import { MemoryStorage } from "../storage.ts";
import { CoapCode, CoapType, decodeCoap, encodeCoap, get, uriPath, type CoapMessage } from "../nms/coap.ts";
import { encodeTlvs } from "../nms/tlv.ts";
import type { DeterministicSigner } from "./p256-signer.ts";

export const DEVICE_ADDR = "2001:db8::2";
export const DEVICE_PORT = 61628;
export const NMS_ADDR = "2001:db8::1";
export const NMS_PORT = 61629;
/** A peer that is not the NMS (requests from elsewhere in the mesh). */
export const OTHER_ADDR = "2001:db8::99";
export const GROUP_ADDR = "ff03::1";
/** The group the device is assigned at setup: multicast POSTs need GroupMatch 1/5. */
export const GROUP = { type: 1, id: 5 } as const;
export const WALL_START_MS = Date.UTC(2026, 10, 28);
/** Source port of the state snapshot GETs (fuzz inputs never use it). */
export const SNAPSHOT_PORT = 40000;
/** The TLVs whose answer is the state snapshot: ReportSubscribe, NMSSettings, GroupInfo, SignatureSettings, SessionID. */
export const SNAPSHOT_QUERY = "q=13+42+58+79+7";
/** Datagrams sent at one virtual instant beyond which time has stopped moving. */
const STORM_LIMIT = 200;

export interface SentDatagram extends Datagram {
  atMs: number;
}

/** Records what the agent sends instead of moving it anywhere. */
class CaptureEndpoint implements Endpoint {
  readonly sent: SentDatagram[] = [];
  readonly groups = new Set<string>();
  /** The last unicast CON request the agent sent (kept when `sent` is trimmed). */
  lastRequest: CoapMessage | null = null;

  constructor(readonly address: Ipv6Bytes, readonly port: number, private readonly clock: VirtualClock) {}

  send(dst: Ipv6Bytes, dstPort: number, payload: Uint8Array): number {
    const bad = checkSend(dst, dstPort, payload);
    if (bad) return bad;
    this.sent.push({ src: this.address, srcPort: this.port, dst: dst.slice(), dstPort, payload: payload.slice(), atMs: this.clock.nowMs() });
    if (!isMulticast(dst)) {
      try {
        const m = decodeCoap(payload);
        if (m.type === CoapType.Confirmable && m.code >= 1 && m.code <= 4) this.lastRequest = m;
      } catch {
        // not CoAP: the oracle reports it; here it is simply no request
      }
    }
    return 0;
  }

  joinGroup(group: Ipv6Bytes): number {
    this.groups.add(formatAddress(group));
    return 0;
  }

  leaveGroup(group: Ipv6Bytes): number {
    this.groups.delete(formatAddress(group));
    return 0;
  }

  onReceive(_handler: DatagramHandler | null): void {
    // Inputs go straight to AgentHost.deliver; nothing arrives by itself.
  }

  async close(): Promise<void> {}
}

/** One fuzz input as delivered: the bytes and where they come from and go to. */
export interface FuzzInput {
  to: "unicast" | "multicast";
  from: "nms" | "other";
  srcPort: number;
  bytes: Uint8Array;
}

export interface Delivery {
  /** Everything the agent sent during the call. */
  sent: SentDatagram[];
  /** False when the host refused the datagram (too large) before the agent saw it. */
  delivered: boolean;
}

export interface TargetOptions {
  wasm: WebAssembly.Module;
  signer: DeterministicSigner;
  seed: number;
  /** The running image for slot 0 (firmware paths need a real header); optional. */
  runningImage?: Uint8Array;
  /** Sees every log line (the campaign's rough path coverage). */
  onLog?: (e: LogEntry) => void;
}

export class FuzzTarget {
  readonly clock = new VirtualClock({ wallStartMs: WALL_START_MS, wallSynchronised: true });
  readonly endpoint: CaptureEndpoint;
  readonly host: AgentHost;
  readonly storage = new MemoryStorage({ slotSizes: [64 * 1024, 64 * 1024, 64 * 1024] });
  /** Monotonic time when setup finished: regression steps are relative to it. */
  epochMs = 0;
  /** The last lines the agent and host logged (for failure reports). */
  readonly recentLog: string[] = [];
  /** Set when advance() stopped a datagram storm. */
  storm: string | null = null;
  private snapshotMid = 0;
  private readonly signer: DeterministicSigner;

  constructor(o: TargetOptions) {
    this.signer = o.signer;
    if (o.runningImage) this.storage.installImage(0, o.runningImage);
    this.endpoint = new CaptureEndpoint(requireAddress(DEVICE_ADDR), DEVICE_PORT, this.clock);
    this.host = new AgentHost({
      wasm: o.wasm,
      config: buildDeviceConfig({
        eui64: "00173BABFF000001",
        nmsUrl: `coap://[${NMS_ADDR}]:${NMS_PORT}`,
        nmsKey: o.signer.publicKeyHex,
        hardware: { descr: "fuzz target", model: "FZ-1", fwrev: "1.0" },
        interfaces: [{ name: "lowpan0", type: 259, mtu: 1280 }],
        addresses: [{ addr: DEVICE_ADDR, pfxlen: 64 }],
        extra: { "mcast.1": GROUP_ADDR, "fw.hwid": "OPENCSMP" },
      }),
      clock: this.clock,
      storage: this.storage,
      endpoint: this.endpoint,
      random: seededRandom(o.seed),
      restartOnFatal: true,
      log: (e: LogEntry) => {
        o.onLog?.(e);
        this.recentLog.push(`${e.source}: ${e.text}`);
        if (this.recentLog.length > 60) this.recentLog.shift();
      },
    });
  }

  /** Boots the agent, answers its first registration (signed 2.03 with SessionID and GroupAssign). */
  setup(): void {
    this.host.start();
    const from = this.endpoint.sent.length;
    const registration = (): SentDatagram | undefined =>
      this.endpoint.sent.slice(from).find((d) => d.dstPort === NMS_PORT && uriPathOf(d.payload) === "/r");
    this.clock.runUntil(() => registration() !== undefined, 3_600_000);
    const reg = registration();
    if (!reg) throw new Error("fuzz target: the agent never sent POST /r");
    const request = decodeCoap(reg.payload);
    const body = encodeTlvs([{ type: "SessionID", value: { id: "fuzz-session" } }, { type: "GroupAssign", value: { ...GROUP } }]);
    const answer: CoapMessage = {
      type: CoapType.Acknowledgement, code: CoapCode.Valid, mid: request.mid, token: request.token, options: [],
      payload: this.signer.signPayload(body, this.validity()),
    };
    this.deliver({ to: "unicast", from: "nms", srcPort: NMS_PORT, bytes: encodeCoap(answer) });
    if (!this.recentLog.includes("agent: registered")) throw new Error(`fuzz target did not register: ${this.recentLog.slice(-3).join(" / ")}`);
    this.clock.advance(1000);
    this.epochMs = this.clock.nowMs();
  }

  /** POSIX seconds on the device's (and NMS's) wall clock. */
  nowS(): number {
    return Math.floor(this.clock.wallTimeMs() / 1000);
  }

  /** The signature window FND would use now. */
  validity(): { notBefore: number; notAfter: number } {
    const now = this.nowS();
    return { notBefore: now - 60, notAfter: now + 3600 };
  }

  deliver(input: FuzzInput): Delivery {
    const from = this.endpoint.sent.length;
    const d: Datagram = {
      src: requireAddress(input.from === "nms" ? NMS_ADDR : OTHER_ADDR),
      srcPort: input.srcPort,
      dst: requireAddress(input.to === "multicast" ? GROUP_ADDR : DEVICE_ADDR),
      dstPort: DEVICE_PORT,
      payload: input.bytes,
    };
    // A restart after a fatal is scheduled on the clock; deliver() to a dead agent just drops.
    const delivered = this.host.running ? this.host.deliver(d) : false;
    return { sent: this.endpoint.sent.slice(from), delivered };
  }

  /**
   * Runs virtual time; returns what the agent sent meanwhile (reports,
   * retransmissions, async answers). A timer re-armed with 0 ms forever
   * would spin the virtual clock at one instant and hang the fuzzer: past
   * STORM_LIMIT datagrams at the same millisecond time stops, and `storm`
   * says so (the oracle reports it).
   */
  advance(ms: number): SentDatagram[] {
    const from = this.endpoint.sent.length;
    let seen = from, instant = -1, atInstant = 0;
    const stormy = (): boolean => {
      const sent = this.endpoint.sent;
      for (; seen < sent.length; seen++) {
        if (sent[seen].atMs !== instant) { instant = sent[seen].atMs; atInstant = 0; }
        atInstant++;
      }
      return atInstant > STORM_LIMIT;
    };
    if (this.clock.runUntil(stormy, ms)) {
      this.storm = `send storm: over ${STORM_LIMIT} datagrams at virtual time ${instant} ms (a timer re-armed with 0 ms?)`;
      return this.endpoint.sent.slice(from, from + 50);
    }
    return this.endpoint.sent.slice(from);
  }

  /**
   * The device's configuration state as its own GET answer: code byte and
   * payload of GET /c?q=13+42+58+79+7 (null when it did not answer). Message
   * ids only increase, so deduplication never replays an old snapshot.
   */
  snapshot(): Uint8Array | null {
    this.snapshotMid = (this.snapshotMid + 1) & 0xffff;
    const req = encodeCoap({ ...get("/c", [SNAPSHOT_QUERY], Uint8Array.of(0x5a)), mid: this.snapshotMid });
    const { sent } = this.deliver({ to: "unicast", from: "nms", srcPort: SNAPSHOT_PORT, bytes: req });
    for (const d of sent) {
      if (d.dstPort !== SNAPSHOT_PORT) continue;
      const m = decodeCoap(d.payload);
      if (m.type === CoapType.Acknowledgement && m.mid === this.snapshotMid) {
        const out = new Uint8Array(1 + m.payload.length);
        out[0] = m.code;
        out.set(m.payload, 1);
        return out;
      }
    }
    return null;
  }

  /** The last CON request the device sent (registration): what a crafted response must match. */
  lastDeviceRequest(): CoapMessage | null {
    return this.endpoint.lastRequest;
  }

  /** Drops records the campaign no longer needs (long campaigns would otherwise keep every datagram). */
  forget(): void {
    this.endpoint.sent.length = 0;
  }

  /** Stops the agent, and a restart still pending after a fatal. */
  stop(): void {
    this.host.stop();
  }
}

function uriPathOf(bytes: Uint8Array): string | null {
  try {
    return uriPath(decodeCoap(bytes));
  } catch {
    return null;
  }
}
