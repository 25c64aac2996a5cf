// What the host needs from a network: bound UDP endpoints that send
// datagrams, receive them, and join multicast groups. UdpNetwork
// (host/udp-network.ts) uses real sockets; LoopNetwork (host/loop-network.ts)
// is an in-process switch on a (virtual) clock connecting agents and a
// simulated NMS.
import { HostError } from "./errors.ts";
import { isUnspecified, type Ipv6Bytes } from "./ipv6.ts";

/** One UDP datagram with both ends; addresses are 16 bytes (IPv4 mapped). */
export interface Datagram {
  src: Ipv6Bytes;
  srcPort: number;
  dst: Ipv6Bytes;
  dstPort: number;
  payload: Uint8Array;
}

/** Negative results of send/join/leave, handed to the agent as they are. */
export const NetError = {
  /** Socket closed or the stack refused. */
  Failed: HostError.Failed,
  /** Bad address or port. */
  BadArgument: HostError.BadArgument,
  TooLarge: HostError.TooLarge,
  /** The platform cannot do it (e.g. multicast unsupported). */
  Unsupported: HostError.Unsupported,
} as const;

/** The largest UDP payload over IPv6 without jumbograms. */
export const MAX_UDP_PAYLOAD = 65527;

export type DatagramHandler = (d: Datagram) => void;

export interface Endpoint {
  /** The bound address (may be unspecified "::" for a wildcard bind). */
  readonly address: Ipv6Bytes;
  readonly port: number;
  /** Hands one datagram to the network: 0, or a negative NetError. Never retried. */
  send(dst: Ipv6Bytes, dstPort: number, payload: Uint8Array): number;
  /** Joins an IPv6 multicast group on this endpoint's port: 0 or negative. */
  joinGroup(group: Ipv6Bytes): number;
  /** Leaves a group; leaving a group never joined is not an error. */
  leaveGroup(group: Ipv6Bytes): number;
  /** Sets the receiver (one per endpoint; a later call replaces it). */
  onReceive(handler: DatagramHandler | null): void;
  /** Releases the endpoint; sends fail afterwards. */
  close(): Promise<void>;
}

export interface Network {
  /** Binds an endpoint at address text ("::1", "::", "2001:db8::5") and port (0 = any free port). */
  bind(address: string, port: number): Promise<Endpoint>;
}

/** Validates arguments common to every send; a NetError or 0. */
export function checkSend(dst: Ipv6Bytes, dstPort: number, payload: Uint8Array): number {
  if (dst.length !== 16 || isUnspecified(dst) || !Number.isInteger(dstPort) || dstPort < 1 || dstPort > 65535) return NetError.BadArgument;
  if (payload.length > MAX_UDP_PAYLOAD) return NetError.TooLarge;
  return 0;
}
