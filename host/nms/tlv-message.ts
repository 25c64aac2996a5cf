// TLV values as protobuf messages, with CSMP's presence rules: a field inside
// a `oneof x_present` exists exactly when it was on the wire (a 0 there is
// present and encoded), proto3 fields without a oneof read as their default
// when absent. Decoding is strict about wire types; encoding refuses field
// names protobufjs would silently drop.
import protobuf from "protobufjs";

function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v); // Buffer -> Uint8Array, detached from the payload
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/**
 * The value as a plain object. Oneof members appear only when present on the
 * wire; proto3 scalars outside a oneof have no presence, so their default
 * shows when absent (what the sender meant).
 */
function messageToObject(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  const msg = type.decode(bytes);
  const obj = type.toObject(msg, { longs: Number, arrays: true, defaults: false }) as Record<string, unknown>;
  fillImplicit(type, obj);
  return plain(obj) as Record<string, unknown>;
}

function fillImplicit(type: protobuf.Type, obj: Record<string, unknown>): void {
  for (const f of type.fieldsArray) {
    const v = obj[f.name];
    if (f.resolvedType instanceof protobuf.Type) {
      if (Array.isArray(v)) for (const e of v) fillImplicit(f.resolvedType, e as Record<string, unknown>);
      else if (v && typeof v === "object") fillImplicit(f.resolvedType, v as Record<string, unknown>);
    } else if (!f.partOf && !f.repeated && !(f.name in obj)) {
      obj[f.name] = f.typeDefault instanceof Uint8Array ? new Uint8Array(0) : f.typeDefault;
    }
  }
}

/** The wire type a field's tag must carry (repeated scalars may also come packed, as 2). */
function wireTypesOf(f: protobuf.Field): number[] {
  if (f.resolvedType instanceof protobuf.Type) return [2];
  const basic = (protobuf.types.basic as Record<string, number | undefined>)[f.type];
  if (basic === undefined) return [0]; // enum
  return f.repeated && basic !== 2 ? [basic, 2] : [basic];
}

/**
 * Walks the top-level fields of a value: returns the field numbers the schema
 * does not define, and throws when a known field arrives with the wrong wire
 * type (protobufjs would otherwise read it as its declared type regardless).
 */
function scanFields(type: protobuf.Type, bytes: Uint8Array): number[] {
  const unknown = new Set<number>();
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const f = type.fieldsById[id];
    if (!f) unknown.add(id);
    else if (!wireTypesOf(f).includes(wire)) throw new Error(`field ${f.name} (${id}) with wire type ${wire}`);
    r.skipType(wire);
  }
  return [...unknown];
}

/** Decodes one message value strictly; throws on anything malformed. */
export function decodeMessage(type: protobuf.Type, bytes: Uint8Array): { value: Record<string, unknown>; unknown: number[] } {
  const unknown = scanFields(type, bytes);
  return { value: messageToObject(type, bytes), unknown };
}

/** Rejects names protobufjs would silently drop, then type-checks, at every nesting level. */
function checkObject(type: protobuf.Type, obj: Record<string, unknown>, path: string): void {
  for (const [k, v] of Object.entries(obj)) {
    const f = type.fields[k];
    if (!f) throw new Error(`${path}: no field ${JSON.stringify(k)} in ${type.name}`);
    if (v === undefined || v === null) continue;
    if (f.resolvedType instanceof protobuf.Type) {
      const items = f.repeated ? (v as unknown[]) : [v];
      if (f.repeated && !Array.isArray(v)) throw new Error(`${path}.${k}: array expected`);
      items.forEach((e, i) => checkObject(f.resolvedType as protobuf.Type, e as Record<string, unknown>, f.repeated ? `${path}.${k}[${i}]` : `${path}.${k}`));
    }
  }
  const err = type.verify(obj);
  if (err) throw new Error(`${path}: ${err}`);
}

/** The protobuf encoding of a message value. */
export function encodeMessage(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  checkObject(type, value, type.name);
  return new Uint8Array(type.encode(type.fromObject(value)).finish());
}
