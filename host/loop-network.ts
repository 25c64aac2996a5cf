// An in-process IPv6/UDP switch: endpoints of agents and a simulated NMS
// exchange datagrams through the clock, so with a VirtualClock a whole mesh
// runs deterministically in virtual time.
//
// Every copy of a datagram goes through a link model, a per-link hook that
// decides how many copies arrive and after which delay: [latency] by
// default, [] for a loss, [d1, d2] for a duplicate; different delays reorder.
// Delivery is always scheduled on the clock (never inside send()), so an
// agent's udp_send cannot call back into an agent.
import type { Clock } from "./clock.ts";
import { formatAddress, formatEndpoint, isMulticast, isUnspecified, parseAddress, sameAddress, type Ipv6Bytes } from "./ipv6.ts";
import { type Datagram, type DatagramHandler, type Endpoint, type Network, NetError, checkSend } from "./network.ts";
import { LogLevel, type Logger } from "./log.ts";

/**
 * Delays (ms) of the copies of `d` that reach `receiver` (the receiving
 * endpoint's address; for unicast the destination). [] drops the datagram.
 */
export type LinkModel = (d: Datagram, receiver: Ipv6Bytes) => readonly number[];

/** Observes every datagram handed to the switch, before any link model. */
export type TransmitTap = (d: Datagram) => void;

export interface LoopNetworkOptions {
  clock: Clock;
  /** Delay of the default link model (default 1 ms). */
  latencyMs?: number;
  log?: Logger;
}

export interface LoopNetworkStats {
  sent: number;
  delivered: number;
  /** Copies dropped by a link model. */
  lost: number;
  /** Datagrams that found no endpoint. */
  unroutable: number;
}

const FIRST_EPHEMERAL_PORT = 49152;

function linkKey(from: Ipv6Bytes, to: Ipv6Bytes): string {
  return `${formatAddress(from)}>${formatAddress(to)}`;
}

export class LoopNetwork implements Network {
  readonly clock: Clock;
  readonly stats: LoopNetworkStats = { sent: 0, delivered: 0, lost: 0, unroutable: 0 };
  /** The model for links without their own (setLink); replaceable. */
  defaultLink: LinkModel;
  private readonly links = new Map<string, LinkModel>();
  private readonly endpoints = new Map<string, LoopEndpoint>();
  private readonly taps = new Set<TransmitTap>();
  private readonly log?: Logger;
  private nextEphemeral = FIRST_EPHEMERAL_PORT;

  constructor(options: LoopNetworkOptions) {
    this.clock = options.clock;
    this.log = options.log;
    const latency = options.latencyMs ?? 1;
    this.defaultLink = () => [latency];
  }

  async bind(address: string, port: number): Promise<Endpoint> {
    return this.bindSync(address, port);
  }

  /** bind() without the promise (the switch needs no I/O). */
  bindSync(address: string, port: number): LoopEndpoint {
    const bytes = parseAddress(address);
    if (!bytes) throw new Error(`bad bind address ${JSON.stringify(address)}`);
    // Without a routing table the switch needs a concrete source address.
    if (isUnspecified(bytes) || isMulticast(bytes)) throw new Error(`LoopNetwork endpoints need a unicast address, got ${address}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${port}`);
    if (port === 0) port = this.ephemeralPort(bytes);
    const key = formatEndpoint(bytes, port);
    if (this.endpoints.has(key)) throw new Error(`address in use: ${key}`);
    const ep = new LoopEndpoint(this, bytes, port);
    this.endpoints.set(key, ep);
    return ep;
  }

  private ephemeralPort(address: Ipv6Bytes): number {
    for (let i = 0; i < 65536 - FIRST_EPHEMERAL_PORT; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p === 65535 ? FIRST_EPHEMERAL_PORT : p + 1;
      if (!this.endpoints.has(formatEndpoint(address, p))) return p;
    }
    throw new Error(`no free port on ${formatAddress(address)}`);
  }

  /** Sets (or with null removes) the model of the directed link from -> to. */
  setLink(from: Ipv6Bytes | string, to: Ipv6Bytes | string, model: LinkModel | null): void {
    const a = typeof from === "string" ? parseAddress(from) : from;
    const b = typeof to === "string" ? parseAddress(to) : to;
    if (!a || !b) throw new Error(`bad link ${String(from)} -> ${String(to)}`);
    if (model) this.links.set(linkKey(a, b), model); else this.links.delete(linkKey(a, b));
  }

  /** Adds an observer of every datagram sent; returns its removal. */
  tap(fn: TransmitTap): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  /** @internal Called by LoopEndpoint.send once the arguments are valid. */
  transmit(d: Datagram): void {
    this.stats.sent++;
    for (const t of this.taps) t(d);
    if (isMulticast(d.dst)) {
      // Copies go to the members at send time, each over its own link.
      const members = [...this.endpoints.values()].filter((ep) => ep.port === d.dstPort && ep.isMember(d.dst));
      if (members.length === 0) this.stats.unroutable++;
      for (const ep of members) this.carry(d, ep.address, () => ep.isMember(d.dst) ? ep : undefined);
    } else {
      this.carry(d, d.dst, () => this.endpoints.get(formatEndpoint(d.dst, d.dstPort)));
    }
  }

  private carry(d: Datagram, receiver: Ipv6Bytes, resolve: () => LoopEndpoint | undefined): void {
    const model = this.links.get(linkKey(d.src, receiver)) ?? this.defaultLink;
    const delays = model(d, receiver);
    if (delays.length === 0) {
      this.stats.lost++;
      this.log?.(LogLevel.Debug, `link ${formatAddress(d.src)} -> ${formatAddress(receiver)} lost a datagram`);
      return;
    }
    for (const delay of delays) {
      this.clock.schedule(delay, () => {
        const ep = resolve();
        if (!ep || !ep.deliver(d)) {
          this.stats.unroutable++;
          this.log?.(LogLevel.Debug, `no listener at ${formatEndpoint(d.dst, d.dstPort)}`);
          return;
        }
        this.stats.delivered++;
      });
    }
  }

  /**
   * One ICMPv6 echo from `from` to `to` as the links would carry it (the
   * echo request and reply are modelled like datagrams): the round-trip time
   * in ms, or null when either way loses it or no endpoint has that address.
   */
  echoRtt(from: Ipv6Bytes, to: Ipv6Bytes): number | null {
    const there = [...this.endpoints.values()].some((ep) => sameAddress(ep.address, to));
    if (!there) return null;
    const probe = (src: Ipv6Bytes, dst: Ipv6Bytes) =>
      (this.links.get(linkKey(src, dst)) ?? this.defaultLink)({ src, srcPort: 0, dst, dstPort: 0, payload: new Uint8Array(8) }, dst);
    const out = probe(from, to), back = probe(to, from);
    return out.length && back.length ? out[0] + back[0] : null;
  }

  /** @internal */
  release(ep: LoopEndpoint): void {
    const key = formatEndpoint(ep.address, ep.port);
    if (this.endpoints.get(key) === ep) this.endpoints.delete(key);
  }
}

export class LoopEndpoint implements Endpoint {
  private handler: DatagramHandler | null = null;
  private closed = false;
  private readonly groups = new Set<string>();

  constructor(private readonly net: LoopNetwork, readonly address: Ipv6Bytes, readonly port: number) {}

  send(dst: Ipv6Bytes, dstPort: number, payload: Uint8Array): number {
    if (this.closed) return NetError.Failed;
    const bad = checkSend(dst, dstPort, payload);
    if (bad) return bad;
    this.net.transmit({ src: this.address, srcPort: this.port, dst: dst.slice(), dstPort, payload: payload.slice() });
    return 0;
  }

  joinGroup(group: Ipv6Bytes): number {
    if (this.closed) return NetError.Failed;
    if (group.length !== 16 || !isMulticast(group)) return NetError.BadArgument;
    this.groups.add(formatAddress(group));
    return 0;
  }

  leaveGroup(group: Ipv6Bytes): number {
    if (group.length !== 16 || !isMulticast(group)) return NetError.BadArgument;
    this.groups.delete(formatAddress(group));
    return 0;
  }

  isMember(group: Ipv6Bytes): boolean {
    return !this.closed && this.groups.has(formatAddress(group));
  }

  /** Groups currently joined (text form). */
  memberships(): string[] {
    return [...this.groups].sort();
  }

  onReceive(handler: DatagramHandler | null): void {
    this.handler = handler;
  }

  /** @internal Returns false when nobody takes the datagram. */
  deliver(d: Datagram): boolean {
    if (this.closed || !this.handler) return false;
    // Each receiver gets its own copy: a handler may keep or scribble on it.
    this.handler({ ...d, src: d.src.slice(), dst: d.dst.slice(), payload: d.payload.slice() });
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handler = null;
    this.groups.clear();
    this.net.release(this);
  }
}
