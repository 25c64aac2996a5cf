// The NMS's device inventory, keyed by EUI-64 (the DeviceID id text): where
// each device was last seen, its session, registrations, what the NMS
// assigned it, the last value of every TLV it reported and the events it
// raised. No I/O: the simulated NMS feeds it decoded TLVs and timestamps.
import { formatAddress, parseAddress } from "../ipv6.ts";
import { desiredFromProfile, registeredState, type ConfigurationProfile, type DesiredConfiguration, type RegisteredState } from "./profile.ts";
import { tlvIdOf, type Tlv } from "./tlv.ts";

/** The last value of one TLV from one device: every row the message carried. */
export interface MetricRecord {
  tlvId: string;
  name: string;
  rows: Tlv[];
  /** NMS wall time when it arrived, ms since the POSIX epoch. */
  receivedAtMs: number;
  /** The device's CurrentTime.posix in that message, when it had trusted time. */
  deviceTime?: number;
}

/** Event ids as Cisco's schema writes them (EventIdType). */
export interface EventId {
  ianaen?: number;
  code?: number;
}

/** One EventReport (TLV 500) from a device. */
export interface EventRecord {
  seqIndex?: number;
  /** POSIX seconds the device stamped. */
  timestamp?: number;
  id: EventId;
  relatedTlvIds: string[];
  receivedAtMs: number;
  /** Times the same report arrived again (high-priority events are repeated). */
  repeats: number;
}

export interface DeviceRecord {
  eui64: string;
  /** Source address and port of the device's last request. */
  address: string;
  port: number;
  /** Where the device's CoAP server listens (requests from the NMS go there). */
  coapPort: number;
  sessionId: string;
  /** True after a 2.03 that did not redirect it elsewhere. */
  registered: boolean;
  /** POST /r received (answered or not). */
  registrationAttempts: number;
  /** 2.03 answers that registered it. */
  registrations: number;
  /** NMSStatus.lastRegReason of the last POST /r (1 coldstart ... 8 outage recovery). */
  lastRegReason?: number;
  lastRegistrationAtMs?: number;
  /** What the NMS wants it configured with: group memberships it assigned, report subscription. */
  desired: DesiredConfiguration;
  /** What its last registration said it has. */
  reported: RegisteredState;
  /** Last CurrentTime.posix the device sent. */
  lastDeviceTime?: number;
  /** Last value per TLV id text ("22", "e9.1"). */
  metrics: Map<string, MetricRecord>;
  events: EventRecord[];
  /** POST /c messages received (reports, events, asynchronous answers). */
  reports: number;
  /** EventReport TLVs received, repeats included. */
  eventReports: number;
  lastReportAtMs?: number;
}

export type Admission = "open" | "allow-list";

/** What one POST /c changed. */
export interface PayloadRecording {
  metrics: MetricRecord[];
  /** Events not seen before (repeats are counted on the existing record). */
  newEvents: EventRecord[];
  deviceTime?: number;
}

const SIGNING_TLVS = new Set([76, 77]);
const SESSION_ID = 7;
const CURRENT_TIME = 18;
const EVENT_REPORT = 500;

function canonical(address: string): string {
  const b = parseAddress(address.replace(/^\[|\]$/g, ""));
  return b ? formatAddress(b) : address.toLowerCase();
}

function objectOf(t: Tlv): Record<string, unknown> {
  return t.value instanceof Uint8Array ? {} : t.value;
}

function eventOf(t: Tlv, receivedAtMs: number): EventRecord {
  const o = objectOf(t);
  const idObj = (o.id && typeof o.id === "object" ? o.id : {}) as Record<string, unknown>;
  const id: EventId = {};
  if (typeof idObj.ianaen === "number") id.ianaen = idObj.ianaen;
  if (typeof idObj.code === "number") id.code = idObj.code;
  const e: EventRecord = {
    id,
    relatedTlvIds: Array.isArray(o.relatedTlvIds) ? o.relatedTlvIds.filter((x): x is string => typeof x === "string") : [],
    receivedAtMs,
    repeats: 0,
  };
  if (typeof o.seqIndex === "number") e.seqIndex = o.seqIndex;
  if (typeof o.timestamp === "number") e.timestamp = o.timestamp;
  return e;
}

function sameEvent(a: EventRecord, b: EventRecord): boolean {
  return a.seqIndex === b.seqIndex && a.timestamp === b.timestamp && a.id.code === b.id.code && a.id.ianaen === b.id.ianaen;
}

/** CurrentTime.posix of a payload, if present. */
export function deviceTimeOf(tlvs: readonly Tlv[]): number | undefined {
  for (let i = tlvs.length - 1; i >= 0; i--) {
    const posix = tlvs[i].type === CURRENT_TIME ? objectOf(tlvs[i]).posix : undefined;
    if (typeof posix === "number") return posix;
  }
  return undefined;
}

/** SessionID.id of a payload, if present. */
export function sessionIdOf(tlvs: readonly Tlv[]): string | undefined {
  const t = tlvs.find((x) => x.type === SESSION_ID);
  const id = t ? objectOf(t).id : undefined;
  return typeof id === "string" ? id : undefined;
}

/** DeviceID.id (the EUI-64 text, upper case) of a payload, if present. */
export function deviceIdOf(tlvs: readonly Tlv[]): string | undefined {
  const t = tlvs.find((x) => x.name === "DeviceID");
  const id = t ? objectOf(t).id : undefined;
  return typeof id === "string" && id.length ? id.toUpperCase() : undefined;
}

/** NMSStatus.lastRegReason of a payload, if present. */
export function lastRegReasonOf(tlvs: readonly Tlv[]): number | undefined {
  const t = tlvs.find((x) => x.name === "NMSStatus");
  const r = t ? objectOf(t).lastRegReason : undefined;
  return typeof r === "number" ? r : undefined;
}

export class Inventory {
  readonly devices = new Map<string, DeviceRecord>();
  admission: Admission;
  /** EUI-64s admitted in allow-list mode (upper case). */
  readonly allowed = new Set<string>();
  private nextSession = 1;

  constructor(admission: Admission = "open", allowed: readonly string[] = []) {
    this.admission = admission;
    for (const a of allowed) this.allowed.add(a.toUpperCase());
  }

  allow(eui64: string): void {
    this.allowed.add(eui64.toUpperCase());
  }

  disallow(eui64: string): void {
    this.allowed.delete(eui64.toUpperCase());
  }

  /** Whether a device may register (allow-list mode: only listed ones; the draft's 4.03 otherwise). */
  admits(eui64: string): boolean {
    return this.admission === "open" || this.allowed.has(eui64.toUpperCase());
  }

  get(eui64: string): DeviceRecord | undefined {
    return this.devices.get(eui64.toUpperCase());
  }

  /** The device last seen at this address (any port). */
  byAddress(address: string): DeviceRecord | undefined {
    const a = canonical(address);
    for (const d of this.devices.values()) if (canonical(d.address) === a) return d;
    return undefined;
  }

  bySession(sessionId: string): DeviceRecord | undefined {
    for (const d of this.devices.values()) if (d.sessionId === sessionId) return d;
    return undefined;
  }

  /**
   * The record of a device, created on first sight with a new session id
   * (a hex counter, assigned once: later registrations keep it) and its
   * profile as the desired configuration.
   */
  ensure(eui64: string, seen: { address: string; port: number; coapPort: number }, profile: ConfigurationProfile): DeviceRecord {
    const key = eui64.toUpperCase();
    let d = this.devices.get(key);
    if (!d) {
      const sessionId = (this.nextSession++).toString(16).toUpperCase();
      d = {
        eui64: key, address: canonical(seen.address), port: seen.port, coapPort: seen.coapPort, sessionId,
        registered: false, registrationAttempts: 0, registrations: 0,
        desired: desiredFromProfile(sessionId, profile), reported: { groups: [] },
        metrics: new Map(), events: [], reports: 0, eventReports: 0,
      };
      this.devices.set(key, d);
    } else {
      d.address = canonical(seen.address);
      d.port = seen.port;
    }
    return d;
  }

  /** A POST /r arrived: what the device says about itself, before the NMS decides. */
  recordRegistration(d: DeviceRecord, tlvs: readonly Tlv[], receivedAtMs: number): void {
    d.registrationAttempts++;
    const reason = lastRegReasonOf(tlvs);
    if (reason !== undefined) d.lastRegReason = reason;
    d.reported = registeredState(tlvs);
    this.recordValues(d, tlvs, receivedAtMs);
  }

  /** A 2.03 registered the device (a redirect does not). */
  markRegistered(d: DeviceRecord, atMs: number): void {
    d.registered = true;
    d.registrations++;
    d.lastRegistrationAtMs = atMs;
  }

  /** A POST /c (report, events, asynchronous answer) from a known device. */
  recordReport(d: DeviceRecord, tlvs: readonly Tlv[], receivedAtMs: number, from?: { address: string; port: number }): PayloadRecording {
    d.reports++;
    d.lastReportAtMs = receivedAtMs;
    if (from) {
      d.address = canonical(from.address);
      d.port = from.port;
    }
    return this.recordValues(d, tlvs, receivedAtMs);
  }

  private recordValues(d: DeviceRecord, tlvs: readonly Tlv[], receivedAtMs: number): PayloadRecording {
    const deviceTime = deviceTimeOf(tlvs);
    if (deviceTime !== undefined) d.lastDeviceTime = deviceTime;
    // Rows of one TLV in one message replace that TLV's earlier rows together.
    const groups = new Map<string, Tlv[]>();
    const newEvents: EventRecord[] = [];
    for (const t of tlvs) {
      if (SIGNING_TLVS.has(t.type) || t.type === SESSION_ID) continue;
      if (t.type === EVENT_REPORT) {
        d.eventReports++;
        const e = eventOf(t, receivedAtMs);
        const known = d.events.find((x) => sameEvent(x, e));
        if (known) known.repeats++;
        else {
          d.events.push(e);
          newEvents.push(e);
        }
        continue;
      }
      const id = tlvIdOf(t);
      const rows = groups.get(id);
      if (rows) rows.push(t);
      else groups.set(id, [t]);
    }
    const metrics: MetricRecord[] = [];
    for (const [tlvId, rows] of groups) {
      const m: MetricRecord = { tlvId, name: rows[0].name, rows, receivedAtMs };
      if (deviceTime !== undefined) m.deviceTime = deviceTime;
      d.metrics.set(tlvId, m);
      metrics.push(m);
    }
    return deviceTime === undefined ? { metrics, newEvents } : { metrics, newEvents, deviceTime };
  }
}
