// Generates assembly/generated/csmp.ts from proto/csmp.proto and
// proto/csmp.options: the descriptor tables the table-driven codec
// (assembly/proto/codec.ts) walks, plus zero-cost typed accessors over the
// structs. The layout rules are documented in codec.ts; this file and that
// one must agree.
//
// Only the .proto's syntax is read with protobufjs's parser; every encoding
// decision is ours, so the independent encoder used by the tests (protobufjs's
// runtime) cannot share a bug with the agent's codec.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const KIND = {
  uint32: 0, int32: 1, sint32: 2, bool: 3, uint64: 4, int64: 5, sint64: 6,
  fixed32: 7, sfixed32: 7, float: 7, fixed64: 8, sfixed64: 8, double: 8,
  bytes: 9, string: 9,
};
const K_INT32 = 1, K_BYTES = 9, K_MESSAGE = 10, REPEATED = 0x80;
const AS_TYPE = {
  uint32: "u32", int32: "i32", sint32: "i32", bool: "bool", uint64: "u64", int64: "i64",
  sint64: "i64", fixed32: "u32", sfixed32: "i32", float: "f32", fixed64: "u64",
  sfixed64: "i64", double: "f64",
};
const STORE_TYPE = { bool: "u32" };

/** Parses proto/csmp.options: `<Message> tlv:<id>` and `<Message>.<field> max_count:<n>`. */
export function readOptions(path) {
  const tlv = new Map();
  const maxCount = new Map();
  const agent = new Set();
  readFileSync(path, "utf8").split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
    if (line.startsWith("agent:")) {
      for (const id of line.slice(6).trim().split(/\s+/)) agent.add(Number(id));
      return;
    }
    const m = /^([A-Za-z_][\w.]*)\s+(tlv|max_count):(\d+)$/.exec(line);
    if (!m) throw new Error(`${path}:${i + 1}: cannot read option line: ${raw}`);
    (m[2] === "tlv" ? tlv : maxCount).set(m[1], Number(m[3]));
  });
  return { tlv, maxCount, agent };
}

export function loadSchema() {
  const root = new protobuf.Root().loadSync(`${ROOT}proto/csmp.proto`, { keepCase: true });
  root.resolveAll();
  const pkg = root.lookup("csmp.tlvs");
  const messages = Object.values(pkg.nested).filter((t) => t instanceof protobuf.Type);
  return { root, pkg, messages };
}

const align4 = (n) => (n + 3) & ~3;
const cap1 = (s) => s[0].toUpperCase() + s.slice(1);

/** Computes every struct's layout; throws on anything the codec cannot express. */
function layout(messages, opts) {
  const byName = new Map(messages.map((m) => [m.name, m]));
  const done = new Map();
  const visiting = new Set();
  function lay(msg) {
    if (done.has(msg.name)) return done.get(msg.name);
    if (visiting.has(msg.name)) throw new Error(`recursive message ${msg.name}: not supported`);
    visiting.add(msg.name);
    const presenceBytes = Math.ceil(msg.fieldsArray.length / 8);
    let off = align4(presenceBytes);
    // Field order = number order: the encoder then writes fields as protobuf
    // encoders conventionally do, so agent output can be compared byte for byte.
    const fields = msg.fieldsArray.slice().sort((a, b) => a.id - b.id).map((f, bit) => {
      let kind, size, sub = null;
      if (f.resolvedType instanceof protobuf.Enum) { kind = K_INT32; size = 4; }
      else if (f.resolvedType instanceof protobuf.Type) {
        if (!byName.has(f.resolvedType.name)) throw new Error(`${msg.name}.${f.name}: type outside csmp.tlvs`);
        sub = lay(f.resolvedType); kind = K_MESSAGE; size = sub.size;
      } else if (f.type in KIND) { kind = KIND[f.type]; size = kind >= 4 && kind !== 7 ? 8 : 4; }
      else throw new Error(`${msg.name}.${f.name}: unsupported type ${f.type}`);
      if (f.map) throw new Error(`${msg.name}.${f.name}: map fields are not supported`);
      if (f.id > 0xffff) throw new Error(`${msg.name}.${f.name}: field number ${f.id} too large`);
      const key = `${msg.name}.${f.name}`;
      let cap = 0;
      if (f.repeated) {
        cap = opts.maxCount.get(key);
        if (!cap || cap > 255) throw new Error(`${key}: repeated field needs max_count:1..255 in csmp.options`);
      }
      const field = { name: f.name, id: f.id, kind, cap, offset: off, bit, sub, repeated: f.repeated, type: f.type };
      field.elemSize = size;
      off += f.repeated ? 4 + cap * size : size;
      if (off > 0xffff) throw new Error(`${msg.name}: struct larger than 64 KiB`);
      return field;
    });
    const info = { name: msg.name, size: align4(off), presenceBytes, fields, tlv: opts.tlv.get(msg.name) };
    visiting.delete(msg.name);
    done.set(msg.name, info);
    return info;
  }
  messages.forEach(lay);
  for (const name of opts.tlv.keys()) if (!byName.has(name)) throw new Error(`csmp.options: no message ${name}`);
  for (const key of opts.maxCount.keys()) {
    const [m, f] = key.split(".");
    if (!byName.get(m)?.fields[f]?.repeated) throw new Error(`csmp.options: ${key} is not a repeated field`);
  }
  return messages.map((m) => done.get(m.name));
}

function emitTable(infos) {
  // Pass 1: descriptor offsets; pass 2: bytes.
  let at = 0;
  const descOffset = new Map();
  for (const m of infos) {
    descOffset.set(m.name, at);
    at += 4 + m.fields.reduce((n, f) => n + (f.kind === K_MESSAGE ? 8 : 6), 0);
  }
  const tlvs = infos.filter((m) => m.tlv !== undefined).sort((a, b) => a.tlv - b.tlv);
  const tlvDirOffset = at;
  const bytes = [];
  const u16 = (v) => bytes.push(v & 0xff, v >> 8);
  for (const m of infos) {
    bytes.push(m.fields.length, m.presenceBytes);
    u16(m.size);
    for (const f of m.fields) {
      u16(f.id);
      bytes.push(f.kind | (f.repeated ? REPEATED : 0), f.cap);
      u16(f.offset);
      if (f.kind === K_MESSAGE) u16(descOffset.get(f.sub.name));
    }
  }
  // TLV directory: count u16, then (tlv id u16, descriptor offset u16) sorted by id.
  u16(tlvs.length);
  for (const m of tlvs) { u16(m.tlv); u16(descOffset.get(m.name)); }
  if (bytes.length > 0xffff) throw new Error("descriptor table larger than 64 KiB");
  return { bytes, descOffset, tlvDirOffset };
}

/**
 * The messages the agent itself encodes or decodes: the TLVs listed on the
 * `agent:` line of csmp.options and every message nested in them. The
 * release build carries only their descriptors (the test build has all).
 */
function agentSubset(infos, opts) {
  const byName = new Map(infos.map((m) => [m.name, m]));
  const keep = new Set();
  const visit = (m) => {
    if (keep.has(m.name)) return;
    keep.add(m.name);
    for (const f of m.fields) if (f.sub) visit(byName.get(f.sub.name));
  };
  for (const id of opts.agent) {
    const m = infos.find((x) => x.tlv === id);
    if (!m) throw new Error(`csmp.options agent: no TLV ${id}`);
    visit(m);
  }
  return infos.filter((m) => keep.has(m.name));
}

function emitAccessors(m, full, agent) {
  const L = [];
  const self = "changetype<usize>(this)";
  L.push(`/** Bytes of a ${m.name} struct (for memory.data). */`);
  L.push(`export const ${m.name}_SIZE: i32 = ${m.size};`);
  L.push(`/** ${m.tlv !== undefined ? `TLV ${m.tlv}` : "nested message"}: a view over a ${m.size}-byte struct. */`);
  L.push(`@unmanaged export class ${m.name} {`);
  if (agent.descOffset.has(m.name)) {
    L.push(`  @inline static desc(): usize { return PB_TABLE + (PB_FULL_SCHEMA ? ${full.descOffset.get(m.name)} : ${agent.descOffset.get(m.name)}); }`);
  } else {
    L.push(`  @inline static desc(): usize { if (!PB_FULL_SCHEMA) ERROR("${m.name} is not in the agent's TLV set: add its id to the agent: line of proto/csmp.options"); return PB_TABLE + ${full.descOffset.get(m.name)}; }`);
  }
  if (m.tlv !== undefined) L.push(`  @inline static tlv(): u32 { return ${m.tlv}; }`);
  L.push(`  @inline static at(ptr: usize): ${m.name} { return changetype<${m.name}>(ptr); }`);
  L.push(`  @inline clear(): void { memory.fill(${self}, 0, ${m.size}); }`);
  for (const f of m.fields) {
    const N = cap1(f.name);
    const o = f.offset;
    if (f.repeated) {
      const e = (i) => `${self} + ${o + 4} + <usize>${i} * ${f.elemSize}`;
      L.push(`  @inline get ${f.name}Count(): i32 { return load<i32>(${self}, ${o}); }`);
      L.push(`  @inline set ${f.name}Count(n: i32) { store<i32>(${self}, n, ${o}); }`);
      const grow = `const n = load<i32>(${self}, ${o}); if (n >= ${f.cap}) return`;
      if (f.kind === K_MESSAGE) {
        L.push(`  @inline ${f.name}(i: i32): ${f.sub.name} { return changetype<${f.sub.name}>(${e("i")}); }`);
        L.push(`  /** Appends a cleared element; returns a null view when all ${f.cap} are in use. */`);
        L.push(`  add${N}(): ${f.sub.name} { ${grow} changetype<${f.sub.name}>(0); store<i32>(${self}, n + 1, ${o}); const p = ${e("n")}; memory.fill(p, 0, ${f.elemSize}); return changetype<${f.sub.name}>(p); }`);
      } else if (f.kind === K_BYTES) {
        L.push(`  @inline ${f.name}Ptr(i: i32): usize { return <usize>load<u32>(${e("i")}); }`);
        L.push(`  @inline ${f.name}Len(i: i32): i32 { return load<i32>(${e("i")}, 4); }`);
        L.push(`  add${N}(ptr: usize, len: i32): bool { ${grow} false; store<i32>(${self}, n + 1, ${o}); const p = ${e("n")}; store<u32>(p, <u32>ptr); store<i32>(p, len, 4); return true; }`);
      } else {
        const t = AS_TYPE[f.type] ?? "i32", st = STORE_TYPE[f.type] ?? t;
        const v = st === t ? "v" : `<${st}>v`;
        L.push(`  @inline ${f.name}(i: i32): ${t} { return <${t}>load<${st}>(${e("i")}); }`);
        L.push(`  add${N}(v: ${t}): bool { ${grow} false; store<i32>(${self}, n + 1, ${o}); store<${st}>(${e("n")}, ${v}); return true; }`);
      }
      continue;
    }
    L.push(`  @inline get has${N}(): bool { return pbHas(${self}, ${f.bit}); }`);
    L.push(`  @inline clear${N}(): void { pbClearHas(${self}, ${f.bit}); }`);
    if (f.kind === K_MESSAGE) {
      L.push(`  @inline get ${f.name}(): ${f.sub.name} { return changetype<${f.sub.name}>(${self} + ${o}); }`);
      L.push(`  /** Marks ${f.name} present (cleared if it was absent) and returns it. */`);
      L.push(`  use${N}(): ${f.sub.name} { const p = ${self} + ${o}; if (!pbHas(${self}, ${f.bit})) { memory.fill(p, 0, ${f.elemSize}); pbSetHas(${self}, ${f.bit}); } return changetype<${f.sub.name}>(p); }`);
    } else if (f.kind === K_BYTES) {
      L.push(`  @inline get ${f.name}Ptr(): usize { return <usize>load<u32>(${self}, ${o}); }`);
      L.push(`  @inline get ${f.name}Len(): i32 { return load<i32>(${self}, ${o + 4}); }`);
      L.push(`  set${N}(ptr: usize, len: i32): void { store<u32>(${self}, <u32>ptr, ${o}); store<i32>(${self}, len, ${o + 4}); pbSetHas(${self}, ${f.bit}); }`);
    } else {
      const t = AS_TYPE[f.type] ?? "i32", st = STORE_TYPE[f.type] ?? t;
      const v = st === t ? "v" : `<${st}>v`;
      L.push(`  @inline get ${f.name}(): ${t} { return <${t}>load<${st}>(${self}, ${o}); }`);
      L.push(`  set ${f.name}(v: ${t}) { store<${st}>(${self}, ${v}, ${o}); pbSetHas(${self}, ${f.bit}); }`);
    }
  }
  L.push("}");
  return L.join("\n");
}

export function generate(out = `${ROOT}assembly/generated/csmp.ts`) {
  const opts = readOptions(`${ROOT}proto/csmp.options`);
  const { messages } = loadSchema();
  const infos = layout(messages, opts);
  const full = emitTable(infos);
  const agentInfos = agentSubset(infos, opts);
  const agent = emitTable(agentInfos);
  const largest = infos.reduce((a, m) => (m.size > a.size ? m : a));
  const src = [
    "// GENERATED by scripts/gen-tlv-codec.mjs from proto/csmp.proto and proto/csmp.options.",
    "// Do not edit; run `npm run build`.",
    'import { pbHas, pbSetHas, pbClearHas } from "../proto/codec";',
    "",
    `// PB_FULL_SCHEMA (asc --use, asconfig.json) picks the table: the test build`,
    `// has every message (${full.bytes.length} bytes), the agent only its own (${agent.bytes.length} bytes).`,
    `/** Descriptor tables, layout in assembly/proto/codec.ts. */`,
    `export const PB_TABLE: usize = PB_FULL_SCHEMA ? memory.data<u8>([${full.bytes.join(",")}]) : memory.data<u8>([${agent.bytes.join(",")}]);`,
    `/** TLV directory: u16 count, then (u16 TLV id, u16 descriptor offset) sorted by id. */`,
    `export const PB_TLV_DIR: usize = PB_TABLE + (PB_FULL_SCHEMA ? ${full.tlvDirOffset} : ${agent.tlvDirOffset});`,
    `/** Size of the largest struct (${largest.name}). */`,
    `export const PB_MAX_STRUCT: i32 = ${largest.size};`,
    "",
    ...infos.map((m) => emitAccessors(m, full, agent)),
    "",
  ].join("\n");
  mkdirSync(new URL(".", `file://${out}`), { recursive: true });
  writeFileSync(out, src);
  return { infos, tableBytes: full.bytes.length, agentTableBytes: agent.bytes.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { infos, tableBytes, agentTableBytes } = generate();
  console.log(`generated ${infos.length} messages, descriptor tables ${tableBytes} bytes (agent: ${agentTableBytes})`);
}
