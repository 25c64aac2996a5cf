// CSMP TLV payloads for the NMS side: decode a payload into its TLVs and
// encode TLVs into a payload, values through protobufjs from the same
// proto/csmp.proto the agent's generator reads. protobufjs is an independent
// protobuf implementation, so the simulated NMS cannot share a codec bug with
// the agent. Framing lives in tlv-frame.ts, presence rules in
// tlv-message.ts, the schema and TLV id text in tlv-schema.ts.
import { concatBytes } from "../bytes.ts";
import { encodeVarint, framePayload, MAX_UINT32, VENDOR_SUBTYPE_PEN, VENDOR_TLV, type Frame } from "./tlv-frame.ts";
import { decodeMessage, encodeMessage } from "./tlv-message.ts";
import { tlvSchema, tlvType, type TlvSchema } from "./tlv-schema.ts";

export { encodeVarint, readVarint, TlvDecodeError, VENDOR_SUBTYPE_PEN, VENDOR_TLV } from "./tlv-frame.ts";
export { encodeMessage } from "./tlv-message.ts";
export {
  formatTlvId, loadTlvSchema, parseTlvId, parseTlvOptions, tlvIdOf, tlvName, tlvSchema, tlvType, type TlvId, type TlvSchema,
} from "./tlv-schema.ts";

/** One TLV of a payload as decoded. */
export interface Tlv {
  /** TLV id; 127 for vendor TLVs. */
  type: number;
  /** Vendor TLVs: the Private Enterprise Number. */
  pen?: number;
  /** Vendor TLVs: the vendor's type (deployed form) or SubType (draft-09 form). */
  vendorType?: number;
  /** Which vendor framing the bytes used. */
  vendorForm?: "deployed" | "draft";
  /** Message name ("DeviceID"), "Vendor" for 127, "TLV<n>" when unknown. */
  name: string;
  /**
   * The protobuf value as a plain object (only present fields, proto3
   * implicit-presence scalars filled with their default, bytes as
   * Uint8Array, repeated fields always as arrays), or the raw value bytes for
   * vendor TLVs, unknown types and values that failed to decode.
   */
  value: Record<string, unknown> | Uint8Array;
  /** The whole TLV as it was on the wire (header included). */
  raw: Uint8Array;
  /** The value octets. */
  valueBytes: Uint8Array;
  /** Where `raw` starts in the payload. */
  offset: number;
  /** Field numbers in the value that the schema does not define (protobufjs skips them). */
  unknownFields?: number[];
  /** Why a known type's value did not decode (value is then the raw bytes). */
  error?: string;
}

/**
 * How implausible a standard frame is: its type is unknown, or its value does
 * not parse as its message. Used only to choose between vendor readings.
 */
function frameCost(schema: TlvSchema, bytes: Uint8Array, f: Frame): number {
  if (f.form) return 0;
  const type = schema.byType.get(f.type);
  if (!type) return 1;
  try {
    decodeMessage(type, bytes.subarray(f.valueStart, f.end));
    return 0;
  } catch {
    return 1;
  }
}

function decodeValue(schema: TlvSchema, type: number, valueBytes: Uint8Array): Pick<Tlv, "name" | "value" | "unknownFields" | "error"> {
  const mt = schema.byType.get(type);
  if (!mt) return { name: `TLV${type}`, value: new Uint8Array(valueBytes) };
  try {
    const { value, unknown } = decodeMessage(mt, valueBytes);
    return unknown.length ? { name: mt.name, value, unknownFields: unknown } : { name: mt.name, value };
  } catch (e) {
    return { name: mt.name, value: new Uint8Array(valueBytes), error: (e as Error).message };
  }
}

/**
 * Decodes a CSMP payload into its TLVs, in payload order. Throws
 * TlvDecodeError when the framing is broken; a value that does not decode
 * as its message is reported in the entry's `error` instead, so one bad TLV
 * does not hide the rest from a person reading a capture.
 */
export function decodeTlvs(payload: Uint8Array, schema = tlvSchema()): Tlv[] {
  const out: Tlv[] = [];
  for (const f of framePayload(payload, (f) => frameCost(schema, payload, f))) {
    const raw = payload.subarray(f.start, f.end);
    const base = { raw, offset: f.start };
    if (f.form === "deployed") {
      const valueBytes = payload.subarray(f.valueStart, f.end);
      out.push({ type: VENDOR_TLV, pen: f.pen, vendorType: f.vendorType, vendorForm: "deployed", name: "Vendor", value: new Uint8Array(valueBytes), valueBytes, ...base });
    } else if (f.form === "draft") {
      // One entry per vendor SubTLV; a TLV holding only the PEN yields one entry without a vendor type.
      if (!f.subs!.length) {
        out.push({ type: VENDOR_TLV, pen: f.pen, vendorForm: "draft", name: "Vendor", value: new Uint8Array(0), valueBytes: new Uint8Array(0), ...base });
      }
      for (const s of f.subs!) {
        const valueBytes = payload.subarray(s.valueStart, s.end);
        out.push({ type: VENDOR_TLV, pen: f.pen, vendorType: s.subType, vendorForm: "draft", name: "Vendor", value: new Uint8Array(valueBytes), valueBytes, ...base });
      }
    } else {
      const valueBytes = payload.subarray(f.valueStart, f.end);
      out.push({ type: f.type, ...decodeValue(schema, f.type, valueBytes), valueBytes, ...base });
    }
  }
  return out;
}

// ---- encoding ------------------------------------------------------------------

/** What encodeTlvs takes: a message by TLV id or name, or a vendor TLV. A decoded Tlv also fits. */
export interface TlvInput {
  /** TLV id, or the message name ("SessionID"). */
  type: number | string;
  /** Vendor TLVs (type 127): the PEN. */
  pen?: number;
  /** Vendor TLVs: the vendor's type. */
  vendorType?: number;
  /** A plain object (present fields only; a 0 inside a oneof is present) or the exact value bytes. */
  value: Record<string, unknown> | Uint8Array;
}

/** Shorthand: tlv("SessionID", { id: "1" }). */
export function tlv(name: string, value: Record<string, unknown> | Uint8Array): TlvInput {
  return { type: name, value };
}

/** One TLV with minimal varints; vendor TLVs in the deployed form (127 | PEN | type | length | value). */
export function encodeTlv(t: TlvInput, schema = tlvSchema()): Uint8Array {
  const type = typeof t.type === "string" ? tlvType(t.type, schema) : t.type;
  if (!Number.isInteger(type) || type < 0 || type > MAX_UINT32) throw new RangeError(`bad TLV type ${type}`);
  let value: Uint8Array;
  if (t.value instanceof Uint8Array) {
    value = t.value;
  } else {
    const mt = schema.byType.get(type);
    if (!mt || type === VENDOR_TLV) throw new Error(`TLV ${type}: no message to encode an object with; pass the value bytes`);
    value = encodeMessage(mt, t.value);
  }
  if (type === VENDOR_TLV) {
    if (t.pen === undefined || t.vendorType === undefined) throw new Error("vendor TLV 127 needs pen and vendorType");
    return concatBytes([encodeVarint(VENDOR_TLV), encodeVarint(t.pen), encodeVarint(t.vendorType), encodeVarint(value.length), value]);
  }
  return concatBytes([encodeVarint(type), encodeVarint(value.length), value]);
}

export function encodeTlvs(list: readonly TlvInput[], schema = tlvSchema()): Uint8Array {
  return concatBytes(list.map((t) => encodeTlv(t, schema)));
}

/**
 * A vendor TLV in the draft-09 form (127 | length | SubTLV PEN | SubTLVs),
 * for testing decoders against it; CSMP peers in the field use the deployed form.
 */
export function encodeDraftVendorTlv(pen: number, subs: readonly { subType: number; value: Uint8Array }[]): Uint8Array {
  const penValue = encodeVarint(pen);
  const body = concatBytes([
    encodeVarint(VENDOR_SUBTYPE_PEN), encodeVarint(penValue.length), penValue,
    ...subs.flatMap((s) => [encodeVarint(s.subType), encodeVarint(s.value.length), s.value]),
  ]);
  return concatBytes([encodeVarint(VENDOR_TLV), encodeVarint(body.length), body]);
}
