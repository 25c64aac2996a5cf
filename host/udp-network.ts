// Real UDP over node:dgram (udp6). IPv4 peers appear as IPv4-mapped
// addresses; a socket bound to "::" is dual-stack and reaches them.
//
// Destination addresses: Node exposes no IPV6_PKTINFO, so a datagram's
// destination is taken from the socket that received it. The main socket
// reports its bound address (for a wildcard bind: "::", unknown). A joined
// multicast group gets its own socket bound to [group]:port, so multicast
// requests arrive with the group as destination, which the agent needs (a
// multicast request must carry GroupMatch). With a wildcard main socket the
// kernel would deliver group traffic to both sockets, so then the group is
// joined on the main socket instead (destination reported as "::").
import * as dgram from "node:dgram";
import { formatAddress, isMulticast, isUnspecified, parseAddress, type Ipv6Bytes } from "./ipv6.ts";
import { type Datagram, type DatagramHandler, type Endpoint, type Network, NetError, checkSend } from "./network.ts";
import { LogLevel, type Logger } from "./log.ts";

export const DEFAULT_COAP_PORT = 61628;

export interface UdpNetworkOptions {
  /** Host-side diagnostics (asynchronous send errors, failed joins). */
  log?: Logger;
  /** Interface for multicast membership, Node syntax ("::%eth0"); default: the OS picks. */
  multicastInterface?: string;
}

export class UdpNetwork implements Network {
  constructor(private readonly options: UdpNetworkOptions = {}) {}

  async bind(address: string, port: number): Promise<Endpoint> {
    const bytes = parseAddress(address);
    if (!bytes) throw new Error(`bad bind address ${JSON.stringify(address)}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${port}`);
    const socket = dgram.createSocket({ type: "udp6", ipv6Only: false });
    const bindText = address.replace(/^\[|\]$/g, "");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, bindText, () => { socket.off("error", reject); resolve(); });
    });
    return new UdpEndpoint(socket, bytes, socket.address().port, this.options);
  }
}

class UdpEndpoint implements Endpoint {
  private handler: DatagramHandler | null = null;
  private closed = false;
  /** Group sockets (specific bind) or null entries (joined on the main socket). */
  private readonly groups = new Map<string, dgram.Socket | null>();

  constructor(
    private readonly socket: dgram.Socket,
    readonly address: Ipv6Bytes,
    readonly port: number,
    private readonly options: UdpNetworkOptions,
  ) {
    this.listen(socket, address);
    socket.on("error", (e) => this.log(LogLevel.Error, `socket error: ${e.message}`));
  }

  private log(level: LogLevel, text: string): void {
    this.options.log?.(level, text);
  }

  private listen(socket: dgram.Socket, dst: Ipv6Bytes): void {
    socket.on("message", (msg, rinfo) => {
      const src = parseAddress(rinfo.address);
      if (!src) {
        this.log(LogLevel.Warn, `dropped datagram from unparsable address ${rinfo.address}`);
        return;
      }
      const d: Datagram = { src, srcPort: rinfo.port, dst, dstPort: this.port, payload: new Uint8Array(msg) };
      this.handler?.(d);
    });
  }

  send(dst: Ipv6Bytes, dstPort: number, payload: Uint8Array): number {
    if (this.closed) return NetError.Failed;
    const bad = checkSend(dst, dstPort, payload);
    if (bad) return bad;
    try {
      // dgram reports routing errors asynchronously; the PAL contract only
      // promises "handed to the stack", so those are logged, not returned.
      this.socket.send(payload, dstPort, formatAddress(dst), (err) => {
        if (err) this.log(LogLevel.Warn, `send to [${formatAddress(dst)}]:${dstPort} failed: ${err.message}`);
      });
      return 0;
    } catch (e) {
      this.log(LogLevel.Warn, `send failed: ${(e as Error).message}`);
      return NetError.Failed;
    }
  }

  joinGroup(group: Ipv6Bytes): number {
    if (this.closed) return NetError.Failed;
    if (group.length !== 16 || !isMulticast(group)) return NetError.BadArgument;
    const text = formatAddress(group);
    if (this.groups.has(text)) return 0;
    const iface = this.options.multicastInterface;
    if (isUnspecified(this.address)) {
      try {
        this.socket.addMembership(text, iface);
        this.groups.set(text, null);
        return 0;
      } catch (e) {
        this.log(LogLevel.Warn, `join ${text} failed: ${(e as Error).message}`);
        return NetError.Unsupported;
      }
    }
    const gs = dgram.createSocket({ type: "udp6", reuseAddr: true });
    this.groups.set(text, gs);
    this.listen(gs, group);
    gs.on("error", (e) => {
      // Binding is asynchronous, so a platform without multicast only shows
      // up here; the agent was told 0 (see the report on pal.udp_multicast).
      this.log(LogLevel.Warn, `multicast group ${text}: ${e.message}`);
      if (this.groups.get(text) === gs) this.groups.delete(text);
      gs.close();
    });
    gs.bind(this.port, text, () => {
      try {
        gs.addMembership(text, iface);
      } catch (e) {
        gs.emit("error", e as Error);
      }
    });
    return 0;
  }

  leaveGroup(group: Ipv6Bytes): number {
    if (group.length !== 16 || !isMulticast(group)) return NetError.BadArgument;
    const text = formatAddress(group);
    if (!this.groups.has(text)) return 0;
    const gs = this.groups.get(text);
    this.groups.delete(text);
    try {
      if (gs) gs.close();
      else this.socket.dropMembership(text, this.options.multicastInterface);
      return 0;
    } catch (e) {
      this.log(LogLevel.Warn, `leave ${text} failed: ${(e as Error).message}`);
      return NetError.Failed;
    }
  }

  onReceive(handler: DatagramHandler | null): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [this.socket, ...[...this.groups.values()].filter((s): s is dgram.Socket => s !== null)];
    this.groups.clear();
    await Promise.all(all.map((s) => new Promise<void>((resolve) => {
      try { s.close(() => resolve()); } catch { resolve(); }
    })));
  }
}
