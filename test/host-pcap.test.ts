import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeCoap, codeText, uriPath, uriQueries } from "../host/nms/coap.ts";

/** The parts of a CoAP message these checks look at, or null when it is not CoAP. */
function summarizeCoap(bytes: Uint8Array) {
  try {
    const m = decodeCoap(bytes);
    const q = uriQueries(m);
    const type = ["CON", "NON", "ACK", "RST"][m.type];
    const code = m.code > 0 && m.code < 32 ? ["", "GET", "POST", "PUT", "DELETE"][m.code] : codeText(m.code);
    return { type, code, mid: m.mid, token: m.token, uri: `${uriPath(m)}${q.length ? `?${q.join("&")}` : ""}` };
  } catch {
    return null;
  }
}
import { buildIpPacket, udpChecksum } from "../host/ip-udp.ts";
import { formatAddress, requireAddress } from "../host/ipv6.ts";
import type { Datagram } from "../host/network.ts";
import { LinkType, MemoryPcap, PcapWriter, extractUdp, parsePcap, readUdpDatagrams } from "../host/pcap.ts";

const VECTORS = "/work/shared/vectors";
const work = mkdtempSync(join(tmpdir(), "csmp-pcap-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const hex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

function dgram(src: string, srcPort: number, dst: string, dstPort: number, payload: Uint8Array): Datagram {
  return { src: requireAddress(src), srcPort, dst: requireAddress(dst), dstPort, payload };
}

// CON GET /c?q=11 with token 0x03, MID 3 (the shape of the NMS's requests).
const GET_Q11 = hex("41 01 00 03 03 b1 63 44 71 3d 31 31");
// ACK 2.05 with the same token and a 3-byte payload.
const ACK_205 = hex("61 45 00 03 03 ff 0b 01 02");

/** A classic pcap of arbitrary link type and byte order, for reader tests. */
function rawPcap(linkType: number, frames: Uint8Array[], opts: { bigEndian?: boolean; nanos?: boolean } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const parts: Uint8Array[] = [];
  const h = new DataView(new ArrayBuffer(24));
  h.setUint32(0, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  h.setUint16(4, 2, le);
  h.setUint16(6, 4, le);
  h.setUint32(16, 262144, le);
  h.setUint32(20, linkType, le);
  parts.push(new Uint8Array(h.buffer));
  frames.forEach((f, i) => {
    const r = new DataView(new ArrayBuffer(16));
    r.setUint32(0, 1_700_000_000 + i, le);
    r.setUint32(4, opts.nanos ? 123_456_789 : 123_456, le);
    r.setUint32(8, f.length, le);
    r.setUint32(12, f.length, le);
    parts.push(new Uint8Array(r.buffer), f);
  });
  return new Uint8Array(Buffer.concat(parts));
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

describe("pcap writer", () => {
  it("round-trips IPv6 and IPv4-mapped datagrams with timestamps", () => {
    const m = new MemoryPcap();
    const a = dgram("2001:db8::2", 62590, "2001:db8::188", 61628, GET_Q11);
    const b = dgram("::ffff:192.0.2.7", 5683, "::ffff:192.0.2.8", 61628, ACK_205);
    const c = dgram("::1", 61628, "::1", 40000, new Uint8Array()); // empty payload
    m.writer.write(a, 1_700_000_000_123.456);
    m.writer.write(b, 1_700_000_001_000);
    m.writer.write(c, 1_700_000_002_999.9996);
    m.writer.close();
    expect(m.writer.packets).toBe(3);
    const file = parsePcap(m.bytes());
    expect(file.linkType).toBe(LinkType.Raw);
    expect(file.records.map((r) => r.data[0] >> 4)).toEqual([6, 4, 6]);
    const out = extractUdp(m.bytes());
    expect(out.skipped).toEqual({});
    expect(out.datagrams).toHaveLength(3);
    for (const [got, want] of out.datagrams.map((d, i) => [d, [a, b, c][i]] as const)) {
      expect(formatAddress(got.src)).toBe(formatAddress(want.src));
      expect(formatAddress(got.dst)).toBe(formatAddress(want.dst));
      expect([got.srcPort, got.dstPort]).toEqual([want.srcPort, want.dstPort]);
      expect(got.payload).toEqual(want.payload);
    }
    expect(out.datagrams[0].timeMs).toBeCloseTo(1_700_000_000_123.456, 3);
    expect(out.datagrams[2].timeMs).toBe(1_700_000_003_000); // µs rounding carries into seconds
  });

  it("writes LINKTYPE_IPV6 when asked, IPv4 peers as mapped IPv6", () => {
    const m = new MemoryPcap({ linkType: LinkType.Ipv6 });
    m.writer.write(dgram("::ffff:10.0.0.1", 1, "::ffff:10.0.0.2", 2, GET_Q11), 0);
    const file = parsePcap(m.bytes());
    expect(file.linkType).toBe(229);
    expect(file.records[0].data[0] >> 4).toBe(6); // an IPv6-only link carries no IPv4 packet
    const [d] = extractUdp(m.bytes()).datagrams;
    expect(formatAddress(d.src)).toBe("::ffff:10.0.0.1");
    expect(d.payload).toEqual(GET_Q11);
  });

  it("computes lengths and the UDP checksum like a stack does", () => {
    const d = dgram("2001:db8::1", 1234, "2001:db8::2", 61628, GET_Q11);
    const pkt = buildIpPacket(d);
    const v = new DataView(pkt.buffer);
    expect(pkt.length).toBe(40 + 8 + GET_Q11.length);
    expect(v.getUint16(4)).toBe(8 + GET_Q11.length); // IPv6 payload length
    expect(v.getUint16(44)).toBe(8 + GET_Q11.length); // UDP length
    // Summing the whole packet with its pseudo-header gives 0xffff when the checksum is right.
    expect(v.getUint16(46)).toBe(udpChecksum(d));
    const fromVector = readUdpDatagrams(join(VECTORS, "csmp_get.pcap"))[0];
    const original = readFileSync(join(VECTORS, "csmp_get.pcap"));
    // Frame 1 of the vector: Ethernet(14) + IPv6(40), UDP checksum at offset 6 of the UDP header.
    const checksumOnWire = original.readUInt16BE(24 + 16 + 14 + 40 + 6);
    expect(udpChecksum(fromVector)).toBe(checksumOnWire);
  });

  it("writes through to a file that closes cleanly", () => {
    const path = join(work, "through.pcap");
    const w = PcapWriter.toFile(path);
    w.write(dgram("::1", 5683, "::1", 61628, GET_Q11), 1_000);
    expect(readUdpDatagrams(path)).toHaveLength(1); // readable before close
    w.close();
    w.close();
    expect(() => w.write(dgram("::1", 1, "::1", 2, GET_Q11), 0)).toThrow(/closed/);
  });
});

describe("pcap reader on the captured FND traffic", () => {
  it("finds the NMS GET /c?q=N requests with 1-byte tokens in csmp_get.pcap", () => {
    const all = readUdpDatagrams(join(VECTORS, "csmp_get.pcap"));
    expect(all).toHaveLength(36);
    const requests = all.filter((d) => d.dstPort === 61628 && summarizeCoap(d.payload)?.code === "GET");
    expect(requests).toHaveLength(17);
    for (const r of requests) {
      expect(formatAddress(r.src)).toBe("2018::2");
      expect(formatAddress(r.dst)).toBe("2018::188");
      expect(r.srcPort).toBe(62590);
    }
    const coap = requests.map((r) => summarizeCoap(r.payload)!);
    expect(coap.map((c) => c.uri)).toEqual(
      [1, 2, 7, 11, 12, 13, 16, 17, 18, 22, 23, 25, 35, 53, 55, 58, 75].map((q) => `/c?q=${q}`));
    // The first GET (before registration) has no token; the rest carry one byte: 01, 02, ...
    expect(coap[0].token.length).toBe(0);
    coap.slice(1).forEach((c, i) => {
      expect([...c.token]).toEqual([i + 1]);
      expect(c.type).toBe("CON");
      expect(c.mid).toBe(i + 1);
    });
    // Every answer is an ACK 2.05 echoing the request's token.
    const answers = all.filter((d) => d.srcPort === 61628 && d.dstPort === 62590).map((d) => summarizeCoap(d.payload)!);
    expect(answers.map((a) => `${a.type} ${a.code}`)).toEqual(new Array(17).fill("ACK 2.05"));
    expect(answers.map((a) => a.token)).toEqual(coap.map((c) => c.token));
    // Timestamps as tshark shows them (frame.time_epoch 1608184611.128517).
    expect(all[0].frame).toBe(1);
    expect(all[0].timeMs).toBeCloseTo(1_608_184_611_128.517, 3);
    expect(all[0].payload.length).toBe(18 - 8);
  });

  it("finds the registration exchange in csmp_register.pcap", () => {
    const [post, ack] = readUdpDatagrams(join(VECTORS, "csmp_register.pcap"));
    const p = summarizeCoap(post.payload)!, a = summarizeCoap(ack.payload)!;
    expect(`${p.type} ${p.code} ${p.uri}`).toBe("CON POST /r");
    expect(`${a.type} ${a.code}`).toBe("ACK 2.03");
    expect(a.mid).toBe(p.mid);
    expect([formatAddress(post.src), post.srcPort, formatAddress(post.dst), post.dstPort]).toEqual(["2018::188", 46790, "2018::2", 61628]);
    expect(post.payload.length).toBe(610 - 8);
    expect(ack.payload.length).toBe(133 - 8);
    expect(ack.timeMs).toBeCloseTo(1_608_173_973_959.922, 3);
  });
});

describe("pcap reader link types and IP variants", () => {
  const v6 = buildIpPacket(dgram("fe80::1", 1111, "ff02::1", 61628, GET_Q11));
  const v4 = buildIpPacket(dgram("192.0.2.1", 2222, "192.0.2.2", 61628, ACK_205));
  const eth = (type: number) => hex(`000c29a2051d 58ef68e4d8c8 ${type.toString(16).padStart(4, "0")}`);

  const expectBoth = (bytes: Uint8Array) => {
    const out = extractUdp(bytes).datagrams;
    expect(out.map((d) => [formatAddress(d.src), d.srcPort, formatAddress(d.dst), d.dstPort])).toEqual([
      ["fe80::1", 1111, "ff02::1", 61628],
      ["::ffff:192.0.2.1", 2222, "::ffff:192.0.2.2", 61628],
    ]);
    expect(out[0].payload).toEqual(GET_Q11);
    expect(out[1].payload).toEqual(ACK_205);
  };

  it("Ethernet, with and without VLAN tags, ignoring trailer padding", () => {
    expectBoth(rawPcap(LinkType.Ethernet, [concat(eth(0x86dd), v6), concat(eth(0x0800), v4, new Uint8Array(6))]));
    const vlan = (inner: number) => concat(eth(0x8100), hex(`0064 ${inner.toString(16).padStart(4, "0")}`));
    expectBoth(rawPcap(LinkType.Ethernet, [concat(vlan(0x86dd), v6), concat(vlan(0x0800), v4)]));
  });

  it("Linux cooked capture v1 and v2", () => {
    const sll = (proto: number) => concat(hex("0000 0001 0006 000c29a2051d 0000"), hex(proto.toString(16).padStart(4, "0")));
    expectBoth(rawPcap(LinkType.LinuxSll, [concat(sll(0x86dd), v6), concat(sll(0x0800), v4)]));
    const sll2 = (proto: number) => concat(hex(proto.toString(16).padStart(4, "0")), hex("0000 00000002 0001 00 06 000c29a2051d 0000"));
    expectBoth(rawPcap(LinkType.LinuxSll2, [concat(sll2(0x86dd), v6), concat(sll2(0x0800), v4)]));
  });

  it("raw IP (101), IPv4 (228) / IPv6 (229), BSD loopback (0), either byte order, ns timestamps", () => {
    expectBoth(rawPcap(LinkType.Raw, [v6, v4]));
    expectBoth(rawPcap(LinkType.Raw, [v6, v4], { bigEndian: true, nanos: true }));
    expect(extractUdp(rawPcap(LinkType.Ipv6, [v6])).datagrams).toHaveLength(1);
    expect(extractUdp(rawPcap(LinkType.Ipv4, [v4])).datagrams).toHaveLength(1);
    expectBoth(rawPcap(LinkType.Null, [concat(hex("1e000000"), v6), concat(hex("02000000"), v4)]));
    const ns = parsePcap(rawPcap(LinkType.Raw, [v6], { nanos: true, bigEndian: true }));
    expect(ns.records[0].timeMs).toBeCloseTo(1_700_000_000_123.456789, 5);
  });

  it("walks IPv6 extension headers and skips what it cannot extract", () => {
    const d = dgram("2001:db8::1", 7, "2001:db8::2", 61628, GET_Q11);
    const plain = buildIpPacket(d);
    // Insert hop-by-hop (8 bytes) + destination options (16 bytes) + an atomic fragment header.
    const withExt = (fragField: string) => {
      const hbh = hex("3c00 010400000000"); // next: dest opts
      const dst = hex("2c01 0106000000000000 0000 00000000"); // next: fragment, len (1+1)*8
      const frag = hex(`1100 ${fragField} 12345678`); // next: UDP
      const p = concat(plain.subarray(0, 40), hbh, dst, frag, plain.subarray(40));
      const v = new DataView(p.buffer);
      v.setUint8(6, 0); // first: hop-by-hop
      v.setUint16(4, p.length - 40);
      return p;
    };
    const tcp = plain.slice(); tcp[6] = 6;
    const out = extractUdp(rawPcap(LinkType.Raw, [withExt("0000"), withExt("0001"), withExt("0008"), tcp, hex("45")]));
    expect(out.datagrams).toHaveLength(1);
    expect(out.datagrams[0].payload).toEqual(GET_Q11);
    expect(out.datagrams[0].frame).toBe(1);
    expect(out.skipped).toEqual({ fragment: 2, "not-udp": 1, truncated: 1 });
  });

  it("skips IPv4 fragments, ARP, and a snapped UDP payload; stops at a cut-off record", () => {
    const frag = v4.slice(); frag[6] = 0x20; // more fragments
    const arp = concat(eth(0x0806), new Uint8Array(28));
    const snapped = v6.subarray(0, v6.length - 3);
    const file = rawPcap(LinkType.Ethernet, [concat(eth(0x0800), frag), arp, concat(eth(0x86dd), snapped), concat(eth(0x86dd), v6)]);
    const out = extractUdp(file.subarray(0, file.length - 5)); // last record cut short
    expect(out.datagrams).toHaveLength(0);
    expect(out.skipped).toEqual({ fragment: 1, link: 1, truncated: 1 });
  });

  it("refuses pcapng and non-pcap input with a clear message", () => {
    expect(() => parsePcap(hex("0a0d0d0a 1c000000 4d3c2b1a 01000000 ffffffffffffffff 1c000000"))).toThrow(/pcapng/);
    expect(() => parsePcap(new Uint8Array(30))).toThrow(/not a pcap/);
    expect(() => parsePcap(new Uint8Array(3))).toThrow(/not a pcap/);
  });
});

const tshark = spawnSync("which", ["tshark"]).status === 0;

describe.runIf(tshark)("tshark reads what we write", () => {
  it("decodes the CoAP with good UDP and IPv4 checksums", () => {
    const path = join(work, "tshark.pcap");
    const w = PcapWriter.toFile(path);
    w.write(dgram("2001:db8::2", 62590, "2001:db8::188", 61628, GET_Q11), 1_700_000_000_000);
    w.write(dgram("2001:db8::188", 61628, "2001:db8::2", 62590, ACK_205), 1_700_000_000_250);
    w.write(dgram("::ffff:192.0.2.1", 40000, "::ffff:192.0.2.2", 61628, GET_Q11), 1_700_000_000_500);
    w.close();
    const out = execFileSync("tshark", [
      "-r", path, "-d", "udp.port==61628,coap",
      "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
      "-T", "fields", "-E", "separator=|",
      "-e", "coap.type", "-e", "coap.code", "-e", "coap.mid", "-e", "coap.token", "-e", "coap.opt.uri_query",
      "-e", "udp.checksum.status", "-e", "ip.checksum.status", "-e", "frame.time_epoch",
    ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const rows = out.trim().split("\n").map((l) => l.split("|"));
    expect(rows.map((r) => r.slice(0, 6))).toEqual([
      ["0", "1", "3", "03", "q=11", "1"],
      ["2", "69", "3", "03", "", "1"],
      ["0", "1", "3", "03", "q=11", "1"],
    ]);
    expect(rows[2][6]).toBe("1"); // IPv4 header checksum good
    expect(Number(rows[1][7])).toBeCloseTo(1_700_000_000.25, 6);
  });

  it("decodes a LINKTYPE_IPV6 file, IPv4 peers as mapped IPv6 with good checksums", () => {
    const path = join(work, "tshark-v6.pcap");
    const w = PcapWriter.toFile(path, { linkType: LinkType.Ipv6 });
    w.write(dgram("::ffff:192.0.2.1", 40000, "::ffff:192.0.2.2", 61628, GET_Q11), 1_700_000_000_000);
    w.close();
    const out = execFileSync("tshark", [
      "-r", path, "-d", "udp.port==61628,coap", "-o", "udp.check_checksum:TRUE",
      "-T", "fields", "-E", "separator=|", "-e", "ipv6.src", "-e", "coap.opt.uri_query", "-e", "udp.checksum.status",
    ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    expect(out.trim()).toBe("::ffff:192.0.2.1|q=11|1");
  });
});
