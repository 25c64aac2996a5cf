// TLVs as a person types them on a command line: a message name or TLV id
// and a JSON object of its fields ('{"interval":60,"tlvid":["22"]}').
// JSON has no bytes, so bytes fields take "0x" + hex (or base64, which
// protobufjs reads itself); IPv6 address fields also take address text.
import protobuf from "protobufjs";
import { parseAddress } from "../ipv6.ts";
import { tlvSchema, tlvType, type TlvInput } from "./tlv.ts";

function bytesFrom(text: string, field: string): Uint8Array | string {
  if (/^0x([0-9a-fA-F]{2})*$/.test(text)) return Uint8Array.from(Buffer.from(text.slice(2), "hex"));
  if (text.includes(":")) {
    const a = parseAddress(text);
    if (!a) throw new Error(`${field}: not an IPv6 address: ${text}`);
    return a;
  }
  return text; // base64
}

function convert(type: protobuf.Type, obj: unknown, path: string): Record<string, unknown> {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new Error(`${path}: a JSON object expected`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const f = type.fields[k];
    if (!f) throw new Error(`${path}: no field ${JSON.stringify(k)} in ${type.name} (fields: ${type.fieldsArray.map((x) => x.name).join(", ")})`);
    const one = (x: unknown, at: string): unknown => {
      if (f.resolvedType instanceof protobuf.Type) return convert(f.resolvedType, x, at);
      if (f.type === "bytes" && typeof x === "string") return bytesFrom(x, at);
      return x;
    };
    if (f.repeated) {
      if (!Array.isArray(v)) throw new Error(`${path}.${k}: a JSON array expected`);
      out[k] = v.map((x, i) => one(x, `${path}.${k}[${i}]`));
    } else {
      out[k] = one(v, `${path}.${k}`);
    }
  }
  return out;
}

/** "ReportSubscribe" or "13" and a JSON text as a TLV to encode. */
export function tlvFromJson(name: string, json: string): TlvInput {
  const schema = tlvSchema();
  const id = /^\d+$/.test(name) ? Number(name) : tlvType(name, schema);
  const type = schema.byType.get(id);
  if (!type || id === 127) throw new Error(`TLV ${name}: no message type to build from JSON`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    throw new Error(`${type.name}: bad JSON (${(e as Error).message})`);
  }
  return { type: id, value: convert(type, parsed, type.name) };
}
