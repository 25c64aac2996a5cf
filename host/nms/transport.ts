// The NMS side's view of the network: send a datagram, receive datagrams,
// close. Kept this small so a test can put an in-memory network (or the
// host's LoopNetwork) under the NMS client instead of a real socket.
import * as dgram from "node:dgram";
import { formatAddress, parseAddress } from "../ipv6.ts";
import type { Endpoint } from "../network.ts";

export type DatagramListener = (bytes: Uint8Array, address: string, port: number) => void;

export interface NmsTransport {
  /** Hands a datagram to the network; throws on a bad address (delivery is never guaranteed). */
  send(bytes: Uint8Array, address: string, port: number): void;
  /** Sets the receiver (a later call replaces it). */
  onMessage(listener: DatagramListener): void;
  close(): Promise<void>;
}

/** Where Cisco FND listens; the simulated NMS defaults next to it so both can run on one host. */
export const NMS_DEFAULT_ADDRESS = "::1";
export const NMS_DEFAULT_PORT = 61629;

export interface UdpTransportOptions {
  /** Bind address (default ::1); "::" listens on every interface, IPv4 peers appear as ::ffff:a.b.c.d. */
  address?: string;
  /** Bind port (default 61629; 0 = any free port). */
  port?: number;
  /** Asynchronous socket errors (failed sends); default: ignored, as lost datagrams are. */
  onError?: (error: Error) => void;
}

function stripBrackets(address: string): string {
  return address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
}

/** A udp6 socket behind NmsTransport. */
export class UdpTransport implements NmsTransport {
  private listener: DatagramListener | null = null;
  private closed = false;

  private constructor(private readonly socket: dgram.Socket, private readonly onError?: (error: Error) => void) {
    socket.on("message", (msg, rinfo) => {
      this.listener?.(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), rinfo.address, rinfo.port);
    });
    socket.on("error", (e) => this.onError?.(e));
  }

  static open(options: UdpTransportOptions = {}): Promise<UdpTransport> {
    const socket = dgram.createSocket({ type: "udp6", ipv6Only: false });
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => {
        socket.close();
        reject(e);
      };
      socket.once("error", fail);
      socket.bind(options.port ?? NMS_DEFAULT_PORT, stripBrackets(options.address ?? NMS_DEFAULT_ADDRESS), () => {
        socket.off("error", fail);
        resolve(new UdpTransport(socket, options.onError));
      });
    });
  }

  /** The bound address and port (the port is the real one after binding to 0). */
  get local(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  send(bytes: Uint8Array, address: string, port: number): void {
    if (this.closed) throw new Error("transport closed");
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`bad port ${port}`);
    this.socket.send(bytes, port, stripBrackets(address), (e) => {
      if (e) this.onError?.(e);
    });
  }

  onMessage(listener: DatagramListener): void {
    this.listener = listener;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.listener = null;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Adapts a host Endpoint (UdpNetwork or the in-process LoopNetwork) to NmsTransport. */
export function endpointTransport(endpoint: Endpoint): NmsTransport {
  return {
    send(bytes, address, port) {
      const dst = parseAddress(address);
      if (!dst) throw new Error(`not an IPv6 address: ${JSON.stringify(address)}`);
      const rc = endpoint.send(dst, port, bytes);
      if (rc < 0) throw new Error(`send to [${address}]:${port} failed (${rc})`);
    },
    onMessage(listener) {
      endpoint.onReceive((d) => listener(d.payload, formatAddress(d.src), d.srcPort));
    },
    close() {
      endpoint.onReceive(null);
      return endpoint.close();
    },
  };
}
