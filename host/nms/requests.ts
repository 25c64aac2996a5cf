// NMS -> device requests as CSMP shapes them: GET /c with the q/a/r query
// options, POST /c payloads (GroupMatch first, signing TLVs last), device
// addresses as people type them, and how an asynchronous answer (a NON
// POST <nms>/c from the device) is recognised as the answer to a request.
import { formatAddress, isMulticast, parseAddress } from "../ipv6.ts";
import { CoapType, get, post, type CoapMessage } from "./coap.ts";
import type { GroupRef } from "./profile.ts";
import { signPayload, type NmsKeyPair, type SignatureValidityWindow } from "./sign.ts";
import { encodeTlvs, formatTlvId, parseTlvId, tlvIdOf, tlvSchema, tlvType, type Tlv, type TlvInput } from "./tlv.ts";

/** Where the device's CSMP server listens by default (draft: UDP 61628). */
export const CSMP_DEVICE_PORT = 61628;

export interface Peer {
  address: string;
  port: number;
}

/**
 * "[2001:db8::1]:61628", "2001:db8::1", "::1" (no port: defaultPort) as a
 * canonical address and port; throws on anything else.
 */
export function parsePeer(text: string, defaultPort = CSMP_DEVICE_PORT): Peer {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text.trim());
  const addressText = bracketed ? bracketed[1] : text.trim();
  const bytes = parseAddress(addressText);
  const port = bracketed?.[2] !== undefined ? Number(bracketed[2]) : defaultPort;
  if (!bytes || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not an address or [address]:port: ${JSON.stringify(text)}`);
  return { address: formatAddress(bytes), port };
}

export function isMulticastAddress(address: string): boolean {
  const b = parseAddress(address);
  return b !== null && isMulticast(b);
}

/** A TLV id as CSMP writes it in q, DescriptionRequest and ReportSubscribe: 22 -> "22", "ReportSubscribe" -> "13", "e9.1" stays. */
export function tlvIdText(id: number | string): string {
  if (typeof id === "number") return formatTlvId(parseTlvId(String(id)));
  if (/^[A-Za-z]/.test(id) && !/^e\d/.test(id)) return String(tlvType(id, tlvSchema()));
  return formatTlvId(parseTlvId(id));
}

/** Query options a device understands on any request (draft "device interface"). */
export interface QueryOptions {
  /** `a`: the device answers after a random 0..a seconds by NON POST to the NMS. */
  a?: number;
  /** `r`: the URL the asynchronous answer goes to instead of the NMS. */
  r?: string;
}

function queryOptions(o: QueryOptions): string[] {
  const q: string[] = [];
  if (o.a !== undefined) {
    if (!Number.isInteger(o.a) || o.a < 0) throw new RangeError(`a must be a whole number of seconds, got ${o.a}`);
    q.push(`a=${o.a}`);
  }
  if (o.r !== undefined) q.push(`r=${o.r}`);
  return q;
}

export interface GetShape extends QueryOptions {
  confirmable: boolean;
  /** GET /c/{id} instead of GET /c?q=id (one id only). */
  byPath?: boolean;
}

/** GET /c (TlvIndex), GET /c?q=11+12+16 or GET /c/{id}. */
export function getRequest(ids: readonly string[], shape: GetShape): CoapMessage {
  let path = "/c";
  const query: string[] = [];
  if (shape.byPath) {
    if (ids.length !== 1) throw new Error("GET /c/{id} names exactly one TLV");
    path = `/c/${ids[0]}`;
  } else if (ids.length) {
    query.push(`q=${ids.join("+")}`);
  }
  const m = get(path, [...query, ...queryOptions(shape)]);
  return shape.confirmable ? m : { ...m, type: CoapType.NonConfirmable };
}

export function postRequest(payload: Uint8Array, shape: QueryOptions & { confirmable: boolean }): CoapMessage {
  return post("/c", payload, { confirmable: shape.confirmable, query: queryOptions(shape) });
}

export interface Signing {
  keys: NmsKeyPair;
  validity: SignatureValidityWindow;
}

/**
 * A POST /c payload: GroupMatch first (the device checks it right after the
 * signature), then the TLVs in the caller's order, then SignatureValidity
 * and Signature when signing.
 */
export function postPayload(tlvs: readonly TlvInput[], groupMatch: GroupRef | undefined, signing: Signing | null): Uint8Array {
  const all: TlvInput[] = groupMatch ? [{ type: "GroupMatch", value: { type: groupMatch.type, id: groupMatch.id } }, ...tlvs] : [...tlvs];
  const body = encodeTlvs(all);
  return signing ? signPayload(body, signing.keys, signing.validity) : body;
}

/** The TLV ids a DescriptionRequest in the payload asks for (their answer comes back asynchronously when deferred). */
export function describedIds(tlvs: readonly TlvInput[]): string[] {
  const out: string[] = [];
  for (const t of tlvs) {
    if (t.type !== "DescriptionRequest" && t.type !== 8) continue;
    const ids = t.value instanceof Uint8Array ? [] : (t.value.tlvid as unknown);
    if (Array.isArray(ids)) for (const id of ids) out.push(tlvIdText(String(id)));
  }
  return out;
}

/** Always in an asynchronous answer, whatever was asked (draft: SessionID and CurrentTime). */
const ENVELOPE = new Set(["7", "18"]);

/**
 * Whether a device's POST /c answers a request for `expected` ids: it
 * carries at least one of them and nothing else besides SessionID and
 * CurrentTime. A periodic report for other TLVs never matches; one that
 * happens to carry only requested TLVs is indistinguishable, and as good.
 */
export function answersRequest(tlvs: readonly Tlv[], expected: ReadonlySet<string>): boolean {
  let hit = false;
  for (const t of tlvs) {
    const id = tlvIdOf(t);
    if (expected.has(id)) hit = true;
    else if (!ENVELOPE.has(id)) return false;
  }
  return hit;
}
