// Classic pcap files (the libpcap format, not pcapng): a writer for what the
// host sends and receives, so `tshark -r FILE -d udp.port==61628,coap`
// decodes the CoAP, and a reader that pulls the UDP datagrams out of
// captures taken elsewhere (Ethernet, Linux cooked v1/v2, raw IP, BSD
// loopback), e.g. the FND traces in /work/shared/vectors.
import * as fs from "node:fs";
import { type SkipReason, buildIpPacket, parseIpPacket } from "./ip-udp.ts";
import type { Datagram } from "./network.ts";

export const LinkType = {
  /** BSD loopback: 4-byte address family in the capturing host's byte order. */
  Null: 0,
  Ethernet: 1,
  /** Raw IP; the version nibble says IPv4 or IPv6. */
  Raw: 101,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
  LinuxSll2: 276,
} as const;

const MAGIC_MICROS = 0xa1b2c3d4;
const MAGIC_NANOS = 0xa1b23c4d;
const PCAPNG_MAGIC = 0x0a0d0d0a;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
const DEFAULT_SNAPLEN = 65535;

// ---- writer ------------------------------------------------------------------

export interface PcapWriterOptions {
  /** Raw (101, default: carries IPv4 and IPv6) or IPv6 (229: IPv4 peers appear mapped). */
  linkType?: typeof LinkType.Raw | typeof LinkType.Ipv6;
}

/** Where the bytes go: called with the global header first, then one call per record. */
export type PcapSink = (chunk: Uint8Array) => void;

export class PcapWriter {
  private readonly linkType: number;
  private closed = false;
  private count = 0;

  /** `onClose` runs once, from close() (the file writer closes its descriptor there). */
  constructor(private readonly sink: PcapSink, options: PcapWriterOptions = {}, private readonly onClose?: () => void) {
    this.linkType = options.linkType ?? LinkType.Raw;
    const h = new DataView(new ArrayBuffer(GLOBAL_HEADER));
    // Little-endian, microsecond timestamps, version 2.4.
    h.setUint32(0, MAGIC_MICROS, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setInt32(8, 0, true); // thiszone: timestamps are UTC
    h.setUint32(12, 0, true); // sigfigs
    h.setUint32(16, DEFAULT_SNAPLEN, true);
    h.setUint32(20, this.linkType, true);
    sink(new Uint8Array(h.buffer));
  }

  /** A writer appending to a new file (truncated if it exists); each record is written through. */
  static toFile(path: string, options: PcapWriterOptions = {}): PcapWriter {
    const fd = fs.openSync(path, "w", 0o644);
    return new PcapWriter((chunk) => { fs.writeSync(fd, chunk); }, options, () => {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    });
  }

  /** Datagrams written so far. */
  get packets(): number {
    return this.count;
  }

  /** Writes one datagram as an IP/UDP packet; timeMs is wall time (ms since the epoch). */
  write(d: Datagram, timeMs: number): void {
    if (this.closed) throw new Error("pcap writer is closed");
    const pkt = buildIpPacket(d, { ipv6Only: this.linkType === LinkType.Ipv6 });
    const ms = Math.max(0, timeMs);
    let sec = Math.floor(ms / 1000);
    let usec = Math.round((ms - sec * 1000) * 1000);
    if (usec >= 1_000_000) { sec += 1; usec -= 1_000_000; }
    const rec = new Uint8Array(RECORD_HEADER + pkt.length);
    const v = new DataView(rec.buffer);
    v.setUint32(0, sec, true);
    v.setUint32(4, usec, true);
    // Beyond the snap length a reader would see a cut record; CSMP datagrams never get near it.
    const incl = Math.min(pkt.length, DEFAULT_SNAPLEN);
    v.setUint32(8, incl, true);
    v.setUint32(12, pkt.length, true);
    rec.set(pkt.subarray(0, incl), RECORD_HEADER);
    this.sink(rec.subarray(0, RECORD_HEADER + incl));
    this.count++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
  }
}

/** Collects a pcap in memory (tests): `const m = new MemoryPcap(); m.writer.write(...); m.bytes()`. */
export class MemoryPcap {
  private readonly chunks: Uint8Array[] = [];
  readonly writer: PcapWriter;
  constructor(options: PcapWriterOptions = {}) {
    this.writer = new PcapWriter((c) => { this.chunks.push(c.slice()); }, options);
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.chunks));
  }
}

// ---- reader --------------------------------------------------------------------

export interface PcapRecord {
  /** 1-based frame number, as tshark counts. */
  frame: number;
  /** Capture time in ms since the epoch (fractional: µs or ns precision). */
  timeMs: number;
  /** The captured bytes (may be shorter than origLen). */
  data: Uint8Array;
  origLen: number;
}

export interface PcapFile {
  linkType: number;
  snapLen: number;
  records: PcapRecord[];
}

/** Parses a classic pcap file (either byte order, µs or ns timestamps); throws on anything else. */
export function parsePcap(bytes: Uint8Array): PcapFile {
  if (bytes.length < GLOBAL_HEADER) throw new Error("not a pcap file: shorter than its header");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const le = v.getUint32(0, true);
  const be = v.getUint32(0, false);
  if (be === PCAPNG_MAGIC) throw new Error("pcapng is not supported; convert with `editcap -F pcap in.pcapng out.pcap`");
  let little: boolean;
  let nanos: boolean;
  if (le === MAGIC_MICROS || le === MAGIC_NANOS) { little = true; nanos = le === MAGIC_NANOS; }
  else if (be === MAGIC_MICROS || be === MAGIC_NANOS) { little = false; nanos = be === MAGIC_NANOS; }
  else throw new Error(`not a pcap file: magic 0x${be.toString(16).padStart(8, "0")}`);
  const snapLen = v.getUint32(16, little);
  // The upper bits of the link-type field may carry FCS information.
  const linkType = v.getUint32(20, little) & 0xffff;
  const records: PcapRecord[] = [];
  let at = GLOBAL_HEADER;
  while (at + RECORD_HEADER <= bytes.length) {
    const sec = v.getUint32(at, little);
    const frac = v.getUint32(at + 4, little);
    const incl = v.getUint32(at + 8, little);
    const orig = v.getUint32(at + 12, little);
    if (at + RECORD_HEADER + incl > bytes.length) break; // capture cut short mid-record
    records.push({
      frame: records.length + 1,
      timeMs: sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3),
      data: bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + incl),
      origLen: orig,
    });
    at += RECORD_HEADER + incl;
  }
  return { linkType, snapLen, records };
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);

function ipByEthertype(type: number, rest: Uint8Array): Uint8Array | null {
  return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? rest : null;
}

/** The IP packet inside a link-layer frame, or null when the frame carries something else. */
export function ipPayload(linkType: number, frame: Uint8Array): Uint8Array | null {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.length);
  switch (linkType) {
    case LinkType.Raw:
    case LinkType.Ipv4:
    case LinkType.Ipv6:
      return frame;
    case LinkType.Ethernet: {
      let at = 12;
      if (frame.length < at + 2) return null;
      let type = v.getUint16(at);
      while (VLAN_TAGS.has(type) && frame.length >= at + 6) { at += 4; type = v.getUint16(at); }
      return ipByEthertype(type, frame.subarray(at + 2));
    }
    case LinkType.LinuxSll:
      return frame.length < 16 ? null : ipByEthertype(v.getUint16(14), frame.subarray(16));
    case LinkType.LinuxSll2:
      return frame.length < 20 ? null : ipByEthertype(v.getUint16(0), frame.subarray(20));
    case LinkType.Null: {
      if (frame.length < 4) return null;
      // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
      const family = Math.min(v.getUint32(0, true), v.getUint32(0, false));
      return family === 2 || [10, 24, 28, 30].includes(family) ? frame.subarray(4) : null;
    }
    default:
      return null;
  }
}

/** A UDP datagram found in a capture, with where and when. */
export interface CapturedDatagram extends Datagram {
  frame: number;
  timeMs: number;
}

export interface UdpExtraction {
  datagrams: CapturedDatagram[];
  /** Frames that gave no datagram, by reason ("not-udp", "fragment", "link", ...). */
  skipped: Partial<Record<SkipReason | "link", number>>;
}

/** Every UDP datagram of a classic pcap file (ignores non-UDP; no IP reassembly). */
export function extractUdp(bytes: Uint8Array): UdpExtraction {
  const file = parsePcap(bytes);
  const out: UdpExtraction = { datagrams: [], skipped: {} };
  const count = (r: SkipReason | "link") => { out.skipped[r] = (out.skipped[r] ?? 0) + 1; };
  for (const rec of file.records) {
    const ip = ipPayload(file.linkType, rec.data);
    if (!ip) { count("link"); continue; }
    const parsed = parseIpPacket(ip);
    if (!parsed.ok) { count(parsed.skip); continue; }
    out.datagrams.push({ ...parsed.datagram, frame: rec.frame, timeMs: rec.timeMs });
  }
  return out;
}

/** Reads a capture file and returns its UDP datagrams. */
export function readUdpDatagrams(path: string): CapturedDatagram[] {
  return extractUdp(new Uint8Array(fs.readFileSync(path))).datagrams;
}
