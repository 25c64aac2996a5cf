// The simulated NMS's vocabulary: how devices are named, what it emits per
// registration, report and device event, what requests return and take, and
// how it is built. Types only; the behaviour is in sim.ts.
import type { CoapTiming, NmsClient, NmsTimers } from "./client.ts";
import type { Admission, DeviceRecord, EventRecord, PayloadRecording } from "./inventory.ts";
import type { ConfigurationProfile, GroupRef } from "./profile.ts";
import type { Peer, QueryOptions } from "./requests.ts";
import type { NmsKeyPair, SignatureValidityWindow } from "./sign.ts";
import type { Tlv } from "./tlv.ts";
import type { NmsTransport } from "./transport.ts";

/** A device by EUI-64 (from the inventory), by address text ("[2001:db8::1]:61628", "ff02::1") or by address and port. */
export type DeviceRef = string | { address: string; port?: number };

/** How the NMS answers a registration when told to misbehave (tests of the device's back-off). */
export type RegistrationAnswer = "accept" | "forbidden" | "not-found" | "drop";

export type RegistrationOutcome = "registered" | "redirected" | "forbidden" | "not-found" | "dropped" | "malformed";

export interface RegistrationEvent {
  /** DeviceID of the request (null when it had none). */
  eui64: string | null;
  /** The inventory record (null for devices refused by the allow-list or malformed requests). */
  device: DeviceRecord | null;
  from: Peer;
  request: Tlv[];
  outcome: RegistrationOutcome;
  /** CoAP code answered; null when dropped. */
  code: number | null;
  /** The TLVs of the answer as sent (signing TLVs included). */
  answer: Tlv[];
  /** NMSStatus.lastRegReason the device gave. */
  lastRegReason?: number;
}

export interface ReportEvent {
  /** The device the report belongs to (by SessionID, DeviceID or address and port); null when unknown. */
  device: DeviceRecord | null;
  from: Peer;
  tlvs: Tlv[];
  recording: PayloadRecording | null;
  /** True when it was the asynchronous answer to a pending get/post. */
  answered: boolean;
}

export interface DeviceEventEvent {
  device: DeviceRecord;
  event: EventRecord;
}

export interface SimulatedNmsEvents {
  registration: [RegistrationEvent];
  report: [ReportEvent];
  event: [DeviceEventEvent];
  /** Something a person should know (undecodable requests, transport errors); never thrown. */
  warning: [Error];
}

/** One device's answer to a request. */
export interface DeviceAnswer {
  eui64: string | null;
  from: Peer;
  /** The CoAP response code; null for an asynchronous answer (a NON POST /c). */
  code: number | null;
  tlvs: Tlv[];
}

export interface ExchangeResult {
  /** The response code; null when the request was answered asynchronously or not at all (NON, multicast, r). */
  code: number | null;
  /** The answer's TLVs (for several asynchronous answers, the first one's). */
  tlvs: Tlv[];
  /** Every answer: one for a unicast request, one per device for a multicast one. */
  answers: DeviceAnswer[];
}

export interface ExchangeOptions extends QueryOptions {
  /** CON (default for unicast without a/r) or NON. */
  confirmable?: boolean;
  /**
   * Direct answers: hard deadline of the exchange (default: CoAP's own
   * limits). Asynchronous answers: how long to wait for them (default:
   * a seconds plus asyncMarginMs).
   */
  timeoutMs?: number;
  /**
   * Wait for asynchronous answers (default: yes, unless `r` sends them
   * elsewhere; set it when `r` names this NMS's own address).
   */
  awaitAsync?: boolean;
}

export interface GetOptions extends ExchangeOptions {
  /** GET /c/{id} instead of GET /c?q=id (exactly one id). */
  byPath?: boolean;
}

export interface PostOptions extends ExchangeOptions {
  /** Append SignatureValidity + Signature (default: the NMS's `signing`). */
  signed?: boolean;
  /** The signature's validity window (default: now - validityBeforeS .. now + validityAfterS). */
  validity?: SignatureValidityWindow;
  /** GroupMatch TLV (first in the payload); required for multicast: pass null to send one without on purpose. */
  groupMatch?: GroupRef | null;
}

/** SignatureSettings (TLV 79) fields an NMS may set; absent ones stay as they are on the device. */
export interface SignatureSettingsValue {
  reqSignedPost?: boolean;
  reqValidCheckPost?: boolean;
  reqTimeSyncPost?: boolean;
  reqSecLocalPost?: boolean;
  reqSignedResp?: boolean;
  reqValidCheckResp?: boolean;
  reqTimeSyncResp?: boolean;
  reqSecLocalResp?: boolean;
  cert?: Uint8Array;
}

export interface SimulatedNmsOptions {
  /** The network under the NMS; or give a ready `client`. */
  transport?: NmsTransport;
  client?: NmsClient;
  /** Timers (and wall time, when it has wallTimeMs): host/clock.ts's RealClock or VirtualClock. Default: Node's timers. */
  clock?: NmsTimers & { wallTimeMs?(): number };
  /** Alias of clock. */
  timers?: NmsTimers & { wallTimeMs?(): number };
  /** The NMS's POSIX wall time in ms (default: clock.wallTimeMs, else Date.now). */
  wallTimeMs?: () => number;
  /** Uniform [0, 1) for CoAP ids, tokens and back-off jitter. */
  random?: () => number;
  coapTiming?: Partial<CoapTiming>;
  /** The signing key: a key pair or a PEM private key (default: a fresh one). */
  key?: NmsKeyPair | string;
  /** Sign registration answers and POSTs (default true). */
  signing?: boolean;
  /** Signature validity window around now, seconds (defaults 60 before, 3600 after). */
  validityBeforeS?: number;
  validityAfterS?: number;
  /** The configuration profile of devices without their own (default: none: only a SessionID). */
  profile?: ConfigurationProfile;
  /** Per-device profiles by EUI-64. */
  profiles?: Record<string, ConfigurationProfile>;
  /** "open" (default) registers everyone; "allow-list" answers 4.03 to devices not in `allowed`. */
  admission?: Admission;
  allowed?: string[];
  /** Where devices' CSMP servers listen (default 61628). */
  devicePort?: number;
  /** Extra wait for asynchronous answers beyond `a` seconds (default 5000 ms). */
  asyncMarginMs?: number;
}
