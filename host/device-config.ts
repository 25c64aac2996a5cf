// Builds the device configuration text the agent parses at agent_init (the
// format and keys are in docs/device-config.md), with defaults that describe
// this process honestly: a Node host on Linux with one interface whose
// address is the one the CoAP socket is bound to.
import { readFileSync } from "node:fs";
import { formatAddress, parseAddress } from "./ipv6.ts";

export interface HardwareIdentity {
  descr: string;
  name: string;
  hwrev: string;
  fwrev: string;
  swrev: string;
  serial: string;
  mfg: string;
  model: string;
  assetid: string;
  uris: string;
  class: number;
  function: number;
  mfgdate: number;
  /** Hex bytes. */
  oui: string;
  /** Hex bytes. */
  vendortype: string;
}

export interface InterfaceRow {
  /** ifIndex 1..4 (default: position + 1). */
  index?: number;
  name: string;
  descr?: string;
  /** IANAifType: 24 softwareLoopback, 6 ethernetCsmacd, 259 ieee802154. */
  type?: number;
  mtu?: number;
  /** ifPhysAddress, hex bytes. */
  phys?: string;
}

export interface AddressRow {
  /** IPv6 text. */
  addr: string;
  /** ifIndex (default 1). */
  if?: number;
  pfxlen?: number;
  /** IpAddressOriginTC: 1 other, 2 manual (the agent's default), 4 dhcp, 5 linklayer, 6 random. */
  origin?: number;
  status?: number;
  type?: number;
}

export interface DeviceConfigOptions {
  /** 16 hex digits. */
  eui64: string;
  /** coap://[addr]:port */
  nmsUrl?: string;
  /** NMS public key: 130 hex digits (04 | X | Y). */
  nmsKey?: string;
  /** CoAP payload budget, 128..1152. */
  mtu?: number;
  hardware?: Partial<HardwareIdentity>;
  interfaces?: InterfaceRow[];
  addresses?: AddressRow[];
  /** More key=value lines, appended last (later lines override earlier ones). */
  extra?: Record<string, string | number>;
}

export const DEFAULT_NMS_URL = "coap://[::1]:61629";

/** The project version (package.json), reported as the firmware revision. */
export function hostVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** Throws unless text is 16 hex digits; returns it in upper case. */
export function checkEui64(text: string): string {
  if (!/^[0-9a-fA-F]{16}$/.test(text)) throw new Error(`EUI-64 must be 16 hex digits, got ${JSON.stringify(text)}`);
  return text.toUpperCase();
}

const HEX_BYTES = /^([0-9a-fA-F]{2})*$/;

function line(key: string, value: string | number): string {
  const text = String(value);
  // One value per line: a newline would smuggle in another key.
  if (/[\r\n]/.test(text)) throw new Error(`config ${key}: value must be one line`);
  return `${key}=${text}`;
}

/** The configuration text; throws a descriptive Error for a bad value. */
export function buildDeviceConfig(o: DeviceConfigOptions): string {
  const out: string[] = ["# device configuration written by the OpenCSMP Node host"];
  out.push(line("eui64", checkEui64(o.eui64)));
  if (o.mtu !== undefined) {
    if (!Number.isInteger(o.mtu) || o.mtu < 128 || o.mtu > 1152) throw new Error(`mtu must be 128..1152, got ${o.mtu}`);
    out.push(line("mtu", o.mtu));
  }
  if (o.nmsUrl !== undefined) {
    if (!/^coap:\/\/\[[0-9a-fA-F:.]+\](:\d{1,5})?\/?$/.test(o.nmsUrl)) throw new Error(`NMS URL must look like coap://[addr]:port, got ${o.nmsUrl}`);
    out.push(line("nms.url", o.nmsUrl));
  }
  if (o.nmsKey !== undefined) {
    if (!/^04[0-9a-fA-F]{128}$/.test(o.nmsKey)) throw new Error("NMS key must be 130 hex digits starting 04 (uncompressed P-256 point)");
    out.push(line("nms.key", o.nmsKey.toLowerCase()));
  }
  for (const [k, v] of Object.entries(o.hardware ?? {}) as [keyof HardwareIdentity, string | number | undefined][]) {
    if (v === undefined) continue;
    if ((k === "oui" || k === "vendortype") && !HEX_BYTES.test(String(v))) throw new Error(`hw.${k} must be hex bytes`);
    if ((k === "class" || k === "function" || k === "mfgdate") && !Number.isInteger(v)) throw new Error(`hw.${k} must be an integer`);
    out.push(line(`hw.${k}`, v));
  }
  (o.interfaces ?? []).forEach((row, i) => {
    const n = row.index ?? i + 1;
    if (!Number.isInteger(n) || n < 1 || n > 4) throw new Error(`interface index must be 1..4, got ${n}`);
    out.push(line(`if.${n}.name`, row.name));
    if (row.descr !== undefined) out.push(line(`if.${n}.descr`, row.descr));
    if (row.type !== undefined) out.push(line(`if.${n}.type`, row.type));
    if (row.mtu !== undefined) out.push(line(`if.${n}.mtu`, row.mtu));
    if (row.phys !== undefined) {
      if (!HEX_BYTES.test(row.phys)) throw new Error(`if.${n}.phys must be hex bytes`);
      out.push(line(`if.${n}.phys`, row.phys));
    }
  });
  (o.addresses ?? []).forEach((row, i) => {
    const n = i + 1;
    if (n > 8) throw new Error("at most 8 IP addresses");
    const bytes = parseAddress(row.addr);
    if (!bytes) throw new Error(`ip.${n}.addr: not an address: ${row.addr}`);
    out.push(line(`ip.${n}.addr`, formatAddress(bytes)));
    for (const k of ["if", "pfxlen", "origin", "status", "type"] as const) {
      if (row[k] !== undefined) out.push(line(`ip.${n}.${k}`, row[k]!));
    }
  });
  for (const [k, v] of Object.entries(o.extra ?? {})) out.push(line(k, v));
  return out.join("\n") + "\n";
}

export interface NodeDeviceOptions {
  eui64: string;
  /** The address the agent's socket is bound to (reported as its IPAddress). */
  boundAddress: string;
  nmsUrl?: string;
  nmsKey?: string;
  hardware?: Partial<HardwareIdentity>;
}

const IANA_IF_LOOPBACK = 24;
const IANA_IF_IEEE802154 = 259;

/**
 * Sensible options for this process as a device: loopback when bound to
 * ::1, else a 6LoWPAN-style interface whose physical address is the EUI-64.
 * A wildcard bind reports no address (the host cannot know which one peers use).
 */
export function nodeDeviceOptions(o: NodeDeviceOptions): DeviceConfigOptions {
  const eui64 = checkEui64(o.eui64);
  const bound = parseAddress(o.boundAddress);
  if (!bound) throw new Error(`bad bound address ${o.boundAddress}`);
  const text = formatAddress(bound);
  const loopback = text === "::1";
  const iface: InterfaceRow = loopback
    ? { name: "lo", descr: "loopback (OpenCSMP Node host)", type: IANA_IF_LOOPBACK, mtu: 65536 }
    : { name: "lowpan0", descr: "CoAP interface (OpenCSMP Node host)", type: IANA_IF_IEEE802154, mtu: 1280, phys: eui64 };
  return {
    eui64,
    nmsUrl: o.nmsUrl ?? DEFAULT_NMS_URL,
    nmsKey: o.nmsKey,
    hardware: {
      descr: "OpenCSMP Node host",
      name: "opencsmp-node",
      model: "OpenCSMP-Node",
      mfg: "OpenCSMP",
      hwrev: `node-${process.version}`,
      fwrev: hostVersion(),
      swrev: hostVersion(),
      serial: eui64,
      class: 3, // entPhysicalClass chassis
      ...o.hardware,
    },
    interfaces: [iface],
    addresses: text === "::" ? [] : [{ addr: text, if: 1, pfxlen: loopback ? 128 : 64 }],
  };
}

/** Splits coap://[addr]:port (port default 61628) into text address and port; throws when malformed. */
export function parseCoapUrl(url: string): { address: string; port: number } {
  const m = /^coap:\/\/\[([^\]]+)\](?::(\d{1,5}))?\/?$/.exec(url) ?? /^coap:\/\/(\d+\.\d+\.\d+\.\d+)(?::(\d{1,5}))?\/?$/.exec(url);
  const bytes = m ? parseAddress(m[1]) : null;
  const port = m?.[2] !== undefined ? Number(m[2]) : 61628;
  if (!m || !bytes || port < 1 || port > 65535) throw new Error(`not a coap://[addr]:port URL: ${url}`);
  return { address: formatAddress(bytes), port };
}
