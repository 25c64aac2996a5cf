// IP + UDP packets around a datagram, for captures: build them (IPv6, or
// IPv4 when both ends are IPv4-mapped) with correct lengths and checksums so
// Wireshark shows no errors, and parse them back (IPv4 options, IPv6
// extension headers).
import { IPV6_LEN, ipv4Mapped, isIpv4Mapped } from "./ipv6.ts";
import type { Datagram } from "./network.ts";

export const IPPROTO_UDP = 17;
const IPV6_HEADER = 40;
const IPV4_HEADER = 20;
const UDP_HEADER = 8;

/** One's complement sum of 16-bit big-endian words (odd tail padded with zero). */
function sum16(bytes: Uint8Array, acc = 0): number {
  for (let i = 0; i + 1 < bytes.length; i += 2) acc += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) acc += bytes[bytes.length - 1] << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/**
 * The UDP checksum of a datagram (RFC 768 / RFC 8200 8.1), over the IPv4 or
 * IPv6 pseudo-header as the addresses dictate (ipv6Only: always IPv6, as
 * buildIpPacket). Zero is sent as 0xffff.
 */
export function udpChecksum(d: Datagram, ipv6Only = false): number {
  const udpLen = UDP_HEADER + d.payload.length;
  let acc: number;
  if (!ipv6Only && isIpv4Mapped(d.src) && isIpv4Mapped(d.dst)) {
    acc = sum16(d.src.subarray(12)) + sum16(d.dst.subarray(12)) + IPPROTO_UDP + udpLen;
  } else {
    acc = sum16(d.src) + sum16(d.dst) + Math.floor(udpLen / 0x10000) + (udpLen & 0xffff) + IPPROTO_UDP;
  }
  acc += d.srcPort + d.dstPort + udpLen; // UDP header, checksum field zero
  acc = sum16(d.payload, acc);
  const c = ~fold(acc) & 0xffff;
  return c === 0 ? 0xffff : c;
}

function writeUdp(out: DataView, at: number, d: Datagram, ipv6: boolean): void {
  out.setUint16(at, d.srcPort);
  out.setUint16(at + 2, d.dstPort);
  out.setUint16(at + 4, UDP_HEADER + d.payload.length);
  out.setUint16(at + 6, udpChecksum(d, ipv6));
  new Uint8Array(out.buffer, out.byteOffset + at + UDP_HEADER).set(d.payload);
}

let ipv4Ident = 0;

/**
 * The datagram as a complete IP packet: IPv4 when both addresses are
 * IPv4-mapped (unless ipv6Only, for links that carry only IPv6), else IPv6.
 */
export function buildIpPacket(d: Datagram, options: { hopLimit?: number; ipv6Only?: boolean } = {}): Uint8Array {
  const hopLimit = options.hopLimit ?? 64;
  const udpLen = UDP_HEADER + d.payload.length;
  if (!options.ipv6Only && isIpv4Mapped(d.src) && isIpv4Mapped(d.dst)) {
    if (IPV4_HEADER + udpLen > 0xffff) throw new RangeError(`datagram of ${d.payload.length} bytes does not fit IPv4`);
    const pkt = new Uint8Array(IPV4_HEADER + udpLen);
    const v = new DataView(pkt.buffer);
    v.setUint8(0, 0x45);
    v.setUint16(2, pkt.length);
    v.setUint16(4, ipv4Ident++ & 0xffff);
    v.setUint16(6, 0x4000); // don't fragment
    v.setUint8(8, hopLimit);
    v.setUint8(9, IPPROTO_UDP);
    pkt.set(d.src.subarray(12), 12);
    pkt.set(d.dst.subarray(12), 16);
    v.setUint16(10, ~fold(sum16(pkt.subarray(0, IPV4_HEADER))) & 0xffff);
    writeUdp(v, IPV4_HEADER, d, false);
    return pkt;
  }
  if (udpLen > 0xffff) throw new RangeError(`datagram of ${d.payload.length} bytes needs a jumbogram`);
  const pkt = new Uint8Array(IPV6_HEADER + udpLen);
  const v = new DataView(pkt.buffer);
  v.setUint32(0, 0x60000000); // version 6, traffic class 0, flow label 0
  v.setUint16(4, udpLen);
  v.setUint8(6, IPPROTO_UDP);
  v.setUint8(7, hopLimit);
  pkt.set(d.src, 8);
  pkt.set(d.dst, 24);
  writeUdp(v, IPV6_HEADER, d, true);
  return pkt;
}

/** Why a packet yielded no datagram (for counting, not for errors). */
export type SkipReason = "not-ip" | "not-udp" | "fragment" | "truncated" | "malformed";

export type ParsedPacket = { ok: true; datagram: Datagram } | { ok: false; skip: SkipReason };

function skip(reason: SkipReason): ParsedPacket {
  return { ok: false, skip: reason };
}

function parseUdp(src: Uint8Array, dst: Uint8Array, udp: Uint8Array): ParsedPacket {
  if (udp.length < UDP_HEADER) return skip("truncated");
  const v = new DataView(udp.buffer, udp.byteOffset, udp.length);
  const len = v.getUint16(4);
  if (len < UDP_HEADER) return skip("malformed"); // 0 would be a jumbogram
  if (len > udp.length) return skip("truncated");
  return {
    ok: true,
    datagram: { src, srcPort: v.getUint16(0), dst, dstPort: v.getUint16(2), payload: udp.slice(UDP_HEADER, len) },
  };
}

function parseIpv4(p: Uint8Array): ParsedPacket {
  if (p.length < IPV4_HEADER) return skip("truncated");
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const ihl = (p[0] & 0x0f) * 4;
  const total = v.getUint16(2);
  if (ihl < IPV4_HEADER || total < ihl) return skip("malformed");
  if (p.length < ihl) return skip("truncated");
  if (p[9] !== IPPROTO_UDP) return skip("not-udp");
  // Reassembly is out of scope: only whole datagrams are extracted.
  if ((v.getUint16(6) & 0x3fff) !== 0) return skip("fragment");
  const end = Math.min(total, p.length);
  return parseUdp(ipv4Mapped(p.subarray(12, 16)), ipv4Mapped(p.subarray(16, 20)), p.subarray(ihl, end));
}

// Extension headers whose length is (hdrExtLen + 1) * 8: hop-by-hop,
// routing, destination options, mobility, HIP, shim6.
const IPV6_GENERIC_EXT = new Set([0, 43, 60, 135, 139, 140]);
const IPV6_FRAGMENT = 44;
const IPV6_AH = 51;

function parseIpv6(p: Uint8Array): ParsedPacket {
  if (p.length < IPV6_HEADER) return skip("truncated");
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const payloadLen = v.getUint16(4);
  if (payloadLen === 0) return skip("malformed"); // jumbogram (hop-by-hop option), not supported
  const end = Math.min(IPV6_HEADER + payloadLen, p.length);
  let next = p[6];
  let at = IPV6_HEADER;
  while (next !== IPPROTO_UDP) {
    if (at + 8 > end) return skip("truncated");
    if (IPV6_GENERIC_EXT.has(next)) {
      const len = (p[at + 1] + 1) * 8;
      next = p[at];
      at += len;
    } else if (next === IPV6_FRAGMENT) {
      const offsetAndMore = v.getUint16(at + 2);
      if ((offsetAndMore & 0xfff9) !== 0) return skip("fragment"); // offset != 0 or M set
      next = p[at];
      at += 8;
    } else if (next === IPV6_AH) {
      const len = (p[at + 1] + 2) * 4;
      next = p[at];
      at += len;
    } else {
      return skip("not-udp"); // TCP, ICMPv6, ESP, no-next-header, ...
    }
  }
  if (at > end) return skip("truncated");
  return parseUdp(p.slice(8, 8 + IPV6_LEN), p.slice(24, 24 + IPV6_LEN), p.subarray(at, end));
}

/** Parses an IPv4 or IPv6 packet (version from the first nibble) into its UDP datagram. */
export function parseIpPacket(p: Uint8Array): ParsedPacket {
  if (p.length < 1) return skip("truncated");
  switch (p[0] >> 4) {
    case 4: return parseIpv4(p);
    case 6: return parseIpv6(p);
    default: return skip("not-ip");
  }
}
