// What the NMS wants a device to be configured with (its "configuration
// profile": group memberships and report subscription), and the draft's rule
// for the 2.03 registration answer: SessionID, GroupAssign and ReportSubscribe
// go back only when they differ from what the device sent in its POST /r.
// Pure functions over decoded TLVs, so the rule is testable without a network.
import type { Tlv, TlvInput } from "./tlv.ts";

/** A group (draft: type 1 configuration, 2 firmware; one id per type on a device). */
export interface GroupRef {
  type: number;
  id: number;
}

/** ReportSubscribe (TLV 13) as the NMS wants it; ids as CSMP text ("22", "e9.12"). */
export interface ReportSubscription {
  interval: number;
  tlvid: string[];
  intervalHeartBeat?: number;
  tlvidHeartBeat?: string[];
}

export interface ConfigurationProfile {
  /** Groups every device on this profile belongs to (GroupAssign when its GroupInfo lacks one). */
  groups?: GroupRef[];
  /** The subscription to keep on the device; absent: the NMS leaves the device's own. */
  reportSubscribe?: ReportSubscription;
}

/** The NMS's view of one device's configuration (starts as a copy of its profile). */
export interface DesiredConfiguration {
  sessionId: string;
  groups: GroupRef[];
  reportSubscribe?: ReportSubscription;
}

/** What a registration POST /r said about the device's current configuration. */
export interface RegisteredState {
  sessionId?: string;
  groups: GroupRef[];
  reportSubscribe?: ReportSubscription;
}

function objectOf(t: Tlv): Record<string, unknown> | null {
  return t.value instanceof Uint8Array ? null : t.value;
}

function numberField(o: Record<string, unknown>, k: string): number | undefined {
  return typeof o[k] === "number" ? (o[k] as number) : undefined;
}

function stringList(o: Record<string, unknown>, k: string): string[] {
  const v = o[k];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** ReportSubscribe as a subscription; undefined for a value that did not decode. */
export function subscriptionOf(t: Tlv): ReportSubscription | undefined {
  const o = objectOf(t);
  if (!o) return undefined;
  const s: ReportSubscription = { interval: numberField(o, "interval") ?? 0, tlvid: stringList(o, "tlvid") };
  const hb = numberField(o, "intervalHeartBeat");
  if (hb !== undefined) s.intervalHeartBeat = hb;
  const hbIds = stringList(o, "tlvidHeartBeat");
  if (hbIds.length) s.tlvidHeartBeat = hbIds;
  return s;
}

/** The configuration a registration payload reports (the last instance wins, as on the device). */
export function registeredState(tlvs: readonly Tlv[]): RegisteredState {
  const state: RegisteredState = { groups: [] };
  for (const t of tlvs) {
    const o = objectOf(t);
    if (!o) continue;
    if (t.name === "SessionID" && typeof o.id === "string") state.sessionId = o.id;
    else if (t.name === "GroupInfo") {
      const type = numberField(o, "type");
      const id = numberField(o, "id");
      if (type !== undefined && id !== undefined) state.groups = [...state.groups.filter((g) => g.type !== type), { type, id }];
    } else if (t.name === "ReportSubscribe") state.reportSubscribe = subscriptionOf(t);
  }
  return state;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Whether the device already has what the NMS wants. Order of ids matters
 * (it is the order of the report); heartbeat fields are compared only when
 * the NMS sets them, as a device that ignores the heartbeat pair (the
 * reference agent does) would otherwise get the same ReportSubscribe forever.
 */
export function sameSubscription(want: ReportSubscription, have: ReportSubscription | undefined): boolean {
  if (!have || want.interval !== have.interval || !sameList(want.tlvid, have.tlvid)) return false;
  if (want.intervalHeartBeat !== undefined && want.intervalHeartBeat !== have.intervalHeartBeat) return false;
  if (want.tlvidHeartBeat !== undefined && !sameList(want.tlvidHeartBeat, have.tlvidHeartBeat)) return false;
  return true;
}

/** ReportSubscribe as a TLV to encode (only the fields the NMS sets). */
export function subscriptionTlv(s: ReportSubscription): TlvInput {
  const value: Record<string, unknown> = { interval: s.interval, tlvid: [...s.tlvid] };
  if (s.intervalHeartBeat !== undefined) value.intervalHeartBeat = s.intervalHeartBeat;
  if (s.tlvidHeartBeat !== undefined) value.tlvidHeartBeat = [...s.tlvidHeartBeat];
  return { type: "ReportSubscribe", value };
}

/**
 * The TLVs of a 2.03 answer (before signing): SessionID, then a GroupAssign
 * per wanted group the device does not report, then ReportSubscribe, each
 * only when it differs from the registration (draft "Registration": the NMS
 * "MUST include" them only if different). GroupEvict is never part of an
 * answer: the draft lists no eviction there, so extra groups stay until the
 * NMS evicts them by POST.
 */
export function registrationAnswerTlvs(want: DesiredConfiguration, have: RegisteredState): TlvInput[] {
  const out: TlvInput[] = [];
  if (have.sessionId !== want.sessionId) out.push({ type: "SessionID", value: { id: want.sessionId } });
  for (const g of want.groups) {
    if (!have.groups.some((h) => h.type === g.type && h.id === g.id)) out.push({ type: "GroupAssign", value: { type: g.type, id: g.id } });
  }
  if (want.reportSubscribe && !sameSubscription(want.reportSubscribe, have.reportSubscribe)) out.push(subscriptionTlv(want.reportSubscribe));
  return out;
}

/** A deep copy, so a device's desired configuration never aliases the profile object. */
export function desiredFromProfile(sessionId: string, profile: ConfigurationProfile): DesiredConfiguration {
  const d: DesiredConfiguration = { sessionId, groups: (profile.groups ?? []).map((g) => ({ ...g })) };
  if (profile.reportSubscribe) {
    d.reportSubscribe = { ...profile.reportSubscribe, tlvid: [...profile.reportSubscribe.tlvid] };
    if (profile.reportSubscribe.tlvidHeartBeat) d.reportSubscribe.tlvidHeartBeat = [...profile.reportSubscribe.tlvidHeartBeat];
  }
  return d;
}
