// The NMS CoAP endpoint (host/nms/client.ts) on a virtual clock: RFC 7252
// retransmission timing, piggybacked / separate / NON responses, RST,
// deduplication, device-originated requests; then over the host's
// LoopNetwork and over real UDP on [::1].
import * as dgram from "node:dgram";
import { describe, it, expect, afterEach } from "vitest";
import { VirtualClock } from "../host/clock.ts";
import { LoopNetwork } from "../host/loop-network.ts";
import {
  CoapCode, CoapType, decodeCoap, emptyMessage, encodeCoap, get, post, uriPath, type CoapMessage,
} from "../host/nms/coap.ts";
import { CoapResetError, CoapTimeoutError, NmsClient, type IncomingRequest, type NmsClientOptions } from "../host/nms/client.ts";
import { UdpTransport, endpointTransport, type DatagramListener, type NmsTransport } from "../host/nms/transport.ts";

const DEVICE = "2001:db8::2";
const PORT = 61628;
const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));

/** An in-memory transport: records what the NMS sends, lets the test inject what a device sends. */
class FakeTransport implements NmsTransport {
  readonly sent: { m: CoapMessage; address: string; port: number; at: number }[] = [];
  private listener: DatagramListener | null = null;
  closed = false;
  /** Device behaviour: called for every datagram the NMS sends. */
  device: (m: CoapMessage) => void = () => {};
  constructor(private readonly clock: VirtualClock) {}
  send(bytes: Uint8Array, address: string, port: number): void {
    const m = decodeCoap(bytes);
    this.sent.push({ m, address, port, at: this.clock.nowMs() });
    this.device(m);
  }
  onMessage(listener: DatagramListener): void {
    this.listener = listener;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** A datagram from the device, delivered `delay` ms from now. */
  fromDevice(m: CoapMessage, delay = 1, address = DEVICE, port = PORT): void {
    this.clock.schedule(delay, () => this.listener?.(encodeCoap(m), address, port));
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

function setup(options: NmsClientOptions = {}) {
  const clock = new VirtualClock();
  const transport = new FakeTransport(clock);
  const client = new NmsClient(transport, { timers: clock, random: () => 0, ...options });
  return { clock, transport, client };
}

/** A response to `req` (piggybacked ACK unless type given). */
function answer(req: CoapMessage, code: number, payload = new Uint8Array(0), type: CoapType = CoapType.Acknowledgement, mid = req.mid): CoapMessage {
  return { type, code, mid, token: req.token, options: [], payload };
}

describe("requests", () => {
  it("resolves with a piggybacked response matched by mid and token", async () => {
    const { clock, transport, client } = setup();
    transport.device = (m) => transport.fromDevice(answer(m, CoapCode.Content, hex("07030a0131")));
    const p = client.request(get("/c", ["q=7"]), DEVICE, PORT);
    clock.advance(10);
    const r = await p;
    expect(r.separate).toBe(false);
    expect(r.transmissions).toBe(1);
    expect(r.message.payload).toEqual(hex("07030a0131"));
    const sent = transport.sent[0].m;
    expect(sent.type).toBe(CoapType.Confirmable);
    expect(sent.token.length).toBe(2);
    expect(uriPath(sent)).toBe("/c");
    expect(client.pending).toBe(0);
  });

  it("retransmits a CON at 2 s, 4 s, 8 s, 16 s (random factor at its minimum) and gives up at 62 s", async () => {
    const { clock, transport, client } = setup();
    const p = client.request(get("/c"), DEVICE, PORT);
    let error: unknown;
    p.catch((e) => { error = e; });
    clock.advance(61_999);
    await flush();
    expect(error).toBeUndefined();
    expect(transport.sent.map((s) => s.at)).toEqual([0, 2000, 6000, 14000, 30000]);
    expect(new Set(transport.sent.map((s) => s.m.mid)).size).toBe(1);
    clock.advance(1);
    await flush();
    expect(error).toBeInstanceOf(CoapTimeoutError);
    expect(transport.sent).toHaveLength(5);
  });

  it("spreads the first timeout over [ACK_TIMEOUT, ACK_TIMEOUT * 1.5) and caps MAX_TRANSMIT_WAIT at 93 s", async () => {
    const { clock, transport, client } = setup({ random: () => 0.999999 });
    const p = client.request(get("/c"), DEVICE, PORT);
    let error: unknown;
    p.catch((e) => { error = e; });
    clock.advance(92_990);
    await flush();
    const t0 = transport.sent[1].at;
    expect(t0).toBeGreaterThan(2999);
    expect(t0).toBeLessThan(3000);
    transport.sent.forEach((s, i) => expect(s.at).toBeCloseTo([0, 1, 3, 7, 15][i] * t0, 6));
    expect(error).toBeUndefined();
    clock.advance(10); // 31 * t0 < 93 s
    await flush();
    expect(error).toBeInstanceOf(CoapTimeoutError);
  });

  it("takes timing parameters from the options", async () => {
    const { clock, transport, client } = setup({ ackTimeoutMs: 100, maxRetransmit: 1 });
    const p = client.request(get("/c"), DEVICE, PORT);
    p.catch(() => {});
    clock.advance(299);
    await flush();
    expect(transport.sent.map((s) => s.at)).toEqual([0, 100]);
    clock.advance(1);
    await expect(p).rejects.toBeInstanceOf(CoapTimeoutError);
  });

  it("resolves after retransmissions when a late ACK arrives", async () => {
    const { clock, transport, client } = setup();
    transport.device = (m) => {
      if (transport.sent.length === 3) transport.fromDevice(answer(m, CoapCode.Content));
    };
    const p = client.request(get("/c"), DEVICE, PORT);
    clock.advance(10_000);
    expect((await p).transmissions).toBe(3);
    clock.advance(100_000);
    expect(transport.sent).toHaveLength(3);
  });

  it("stops retransmitting on an empty ACK and takes the separate CON response, ACKing it", async () => {
    const { clock, transport, client } = setup();
    let req: CoapMessage | undefined;
    transport.device = (m) => {
      if (m.code === CoapCode.Get) {
        req = m;
        transport.fromDevice(emptyMessage(CoapType.Acknowledgement, m.mid));
      }
    };
    const p = client.request(get("/c", ["q=75"]), DEVICE, PORT);
    clock.advance(50);
    transport.fromDevice(answer(req!, CoapCode.Content, hex("1602080c"), CoapType.Confirmable, 0x4242), 20_000);
    clock.advance(20_000);
    const r = await p;
    expect(r.separate).toBe(true);
    expect(r.transmissions).toBe(1);
    const acks = transport.sent.filter((s) => s.m.type === CoapType.Acknowledgement);
    expect(acks.map((s) => [s.m.mid, s.m.code])).toEqual([[0x4242, 0]]);
    expect(transport.sent.filter((s) => s.m.code === CoapCode.Get)).toHaveLength(1);
  });

  it("times out waiting for a separate response", async () => {
    const { clock, transport, client } = setup({ responseTimeoutMs: 5000 });
    transport.device = (m) => transport.fromDevice(emptyMessage(CoapType.Acknowledgement, m.mid));
    const p = client.request(get("/c"), DEVICE, PORT);
    p.catch(() => {});
    clock.advance(5001);
    await expect(p).rejects.toThrow(/no response within 5000 ms/);
  });

  it("rejects on RST", async () => {
    const { clock, transport, client } = setup();
    transport.device = (m) => transport.fromDevice(emptyMessage(CoapType.Reset, m.mid));
    const p = client.request(post("/c", hex("2000")), DEVICE, PORT);
    p.catch(() => {});
    clock.advance(5);
    await expect(p).rejects.toBeInstanceOf(CoapResetError);
  });

  it("matches a NON request's NON response by token", async () => {
    const { clock, transport, client } = setup();
    transport.device = (m) => transport.fromDevice(answer(m, CoapCode.Content, hex("1602080c"), CoapType.NonConfirmable, 9));
    const p = client.request({ ...get("/c", ["q=22"]), type: CoapType.NonConfirmable }, DEVICE, PORT);
    clock.advance(5);
    const r = await p;
    expect(r.separate).toBe(true);
    expect(transport.sent).toHaveLength(1); // no ACK for a NON
  });

  it("ignores a piggybacked answer with the wrong token", async () => {
    const errors: Error[] = [];
    const { clock, transport, client } = setup({ onError: (e) => errors.push(e) });
    transport.device = (m) => transport.fromDevice({ ...answer(m, CoapCode.Content), token: hex("ffff") });
    const p = client.request(get("/c", [], hex("0102")), DEVICE, PORT);
    p.catch(() => {});
    clock.advance(100);
    expect(client.pending).toBe(1);
    expect(errors[0].message).toMatch(/token ffff, expected 0102/);
  });

  it("ignores answers from another address or port", async () => {
    const { clock, transport, client } = setup();
    transport.device = (m) => {
      transport.fromDevice(answer(m, CoapCode.Content), 1, "2001:db8::99");
      transport.fromDevice(answer(m, CoapCode.Content), 1, DEVICE, 5683);
    };
    const p = client.request(get("/c"), DEVICE, PORT);
    p.catch(() => {});
    clock.advance(100);
    expect(client.pending).toBe(1);
  });

  it("keeps a token-less request token-less when asked (FND's first GET)", async () => {
    const { clock, transport, client } = setup();
    transport.device = (m) => transport.fromDevice(answer(m, CoapCode.Content));
    const p = client.request(get("/c", ["q=1"]), DEVICE, PORT, { autoToken: false });
    clock.advance(5);
    await p;
    expect(transport.sent[0].m.token.length).toBe(0);
  });

  it("honours a hard deadline", async () => {
    const { clock, client } = setup();
    const p = client.request(get("/c"), DEVICE, PORT, { timeoutMs: 2500 });
    p.catch(() => {});
    clock.advance(2500);
    await expect(p).rejects.toThrow(/2500 ms/);
  });

  it("uses fresh message ids and sends fire-and-forget NONs", () => {
    const { transport, client } = setup();
    const a = client.send(post("/c", hex("4301"), { confirmable: false }), DEVICE, PORT);
    const b = client.send(post("/c", hex("4301"), { confirmable: false }), DEVICE, PORT);
    expect(b.mid).toBe((a.mid + 1) & 0xffff);
    expect(transport.sent.map((s) => s.m.type)).toEqual([CoapType.NonConfirmable, CoapType.NonConfirmable]);
  });

  it("refuses a CON to a multicast group and takes the first answer to a multicast NON", async () => {
    const { clock, transport, client } = setup();
    await expect(client.request(get("/c"), "ff02::1", PORT)).rejects.toThrow(/NON/);
    transport.device = (m) => transport.fromDevice(answer(m, CoapCode.Content, new Uint8Array(0), CoapType.NonConfirmable, 5), 3, "fe80::7");
    const p = client.request({ ...get("/c"), type: CoapType.NonConfirmable }, "ff02::1", PORT);
    clock.advance(5);
    expect((await p).address).toBe("fe80::7");
  });

  it("rejects everything in flight on close", async () => {
    const { transport, client } = setup();
    const p = client.request(get("/c"), DEVICE, PORT);
    await client.close();
    await expect(p).rejects.toThrow(/closed/);
    expect(transport.closed).toBe(true);
    await expect(client.request(get("/c"), DEVICE, PORT)).rejects.toThrow(/closed/);
  });
});

describe("device-originated requests", () => {
  function registration(mid: number): CoapMessage {
    return { ...post("/r", hex("02050801120141")), mid };
  }

  it("hands POST /r to the handler and answers 2.03 piggybacked; a duplicate gets the same answer", () => {
    const { clock, transport, client } = setup();
    const seen: IncomingRequest[] = [];
    client.onRequest((req) => {
      seen.push(req);
      req.respond(CoapCode.Valid, hex("07030a0131"));
    });
    transport.fromDevice(registration(0x0100));
    transport.fromDevice(registration(0x0100), 500);
    clock.advance(1000);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ path: "/r", address: DEVICE, port: PORT, payload: hex("02050801120141") });
    expect(seen[0].responded).toBe(true);
    expect(transport.sent).toHaveLength(2);
    for (const s of transport.sent) {
      expect(s.m).toMatchObject({ type: CoapType.Acknowledgement, code: CoapCode.Valid, mid: 0x0100 });
      expect(s.m.token.length).toBe(0);
      expect(s.m.payload).toEqual(hex("07030a0131"));
    }
    expect(() => seen[0].respond(CoapCode.Valid)).toThrow(/already/);
  });

  it("answers a NON POST /c with a NON response echoing the token", () => {
    const { clock, transport, client } = setup();
    let query: string[] = [];
    client.onRequest((req) => {
      query = req.query;
      req.respond(CoapCode.Changed);
    });
    transport.fromDevice({ ...post("/c", hex("0703"), { confirmable: false, query: ["x=1"], token: hex("aa") }), mid: 77 });
    clock.advance(5);
    expect(query).toEqual(["x=1"]);
    expect(transport.sent[0].m).toMatchObject({ type: CoapType.NonConfirmable, code: CoapCode.Changed, token: hex("aa") });
    expect(transport.sent[0].m.mid).not.toBe(77);
  });

  it("treats a new message id as a new request", () => {
    const { clock, transport, client } = setup();
    let calls = 0;
    client.onRequest((req) => { calls++; req.respond(CoapCode.Valid); });
    transport.fromDevice(registration(1));
    transport.fromDevice(registration(2), 2);
    clock.advance(10);
    expect(calls).toBe(2);
  });

  it("forgets message ids after EXCHANGE_LIFETIME", () => {
    const { clock, transport, client } = setup({ exchangeLifetimeMs: 1000 });
    let calls = 0;
    client.onRequest((req) => { calls++; req.respond(CoapCode.Valid); });
    transport.fromDevice(registration(1));
    transport.fromDevice(registration(1), 2000);
    clock.advance(3000);
    expect(calls).toBe(2);
  });

  it("answers 5.00 when the handler throws or rejects", async () => {
    const errors: Error[] = [];
    const { clock, transport, client } = setup({ onError: (e) => errors.push(e) });
    client.onRequest(() => { throw new Error("boom"); });
    transport.fromDevice(registration(1));
    clock.advance(5);
    client.onRequest(async () => { throw new Error("later"); });
    transport.fromDevice(registration(2));
    clock.advance(5);
    await flush();
    expect(transport.sent.map((s) => s.m.code)).toEqual([CoapCode.InternalServerError, CoapCode.InternalServerError]);
    expect(errors.map((e) => e.message)).toEqual(["boom", "later"]);
  });

  it("resets a CON nobody handles, a CoAP ping, an unexpected response and an undecodable CON", () => {
    const errors: Error[] = [];
    const { clock, transport, client } = setup({ onError: (e) => errors.push(e) });
    void client;
    transport.fromDevice(registration(1));
    transport.fromDevice(emptyMessage(CoapType.Confirmable, 2));
    transport.fromDevice({ type: CoapType.Confirmable, code: CoapCode.Content, mid: 3, token: hex("99"), options: [], payload: new Uint8Array(0) });
    clock.advance(5);
    // A CON with token length 9 cannot be parsed: RST with its message id.
    clock.schedule(0, () => (transport as unknown as { listener: DatagramListener }).listener(hex("49010004"), DEVICE, PORT));
    clock.advance(1);
    expect(transport.sent.map((s) => [s.m.type, s.m.code, s.m.mid])).toEqual([
      [CoapType.Reset, 0, 1], [CoapType.Reset, 0, 2], [CoapType.Reset, 0, 3], [CoapType.Reset, 0, 4],
    ]);
    expect(errors[0].message).toMatch(/undecodable/);
  });
});

describe("over the host's LoopNetwork", () => {
  it("GETs from a device endpoint and takes its registration", async () => {
    const clock = new VirtualClock();
    const net = new LoopNetwork({ clock, latencyMs: 5 });
    const nmsEp = await net.bind("2001:db8::1", 61629);
    const devEp = net.bindSync(DEVICE, PORT);
    devEp.onReceive((d) => {
      const m = decodeCoap(d.payload);
      if (m.code === CoapCode.Get) devEp.send(d.src, d.srcPort, encodeCoap(answer(m, CoapCode.Content, hex("1602080c"))));
    });
    const client = new NmsClient(endpointTransport(nmsEp), { timers: clock });
    const p = client.request(get("/c", ["q=22"]), DEVICE, PORT);
    clock.advance(20);
    const r = await p;
    expect(r.message.payload).toEqual(hex("1602080c"));
    expect(r.address).toBe(DEVICE);

    const answers: CoapMessage[] = [];
    devEp.onReceive((d) => answers.push(decodeCoap(d.payload)));
    client.onRequest((req) => req.respond(CoapCode.Valid));
    devEp.send(nmsEp.address, 61629, encodeCoap({ ...post("/r", hex("0200")), mid: 5 }));
    clock.advance(20);
    expect(answers.map((m) => [m.type, m.code, m.mid])).toEqual([[CoapType.Acknowledgement, CoapCode.Valid, 5]]);
    await client.close();
  });
});

describe("over real UDP on [::1]", () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it("binds the default address, exchanges a GET and answers a registration", async () => {
    const transport = await UdpTransport.open({ address: "::1", port: 0 });
    const client = new NmsClient(transport);
    closers.push(() => client.close());
    const device = dgram.createSocket("udp6");
    closers.push(() => new Promise((r) => device.close(() => r())));
    await new Promise<void>((r) => device.bind(0, "::1", () => r()));
    const devicePort = device.address().port;
    const registrationAnswer = new Promise<CoapMessage>((resolve) => {
      device.on("message", (msg, rinfo) => {
        const m = decodeCoap(new Uint8Array(msg));
        if (m.code === CoapCode.Get) device.send(encodeCoap(answer(m, CoapCode.Content, hex("1602080c"))), rinfo.port, rinfo.address);
        else resolve(m);
      });
    });
    expect(transport.local.address).toBe("::1");

    const r = await client.request(get("/c", ["q=22"]), "::1", devicePort);
    expect(r.message.code).toBe(CoapCode.Content);
    expect(r.message.payload).toEqual(hex("1602080c"));

    client.onRequest((req) => req.respond(CoapCode.Valid, hex("07030a0131")));
    device.send(encodeCoap({ ...post("/r", hex("0200")), mid: 9 }), transport.local.port, "::1");
    const ack = await registrationAnswer;
    expect(ack).toMatchObject({ type: CoapType.Acknowledgement, code: CoapCode.Valid, mid: 9 });
  });
});
