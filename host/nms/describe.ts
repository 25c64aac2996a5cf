// Decoded TLVs as lines a person reads in a log or a CLI: one line per TLV,
// table rows as Name[index], addresses as IPv6 text, EUI-64s and hashes as
// hex, POSIX times as ISO 8601. Every message gets at least the generic form.
import protobuf from "protobufjs";
import { formatAddress } from "../ipv6.ts";
import { parseSignatureValue } from "./sign.ts";
import { decodeTlvs, tlvIdOf, tlvSchema, VENDOR_TLV, type Tlv, type TlvSchema } from "./tlv.ts";

/** The field that identifies the row of each table TLV. */
const ROW_INDEX: Readonly<Record<string, string>> = {
  HardwareDesc: "entPhysicalIndex",
  InterfaceDesc: "ifIndex",
  IPAddress: "ipAddressIndex",
  IPRoute: "inetCidrRouteIndex",
  InterfaceMetrics: "ifIndex",
  IPRouteRPLMetrics: "inetCidrRouteIndex",
  Ieee802154BeaconStats: "ifIndex",
  RPLInstance: "instanceIndex",
  FirmwareImageInfo: "index",
  NetStat: "sessionIndex",
};

/** Bytes fields that hold an IP address. */
const ADDRESS_FIELDS = new Set([
  "ipAddressAddr", "inetCidrRouteDest", "inetCidrRouteNextHop", "doDagId", "ipv6AddressLocal",
  "ipv6AddressGlobal", "NMSAddr", "localAddress", "peerAddress",
]);

/** Bytes fields that carry text (Wi-SUN network name). */
const TEXT_BYTES_FIELDS = new Set(["SSID"]);

/** uint32 fields holding POSIX seconds. */
const TIME_FIELDS = new Set(["posix", "notBefore", "notAfter", "loadTime", "timestamp"]);

/** Small enums from the draft's comments, for fields whose numbers mean little to a reader. */
const ENUMS: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  "IPAddress.ipAddressType": { 1: "unicast", 2: "anycast", 3: "broadcast" },
  "IPAddress.ipAddressOrigin": { 1: "other", 2: "manual", 4: "dhcp", 5: "linklayer", 6: "random" },
  "IPAddress.ipAddressStatus": {
    1: "preferred", 2: "deprecated", 3: "invalid", 4: "inaccessible", 5: "unknown", 6: "tentative", 7: "duplicate", 8: "optimistic",
  },
  "NMSStatus.lastRegReason": {
    1: "coldstart", 2: "administrative", 3: "ip-changed", 4: "nms-changed", 5: "redirect", 6: "nms-error", 7: "cert-changed", 8: "outage-recovery",
  },
  "HardwareDesc.entPhysicalFunction": {
    1: "meter", 2: "range-extender", 3: "da-gateway", 4: "cge", 5: "root", 6: "controller", 7: "sensor", 8: "networknode",
  },
};
const ADDRESS_TYPES: Readonly<Record<number, string>> = { 1: "ipv4", 2: "ipv6", 3: "ipv4z", 4: "ipv6z", 5: "ipv6am" };
const RESPONSE_CODES: Readonly<Record<number, string>> = {
  0: "OK", 1: "INCOMPATIBLE_HW", 2: "IMAGE_INCOMPLETE", 3: "UNKNOWN_HASH", 4: "FILE_SIZE_TOO_BIG", 5: "SIGNATURE_FAILED",
  6: "INVALID_REQ", 7: "INVALID_BLOCK_SIZE", 8: "PENDING_REBOOT", 9: "IMAGE_RUNNING",
};

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex").toUpperCase();
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

function addressText(b: Uint8Array): string {
  if (b.length === 16) return formatAddress(b);
  if (b.length === 4) return Array.from(b).join(".");
  return hex(b);
}

function quoteIfNeeded(s: string): string {
  return /^[\x21-\x7e]+$/.test(s) && !/["=\[\]{}]/.test(s) ? s : JSON.stringify(s);
}

function scalarText(owner: string, field: protobuf.Field, v: unknown): string {
  if (v instanceof Uint8Array) {
    if (ADDRESS_FIELDS.has(field.name) && (v.length === 16 || v.length === 4)) return addressText(v);
    if (TEXT_BYTES_FIELDS.has(field.name) && /^[\x20-\x7e]*$/.test(Buffer.from(v).toString("latin1"))) {
      return JSON.stringify(Buffer.from(v).toString("latin1"));
    }
    return v.length ? hex(v) : '""';
  }
  if (typeof v === "string") return quoteIfNeeded(v);
  if (typeof v === "number") {
    if (TIME_FIELDS.has(field.name)) {
      if (field.name === "loadTime" && v === 1) return "now";
      return v > 1 ? isoTime(v) : String(v);
    }
    if (field.name.endsWith("Type") && /AddrType|DestType|NextHopType/.test(field.name) && ADDRESS_TYPES[v]) return ADDRESS_TYPES[v];
    if (field.name === "response" && RESPONSE_CODES[v] !== undefined) return RESPONSE_CODES[v];
    const e = ENUMS[`${owner}.${field.name}`]?.[v];
    if (e) return e;
  }
  return String(v);
}

function valueText(owner: string, field: protobuf.Field, v: unknown): string {
  if (field.resolvedType instanceof protobuf.Type) {
    const inner = field.resolvedType;
    const one = (x: unknown) => `{${fieldsText(inner, x as Record<string, unknown>, new Set()).join(" ")}}`;
    return field.repeated ? `[${(v as unknown[]).map(one).join(",")}]` : one(v);
  }
  if (field.repeated) return `[${(v as unknown[]).map((x) => scalarText(owner, field, x)).join(",")}]`;
  return scalarText(owner, field, v);
}

/** Row TLVs whose field names repeat the message name: shown without it (ipAddressOrigin -> origin). */
const LABEL_PREFIX: Readonly<Record<string, string>> = { IPAddress: "ipAddress", IPRoute: "inetCidrRoute" };

function label(owner: string, field: string): string {
  const prefix = LABEL_PREFIX[owner];
  if (!prefix || !field.startsWith(prefix) || field.length === prefix.length) return field;
  const rest = field.slice(prefix.length);
  return rest[0].toLowerCase() + rest.slice(1);
}

/** "name=value" for every present field of `type` in declaration order, except `skip`. */
function fieldsText(type: protobuf.Type, obj: Record<string, unknown>, skip: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const f of type.fieldsArray) {
    const v = obj[f.name];
    if (skip.has(f.name) || v === undefined || v === null) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out.push(`${label(type.name, f.name)}=${valueText(type.name, f, v)}`);
  }
  return out;
}

/** Row TLVs whose address and prefix read best as "addr/len". */
function addressRow(name: string, obj: Record<string, unknown>): { head: string[]; used: string[] } | null {
  const bytes = (k: string) => (obj[k] instanceof Uint8Array ? (obj[k] as Uint8Array) : undefined);
  if (name === "IPAddress" && bytes("ipAddressAddr")) {
    const used = ["ipAddressAddr", "ipAddressPfxLen", "ipAddressIfIndex"];
    const pfx = obj.ipAddressPfxLen === undefined ? "" : `/${String(obj.ipAddressPfxLen)}`;
    const head = [`${addressText(bytes("ipAddressAddr")!)}${pfx}`];
    if (obj.ipAddressIfIndex !== undefined) head.push(`if=${String(obj.ipAddressIfIndex)}`);
    if (obj.ipAddressAddrType === 2) used.push("ipAddressAddrType"); // ipv6 is what the text already says
    return { head, used };
  }
  if (name === "IPRoute" && bytes("inetCidrRouteDest")) {
    const used = ["inetCidrRouteDest", "inetCidrRoutePfxLen", "inetCidrRouteNextHop", "inetCidrRouteIfIndex"];
    const pfx = obj.inetCidrRoutePfxLen === undefined ? "" : `/${String(obj.inetCidrRoutePfxLen)}`;
    const head = [`${addressText(bytes("inetCidrRouteDest")!)}${pfx}`];
    if (bytes("inetCidrRouteNextHop")) head.push(`via ${addressText(bytes("inetCidrRouteNextHop")!)}`);
    if (obj.inetCidrRouteIfIndex !== undefined) head.push(`if=${String(obj.inetCidrRouteIfIndex)}`);
    if (obj.inetCidrRouteDestType === 2) used.push("inetCidrRouteDestType");
    if (obj.inetCidrRouteNextHopType === 2) used.push("inetCidrRouteNextHopType");
    return { head, used };
  }
  return null;
}

function signatureText(obj: Record<string, unknown>): string {
  const v = obj.value;
  if (!(v instanceof Uint8Array)) return "Signature (no value)";
  try {
    const s = parseSignatureValue(v);
    return `Signature ecdsa-with-SHA256 r=${hex(s.r)} s=${hex(s.s)}`;
  } catch (e) {
    return `Signature value=${hex(v)} (malformed: ${(e as Error).message})`;
  }
}

/** One line for one decoded TLV. */
export function describeTlv(t: Tlv, schema: TlvSchema = tlvSchema()): string {
  const tail = t.unknownFields?.length ? ` +unknown-fields=${t.unknownFields.join(",")}` : "";
  if (t.type === VENDOR_TLV && t.pen !== undefined) {
    const id = t.vendorType === undefined ? `e${t.pen}` : tlvIdOf(t);
    return `Vendor ${id} (${t.vendorForm} form) len=${t.valueBytes.length}${t.valueBytes.length ? ` ${hex(t.valueBytes)}` : ""}`;
  }
  const type = schema.byType.get(t.type);
  if (!type || t.value instanceof Uint8Array) {
    const why = t.error ? ` undecodable (${t.error})` : type ? "" : " (unknown type)";
    return `${t.name}${why} len=${t.valueBytes.length}${t.valueBytes.length ? ` ${hex(t.valueBytes)}` : ""}`;
  }
  const obj = t.value;
  if (t.name === "Signature") return signatureText(obj) + tail;
  const indexField = ROW_INDEX[t.name];
  const head = indexField && obj[indexField] !== undefined ? `${t.name}[${String(obj[indexField])}]` : t.name;
  const row = addressRow(t.name, obj);
  const skip = new Set([...(indexField ? [indexField] : []), ...(row?.used ?? [])]);
  const parts = [...(row?.head ?? []), ...fieldsText(type, obj, skip)];
  return `${head}${parts.length ? ` ${parts.join(" ")}` : " (empty)"}${tail}`;
}

export function describeTlvs(tlvs: readonly Tlv[], schema: TlvSchema = tlvSchema()): string[] {
  return tlvs.map((t) => describeTlv(t, schema));
}

/** Lines for a whole payload; a framing error becomes a line with the bytes, never an exception. */
export function describePayload(payload: Uint8Array, schema: TlvSchema = tlvSchema()): string[] {
  if (payload.length === 0) return ["(no TLVs)"];
  try {
    return describeTlvs(decodeTlvs(payload, schema), schema);
  } catch (e) {
    return [`undecodable payload (${(e as Error).message}): ${hex(payload)}`];
  }
}
