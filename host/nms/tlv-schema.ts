// The CSMP TLV schema for the NMS side: protobufjs types from
// proto/csmp.proto (package csmp.tlvs) and TLV ids from proto/csmp.options,
// plus TLV ids as CSMP writes them in strings ("11", vendor "e9.12").
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { MAX_UINT32, VENDOR_TLV } from "./tlv-frame.ts";

const PACKAGE = "csmp.tlvs";

// ---- schema -------------------------------------------------------------------

export interface TlvSchema {
  root: protobuf.Root;
  /** TLV id -> message type (vendor 127 maps to VendorTlv but its values stay raw). */
  byType: ReadonlyMap<number, protobuf.Type>;
  /** Message name -> TLV id. */
  byName: ReadonlyMap<string, number>;
}

/**
 * Reads the `<Message> tlv:<id>` lines of proto/csmp.options ('#' starts a
 * comment; other option kinds are ignored). Throws on a malformed tlv entry
 * or a duplicate id.
 */
export function parseTlvOptions(text: string): Map<string, number> {
  const ids = new Map<string, number>();
  const seen = new Map<number, string>();
  text.split("\n").forEach((line, i) => {
    const body = line.replace(/#.*/, "").trim();
    if (body === "") return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+tlv:(\S+)$/.exec(body);
    if (!m) {
      if (/\btlv:/.test(body)) throw new Error(`csmp.options line ${i + 1}: malformed tlv entry: ${body}`);
      return; // max_count and other options
    }
    const id = Number(m[2]);
    if (!/^\d+$/.test(m[2]) || id < 1 || id > MAX_UINT32) throw new Error(`csmp.options line ${i + 1}: bad TLV id ${m[2]}`);
    const dup = seen.get(id);
    if (dup) throw new Error(`csmp.options line ${i + 1}: TLV ${id} is both ${dup} and ${m[1]}`);
    seen.set(id, m[1]);
    ids.set(m[1], id);
  });
  return ids;
}

const defaultProto = fileURLToPath(new URL("../../proto/csmp.proto", import.meta.url));
const defaultOptions = fileURLToPath(new URL("../../proto/csmp.options", import.meta.url));

export function loadTlvSchema(protoPath = defaultProto, optionsPath = defaultOptions): TlvSchema {
  const root = new protobuf.Root().loadSync(protoPath, { keepCase: true });
  root.resolveAll();
  const byType = new Map<number, protobuf.Type>();
  const byName = new Map<string, number>();
  for (const [name, id] of parseTlvOptions(readFileSync(optionsPath, "utf8"))) {
    const type = root.lookupType(`${PACKAGE}.${name}`); // throws when the .proto lacks it
    byType.set(id, type);
    byName.set(name, id);
  }
  return { root, byType, byName };
}

let cached: TlvSchema | undefined;

/** The schema from this repository's proto/ directory, loaded once. */
export function tlvSchema(): TlvSchema {
  cached ??= loadTlvSchema();
  return cached;
}

/** The message name of a TLV id ("TLV<n>" when the schema has none). */
export function tlvName(type: number, schema = tlvSchema()): string {
  return schema.byType.get(type)?.name ?? `TLV${type}`;
}

/** The TLV id of a message name; throws for names the options file does not list. */
export function tlvType(name: string, schema = tlvSchema()): number {
  const id = schema.byName.get(name);
  if (id === undefined) throw new Error(`no TLV id for message ${JSON.stringify(name)}`);
  return id;
}

// ---- TLV ids as text ("11", "e9.12") --------------------------------------------

/** A TLV id as CSMP writes it in strings: a standard type, or a vendor type with its PEN. */
export interface TlvId {
  type: number;
  /** Set for vendor TLVs: then `type` is the vendor's own type number. */
  pen?: number;
}

export function formatTlvId(id: TlvId): string {
  return id.pen === undefined ? String(id.type) : `e${id.pen}.${id.type}`;
}

/** Parses "11" or "e9.12" (decimal only, no signs or spaces); throws otherwise. */
export function parseTlvId(text: string): TlvId {
  const std = /^(0|[1-9]\d*)$/.exec(text);
  if (std) return { type: checkedUint32(Number(std[1]), text) };
  const vendor = /^e(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(text);
  if (vendor) return { type: checkedUint32(Number(vendor[2]), text), pen: checkedUint32(Number(vendor[1]), text) };
  throw new RangeError(`not a TLV id: ${JSON.stringify(text)}`);
}

function checkedUint32(n: number, text: string): number {
  if (n > MAX_UINT32) throw new RangeError(`TLV id out of range: ${JSON.stringify(text)}`);
  return n;
}

/** The text id of a decoded TLV: vendor TLVs are named by PEN and vendor type. */
export function tlvIdOf(t: { type: number; pen?: number; vendorType?: number }): string {
  if (t.type === VENDOR_TLV && t.pen !== undefined && t.vendorType !== undefined) {
    return formatTlvId({ type: t.vendorType, pen: t.pen });
  }
  return formatTlvId({ type: t.type });
}
