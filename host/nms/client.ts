// The NMS's CoAP endpoint: requests to devices with RFC 7252 reliability
// (CON retransmission with exponential back-off, piggybacked and separate
// responses, RST), and device-originated requests (POST /r registration,
// POST /c reports) handed to a callback that answers them. Timing comes from
// an injectable timer source so tests can run it on a virtual clock.
import { formatAddress, isMulticast, parseAddress } from "../ipv6.ts";
import {
  CoapCode, CoapFormatError, CoapType, decodeCoap, emptyMessage, encodeCoap, isRequestCode, isResponseCode,
  uriPath, uriQueries, type CoapMessage, type CoapOptionValue,
} from "./coap.ts";
import type { NmsTransport } from "./transport.ts";

/** What the client needs from a clock; host/clock.ts's RealClock and VirtualClock fit. */
export interface NmsTimers {
  nowMs(): number;
  schedule(delayMs: number, fn: () => void): unknown;
  cancel(handle: unknown): void;
}

/** Node's timers. */
export const realTimers: NmsTimers = {
  nowMs: () => performance.now(),
  schedule: (delayMs, fn) => setTimeout(fn, delayMs),
  cancel: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** RFC 7252 4.8 transmission parameters. */
export interface CoapTiming {
  ackTimeoutMs: number;
  ackRandomFactor: number;
  maxRetransmit: number;
  /** How long to wait for a separate response (after an empty ACK) or an answer to a NON. Default MAX_TRANSMIT_WAIT. */
  responseTimeoutMs: number;
  /** How long a received message id is remembered for deduplication. */
  exchangeLifetimeMs: number;
}

export const DEFAULT_TIMING: Readonly<CoapTiming> = {
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  // MAX_TRANSMIT_WAIT = ACK_TIMEOUT * (2^(MAX_RETRANSMIT+1) - 1) * ACK_RANDOM_FACTOR
  responseTimeoutMs: 93_000,
  // EXCHANGE_LIFETIME = MAX_TRANSMIT_SPAN + 2 * MAX_LATENCY + PROCESSING_DELAY
  exchangeLifetimeMs: 247_000,
};

export interface NmsClientOptions extends Partial<CoapTiming> {
  timers?: NmsTimers;
  /** Uniform [0, 1): back-off jitter, first message id, tokens. Inject a seeded one for reproducible runs. */
  random?: () => number;
  /** Length of generated tokens (1..8; default 2). */
  tokenLength?: number;
  /** Diagnostics: undecodable datagrams, handler failures, send errors. */
  onError?: (error: Error) => void;
}

export interface CoapResponse {
  message: CoapMessage;
  address: string;
  port: number;
  /** True when the answer came as a separate response rather than in the ACK. */
  separate: boolean;
  /** Times the request was sent (1 + retransmissions). */
  transmissions: number;
}

export interface RequestOptions {
  /** Hard deadline for the whole exchange, ms (default: CoAP's own limits). */
  timeoutMs?: number;
  /** Generate a token when the message has none (default true); false sends it token-less as given. */
  autoToken?: boolean;
}

export class CoapTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CoapTimeoutError";
  }
}

export class CoapResetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CoapResetError";
  }
}

/** A request a device sent to the NMS. */
export interface IncomingRequest {
  message: CoapMessage;
  address: string;
  port: number;
  /** "/r", "/c" ... */
  path: string;
  query: string[];
  payload: Uint8Array;
  /** Answers once: piggybacked in the ACK for a CON, as a NON response for a NON. */
  respond(code: number, payload?: Uint8Array, options?: CoapOptionValue[]): void;
  readonly responded: boolean;
}

export type RequestHandler = (request: IncomingRequest) => void | Promise<void>;

interface Exchange {
  peerKey: string;
  /** Token match key: peer (or "*" for multicast) and token. */
  tokenKey: string;
  /** Matches ACK/RST by message id; cleared once an empty ACK arrived. A NON keeps it only for RST. */
  midKey: string | null;
  confirmable: boolean;
  token: Uint8Array;
  bytes: Uint8Array;
  address: string;
  port: number;
  transmissions: number;
  timer: unknown;
  deadline: unknown;
  resolve: (r: CoapResponse) => void;
  reject: (e: Error) => void;
}

interface Seen {
  expires: number;
  /** Our reply to that message (resent for a duplicate CON), or null if none yet. */
  reply: Uint8Array | null;
  address: string;
  port: number;
}

const EMPTY = new Uint8Array(0);

function canonical(address: string): string {
  const bytes = parseAddress(address);
  return bytes ? formatAddress(bytes) : address.toLowerCase();
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export class NmsClient {
  private readonly timing: CoapTiming;
  private readonly timers: NmsTimers;
  private readonly random: () => number;
  private readonly tokenLength: number;
  private readonly onError: (error: Error) => void;
  private nextMid: number;
  private readonly byMid = new Map<string, Exchange>();
  private readonly byToken = new Map<string, Exchange>();
  private readonly seen = new Map<string, Seen>();
  private handler: RequestHandler | null = null;
  private closed = false;

  constructor(private readonly transport: NmsTransport, options: NmsClientOptions = {}) {
    this.timing = {
      ackTimeoutMs: options.ackTimeoutMs ?? DEFAULT_TIMING.ackTimeoutMs,
      ackRandomFactor: options.ackRandomFactor ?? DEFAULT_TIMING.ackRandomFactor,
      maxRetransmit: options.maxRetransmit ?? DEFAULT_TIMING.maxRetransmit,
      responseTimeoutMs: options.responseTimeoutMs ?? DEFAULT_TIMING.responseTimeoutMs,
      exchangeLifetimeMs: options.exchangeLifetimeMs ?? DEFAULT_TIMING.exchangeLifetimeMs,
    };
    if (this.timing.ackRandomFactor < 1) throw new RangeError("ackRandomFactor must be >= 1");
    this.timers = options.timers ?? realTimers;
    this.random = options.random ?? Math.random;
    this.tokenLength = options.tokenLength ?? 2;
    if (!Number.isInteger(this.tokenLength) || this.tokenLength < 1 || this.tokenLength > 8) throw new RangeError("tokenLength must be 1..8");
    this.onError = options.onError ?? (() => {});
    // A random start makes ids from an earlier run unlikely to look like duplicates to a device.
    this.nextMid = Math.floor(this.random() * 0x10000) & 0xffff;
    transport.onMessage((bytes, address, port) => this.receive(bytes, address, port));
  }

  /** Sets the handler for device-originated requests (replaces any earlier one). */
  onRequest(handler: RequestHandler | null): void {
    this.handler = handler;
  }

  /** Exchanges in flight. */
  get pending(): number {
    return this.byToken.size;
  }

  private allocateMid(): number {
    const mid = this.nextMid;
    this.nextMid = (this.nextMid + 1) & 0xffff;
    return mid;
  }

  private newToken(tokenKeyPrefix: string): Uint8Array {
    for (;;) {
      const t = new Uint8Array(this.tokenLength);
      for (let i = 0; i < t.length; i++) t[i] = Math.floor(this.random() * 256) & 0xff;
      if (!this.byToken.has(`${tokenKeyPrefix}|${hexOf(t)}`)) return t;
    }
  }

  /** Sends without waiting for anything (NON streams such as ImageBlock); returns the message as sent. */
  send(message: CoapMessage, address: string, port: number): CoapMessage {
    if (this.closed) throw new Error("NMS client closed");
    const m = { ...message, mid: this.allocateMid() };
    this.transport.send(encodeCoap(m), address, port);
    return m;
  }

  /**
   * Sends a request and resolves with the response matched by message id
   * (piggybacked in the ACK) or by token (separate response). Rejects with
   * CoapTimeoutError or CoapResetError. A multicast request must be NON; its
   * first answer from any device resolves it.
   */
  request(message: CoapMessage, address: string, port: number, options: RequestOptions = {}): Promise<CoapResponse> {
    if (this.closed) return Promise.reject(new Error("NMS client closed"));
    const dst = parseAddress(address);
    const multicast = dst !== null && isMulticast(dst);
    const confirmable = message.type === CoapType.Confirmable;
    if (multicast && confirmable) return Promise.reject(new Error("a multicast request must be NON"));
    if (message.type !== CoapType.Confirmable && message.type !== CoapType.NonConfirmable) {
      return Promise.reject(new Error("a request is CON or NON"));
    }
    const peerKey = `${canonical(address)}|${port}`;
    const tokenPrefix = multicast ? "*" : peerKey;
    const token = message.token.length || options.autoToken === false ? message.token : this.newToken(tokenPrefix);
    const tokenKey = `${tokenPrefix}|${hexOf(token)}`;
    if (this.byToken.has(tokenKey)) return Promise.reject(new Error(`token ${hexOf(token)} already in use with that peer`));
    const m: CoapMessage = { ...message, token, mid: this.allocateMid() };
    const bytes = encodeCoap(m);

    return new Promise<CoapResponse>((resolve, reject) => {
      const ex: Exchange = {
        peerKey, tokenKey, midKey: multicast ? null : `${peerKey}|${m.mid}`, confirmable, token, bytes, address, port,
        transmissions: 0, timer: undefined, deadline: undefined, resolve, reject,
      };
      this.byToken.set(tokenKey, ex);
      if (ex.midKey) this.byMid.set(ex.midKey, ex);
      if (options.timeoutMs !== undefined) {
        ex.deadline = this.timers.schedule(options.timeoutMs, () => this.fail(ex, new CoapTimeoutError(`no response within ${options.timeoutMs} ms`)));
      }
      if (!this.transmit(ex)) return;
      if (confirmable) {
        const factor = 1 + this.random() * (this.timing.ackRandomFactor - 1);
        this.armRetransmit(ex, this.timing.ackTimeoutMs * factor);
      } else {
        this.awaitSeparate(ex);
      }
    });
  }

  private transmit(ex: Exchange): boolean {
    try {
      this.transport.send(ex.bytes, ex.address, ex.port);
      ex.transmissions++;
      return true;
    } catch (e) {
      this.fail(ex, e as Error);
      return false;
    }
  }

  /** After the last retransmission the same doubled wait runs out: MAX_TRANSMIT_WAIT in all. */
  private armRetransmit(ex: Exchange, timeoutMs: number): void {
    ex.timer = this.timers.schedule(timeoutMs, () => {
      ex.timer = undefined;
      if (ex.transmissions > this.timing.maxRetransmit) {
        this.fail(ex, new CoapTimeoutError(`no ACK after ${ex.transmissions} transmissions`));
        return;
      }
      if (this.transmit(ex)) this.armRetransmit(ex, timeoutMs * 2);
    });
  }

  private awaitSeparate(ex: Exchange): void {
    if (ex.timer !== undefined) this.timers.cancel(ex.timer);
    ex.timer = this.timers.schedule(this.timing.responseTimeoutMs, () => {
      ex.timer = undefined;
      this.fail(ex, new CoapTimeoutError(`no response within ${this.timing.responseTimeoutMs} ms`));
    });
  }

  private finish(ex: Exchange): void {
    if (ex.timer !== undefined) this.timers.cancel(ex.timer);
    if (ex.deadline !== undefined) this.timers.cancel(ex.deadline);
    ex.timer = ex.deadline = undefined;
    this.byToken.delete(ex.tokenKey);
    if (ex.midKey) this.byMid.delete(ex.midKey);
  }

  private fail(ex: Exchange, error: Error): void {
    if (this.byToken.get(ex.tokenKey) !== ex) return;
    this.finish(ex);
    ex.reject(error);
  }

  private succeed(ex: Exchange, message: CoapMessage, address: string, port: number, separate: boolean): void {
    this.finish(ex);
    ex.resolve({ message, address, port, separate, transmissions: ex.transmissions });
  }

  private sendRaw(bytes: Uint8Array, address: string, port: number): void {
    try {
      this.transport.send(bytes, address, port);
    } catch (e) {
      this.onError(e as Error);
    }
  }

  private remember(key: string, address: string, port: number): Seen {
    const now = this.timers.nowMs();
    // One lifetime for all entries keeps the map in expiry order: prune from the front.
    for (const [k, s] of this.seen) {
      if (s.expires > now) break;
      this.seen.delete(k);
    }
    const entry: Seen = { expires: now + this.timing.exchangeLifetimeMs, reply: null, address, port };
    this.seen.delete(key); // re-inserted at the back, where its expiry belongs
    this.seen.set(key, entry);
    return entry;
  }

  /** True when the message is a duplicate (already answered again if it was a CON we replied to). */
  private duplicate(key: string, m: CoapMessage, address: string, port: number): boolean {
    const s = this.seen.get(key);
    if (!s || s.expires <= this.timers.nowMs()) return false;
    if (m.type === CoapType.Confirmable && s.reply) this.sendRaw(s.reply, address, port);
    return true;
  }

  private receive(bytes: Uint8Array, address: string, port: number): void {
    if (this.closed) return;
    let m: CoapMessage;
    try {
      m = decodeCoap(bytes);
    } catch (e) {
      // A CON we cannot parse is rejected with a RST (RFC 7252 4.2); anything else is dropped.
      if (e instanceof CoapFormatError && bytes.length >= 4 && bytes[0] >> 6 === 1 && ((bytes[0] >> 4) & 3) === CoapType.Confirmable) {
        this.sendRaw(encodeCoap(emptyMessage(CoapType.Reset, (bytes[2] << 8) | bytes[3])), address, port);
      }
      this.onError(new Error(`undecodable datagram from [${address}]:${port}: ${(e as Error).message}`));
      return;
    }
    const peerKey = `${canonical(address)}|${port}`;
    if (m.type === CoapType.Acknowledgement || m.type === CoapType.Reset) {
      this.receiveAckOrReset(m, peerKey, address, port);
      return;
    }
    const seenKey = `${peerKey}|${m.mid}`;
    if (this.duplicate(seenKey, m, address, port)) return;
    if (m.code === CoapCode.Empty) {
      // CoAP ping: a CON Empty is answered with a RST.
      if (m.type === CoapType.Confirmable) this.sendRaw(encodeCoap(emptyMessage(CoapType.Reset, m.mid)), address, port);
      return;
    }
    const seen = this.remember(seenKey, address, port);
    if (isResponseCode(m.code)) this.receiveSeparate(m, peerKey, address, port, seen);
    else if (isRequestCode(m.code)) this.receiveRequest(m, address, port, seen);
    else if (m.type === CoapType.Confirmable) this.reply(seen, emptyMessage(CoapType.Reset, m.mid)); // reserved class
  }

  private receiveAckOrReset(m: CoapMessage, peerKey: string, address: string, port: number): void {
    const ex = this.byMid.get(`${peerKey}|${m.mid}`);
    if (!ex) return;
    if (m.type === CoapType.Reset) {
      this.fail(ex, new CoapResetError(`[${address}]:${port} reset message ${m.mid}`));
      return;
    }
    if (!ex.confirmable) return; // an ACK never answers a NON
    if (m.code === CoapCode.Empty) {
      // Separate response follows: stop retransmitting, wait for it by token.
      this.byMid.delete(ex.midKey!);
      ex.midKey = null;
      this.awaitSeparate(ex);
      return;
    }
    if (hexOf(m.token) !== hexOf(ex.token)) {
      this.onError(new Error(`ACK ${m.mid} from [${address}]:${port} carries token ${hexOf(m.token)}, expected ${hexOf(ex.token)}`));
      return;
    }
    this.succeed(ex, m, address, port, false);
  }

  private receiveSeparate(m: CoapMessage, peerKey: string, address: string, port: number, seen: Seen): void {
    const tok = hexOf(m.token);
    const ex = this.byToken.get(`${peerKey}|${tok}`) ?? this.byToken.get(`*|${tok}`);
    if (!ex) {
      // Nobody asked: reject a CON so the device stops retransmitting (RFC 7252 5.3.2).
      if (m.type === CoapType.Confirmable) this.reply(seen, emptyMessage(CoapType.Reset, m.mid));
      return;
    }
    if (m.type === CoapType.Confirmable) this.reply(seen, emptyMessage(CoapType.Acknowledgement, m.mid));
    this.succeed(ex, m, address, port, true);
  }

  private reply(seen: Seen, m: CoapMessage): void {
    const bytes = encodeCoap(m);
    seen.reply = bytes;
    this.sendRaw(bytes, seen.address, seen.port);
  }

  private receiveRequest(m: CoapMessage, address: string, port: number, seen: Seen): void {
    const handler = this.handler;
    if (!handler) {
      if (m.type === CoapType.Confirmable) this.reply(seen, emptyMessage(CoapType.Reset, m.mid));
      return;
    }
    let path: string;
    let query: string[];
    try {
      path = uriPath(m);
      query = uriQueries(m);
    } catch {
      path = "";
      query = [];
    }
    let responded = false;
    const respond = (code: number, payload: Uint8Array = EMPTY, options: CoapOptionValue[] = []) => {
      if (responded) throw new Error("request already answered");
      if (!isResponseCode(code)) throw new RangeError(`not a response code: ${code}`);
      responded = true;
      const confirmable = m.type === CoapType.Confirmable;
      this.reply(seen, {
        type: confirmable ? CoapType.Acknowledgement : CoapType.NonConfirmable,
        code,
        mid: confirmable ? m.mid : this.allocateMid(),
        token: m.token,
        options,
        payload,
      });
    };
    const request: IncomingRequest = {
      message: m, address, port, path, query, payload: m.payload, respond,
      get responded() {
        return responded;
      },
    };
    const failed = (e: unknown) => {
      this.onError(e instanceof Error ? e : new Error(String(e)));
      if (!responded && m.type === CoapType.Confirmable && !this.closed) respond(CoapCode.InternalServerError);
    };
    try {
      const r = handler(request);
      if (r instanceof Promise) r.catch(failed);
    } catch (e) {
      failed(e);
    }
  }

  /** Rejects everything in flight and closes the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ex of [...this.byToken.values()]) this.fail(ex, new Error("NMS client closed"));
    this.seen.clear();
    await this.transport.close();
  }
}
