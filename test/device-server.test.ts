// The device's CoAP resource server end to end: the real agent.wasm in the
// Node host, an NMS client nobody in the agent shares code with, virtual time.
import { describe, it, expect, beforeEach } from "vitest";
import { createWorld, addDevice, type World, type Device } from "./support/testbed.ts";
import { get, post, decodeCoap, codeText, CoapType, type CoapMessage } from "../host/nms/coap.ts";
import { decodeTlvs } from "../host/nms/tlv.ts";
import { requireAddress } from "../host/ipv6.ts";

let world: World;
let device: Device;

async function ask(msg: CoapMessage, to: Device = device) {
  const pending = world.nms.request(msg, to.address, to.port);
  world.clock.runUntil(() => false, 50);
  return pending;
}

beforeEach(() => {
  world = createWorld();
  device = addDevice(world, { hardware: { descr: "meter", model: "M-1" } });
});

describe("GET /c", () => {
  it("answers TlvIndex only, listing what the device serves", async () => {
    const r = await ask(get("/c", [], Uint8Array.of(0x42)));
    expect(codeText(r.message.code)).toBe("2.05");
    expect(r.message.type).toBe(CoapType.Acknowledgement);
    expect([...r.message.token]).toEqual([0x42]);
    const tlvs = decodeTlvs(r.message.payload);
    expect(tlvs.map((t) => t.name)).toEqual(["TlvIndex"]);
    const ids = (tlvs[0].value as { tlvid: string[] }).tlvid;
    for (const id of ["1", "2", "7", "11", "12", "16", "18", "22", "55", "58"]) expect(ids).toContain(id);
  });

  it("answers exactly the listed TLVs that exist, in order, unknown ones left out", async () => {
    const r = await ask(get("/c", ["q=22+11+9999+2+16"]));
    expect(codeText(r.message.code)).toBe("2.05");
    const tlvs = decodeTlvs(r.message.payload);
    expect(tlvs.map((t) => t.type)).toEqual([22, 11, 2, 16]);
    expect(tlvs[2].value).toMatchObject({ type: 1 });
    expect((tlvs[2].value as { id: string }).id).toMatch(/^00173BAB[0-9A-F]{8}$/);
    expect(tlvs[1].value).toMatchObject({ entPhysicalIndex: 1, entPhysicalDescr: "meter", entPhysicalModelName: "M-1" });
    expect(tlvs[3].value).toMatchObject({ ipAddressIndex: 1, ipAddressAddrType: 2, ipAddressPfxLen: 64 });
  });

  it("serves /c/{id} and answers 4.04 for a TLV it does not serve", async () => {
    const ok = await ask(get("/c/2"));
    expect(codeText(ok.message.code)).toBe("2.05");
    expect(decodeTlvs(ok.message.payload).map((t) => t.type)).toEqual([2]);
    for (const id of [9999, 44, 45]) { // 44/45 (Cisco's CGMSNotification/CGMSStats): not served
      const no = await ask(get(`/c/${id}`));
      expect(codeText(no.message.code), `/c/${id}`).toBe("4.04");
      expect(no.message.payload.length).toBe(0);
    }
  });

  it("answers a known TLV without a value (no session yet) with an empty 2.05", async () => {
    const r = await ask(get("/c", ["q=7"]));
    expect(codeText(r.message.code)).toBe("2.05");
    expect(r.message.payload.length).toBe(0);
  });

  it("rejects bad paths, methods and queries with the right codes", async () => {
    expect(codeText((await ask(get("/x"))).message.code)).toBe("4.04");
    expect(codeText((await ask(get("/c/2/3"))).message.code)).toBe("4.04");
    expect(codeText((await ask(get("/c", ["q=11+abc"]))).message.code)).toBe("4.00");
    expect(codeText((await ask(get("/c", ["zz=1"]))).message.code)).toBe("4.00");
    expect(codeText((await ask(post("/c/2", new Uint8Array()))).message.code)).toBe("4.05");
    const del: CoapMessage = { ...get("/c"), code: 4 };
    expect(codeText((await ask(del)).message.code)).toBe("4.05");
  });

  it("fills the payload budget with whole TLVs and stops at the first that does not fit", async () => {
    world = createWorld();
    const addresses = Array.from({ length: 8 }, (_, i) => ({ addr: `2001:db8:0:${i}::${i + 1}`, if: 1, pfxlen: 64 }));
    device = addDevice(world, { mtu: 128, addresses, hardware: { descr: "x".repeat(60) } });
    const r = await ask(get("/c", ["q=11+16+2"]));
    expect(r.message.payload.length).toBeLessThanOrEqual(128);
    const types = decodeTlvs(r.message.payload).map((t) => t.type);
    expect(types[0]).toBe(11);
    // Not all eight address rows fit after HardwareDesc: IPAddress is left out whole, and DeviceID after it too.
    expect(types).not.toContain(2);
  });

  it("takes q ids separated by '+', space or comma; a q whose only id is unknown is an empty 2.05, no error", async () => {
    for (const q of ["q=22+2", "q=22 2", "q=22,2", "q=22+ 2,"]) {
      const r = await ask(get("/c", [q]));
      expect(codeText(r.message.code), q).toBe("2.05");
      expect(decodeTlvs(r.message.payload).map((t) => t.type), q).toEqual([22, 2]);
    }
    const none = await ask(get("/c", ["q=9999"]));
    expect(codeText(none.message.code)).toBe("2.05");
    expect(none.message.payload.length).toBe(0);
  });

  it("answers 4.03 for /c/{id} when the TLV cannot fit one answer; q with that id alone is an empty 2.05", async () => {
    world = createWorld();
    const addresses = Array.from({ length: 8 }, (_, i) => ({ addr: `2001:db8:0:${i}::${i + 1}`, if: 1, pfxlen: 64 }));
    device = addDevice(world, { mtu: 128, addresses, hardware: { descr: "x".repeat(200) } });
    const big = await ask(get("/c/11"));
    expect(codeText(big.message.code)).toBe("4.03");
    expect(big.message.payload.length).toBe(0);
    const q = await ask(get("/c", ["q=11"]));
    expect(codeText(q.message.code)).toBe("2.05");
    expect(q.message.payload.length).toBe(0);
    // A table: by path all its rows or 4.03; a q answer that starts with it carries the rows that fit.
    expect(codeText((await ask(get("/c/16"))).message.code)).toBe("4.03");
    const rows = decodeTlvs((await ask(get("/c", ["q=16"]))).message.payload);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(8);
    expect(rows.every((t) => t.type === 16)).toBe(true);
  });

  it("fills 1024 payload bytes by default (mtu)", async () => {
    // HardwareDesc of about 900 bytes, then InterfaceDesc of about 200: together they pass 1024.
    const hardware = { descr: "d".repeat(450), name: "n".repeat(450) };
    const interfaces = [{ name: "lowpan0", descr: "i".repeat(200) }];
    world = createWorld();
    device = addDevice(world, { hardware, interfaces });
    const r = await ask(get("/c", ["q=11+12"]));
    expect(r.message.payload.length).toBeLessThanOrEqual(1024);
    expect(decodeTlvs(r.message.payload).map((t) => t.type)).toEqual([11]);
    world = createWorld();
    device = addDevice(world, { hardware, interfaces, mtu: 1152 });
    expect(decodeTlvs((await ask(get("/c", ["q=11+12"]))).message.payload).map((t) => t.type)).toEqual([11, 12]);
  });

  it("accepts a request with a Content-Format (42) and never requires one", async () => {
    const msg = get("/c", ["q=22"]);
    const r = await ask({ ...msg, options: [...msg.options, { number: 12, value: Uint8Array.of(42) }] });
    expect(codeText(r.message.code)).toBe("2.05");
    expect(decodeTlvs(r.message.payload).map((t) => t.type)).toEqual([22]);
  });

  it("answers a NON request with a NON response carrying the token", async () => {
    const msg = { ...get("/c", ["q=22"], Uint8Array.of(1, 2)), type: CoapType.NonConfirmable };
    const r = await ask(msg);
    expect(r.message.type).toBe(CoapType.NonConfirmable);
    expect([...r.message.token]).toEqual([1, 2]);
    expect(decodeTlvs(r.message.payload)[0].type).toBe(22);
  });
});

describe("CoAP message layer (RFC 7252)", () => {
  /** Sends raw bytes to the device; returns what it sent back (seen on the wire). */
  function raw(bytes: number[]): CoapMessage[] {
    const got: CoapMessage[] = [];
    const untap = world.net.tap((d) => { if (d.srcPort === device.port) got.push(decodeCoap(d.payload)); });
    world.nmsEndpoint.send(requireAddress(device.address), device.port, Uint8Array.from(bytes));
    world.clock.runUntil(() => false, 50);
    untap();
    return got;
  }

  it("answers a CON with a format error by RST and drops a NON one", () => {
    // token length 9: a message format error
    const con = raw([0x49, 0x01, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(con).toHaveLength(1);
    expect(con[0].type).toBe(CoapType.Reset);
    expect(con[0].mid).toBe(0x1234);
    expect(raw([0x59, 0x01, 0x12, 0x35, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toHaveLength(0);
  });

  it("answers an unrecognized critical option in a CON request with 4.02", () => {
    // GET, option 9 (critical, unassigned) length 1
    const got = raw([0x40, 0x01, 0x00, 0x07, 0x91, 0x00]);
    expect(got).toHaveLength(1);
    expect(codeText(got[0].code)).toBe("4.02");
    expect(got[0].mid).toBe(7);
  });

  it("drops a duplicate NON, and answers a CON that reuses a NON's message ID with RST", () => {
    // POST /r (a path the device does not serve): a NON gets a NON 4.04 once.
    const nonPost = [0x50, 0x02, 0x00, 0x21, 0xb1, 0x72];
    expect(raw(nonPost).map((m) => [m.type, codeText(m.code)])).toEqual([[CoapType.NonConfirmable, "4.04"]]);
    expect(raw(nonPost)).toHaveLength(0);
    // The same message ID as a CON: not that NON's retransmission, so no replayed NON answer.
    const got = raw([0x40, 0x02, 0x00, 0x21, 0xb1, 0x72]);
    expect(got.map((m) => [m.type, m.mid])).toEqual([[CoapType.Reset, 0x21]]);
  });

  it("answers a CoAP ping with RST", () => {
    const got = raw([0x40, 0x00, 0x00, 0x09]);
    expect(got.map((m) => m.type)).toEqual([CoapType.Reset]);
  });

  it("never traps on garbage and keeps answering", async () => {
    for (let i = 0; i < 300; i++) {
      raw(Array.from({ length: (i * 7) % 40 }, (_, k) => (i * 31 + k * 17) & 0xff));
    }
    expect(device.host.running).toBe(true);
    expect(device.host.lastFatal).toBeNull();
    const r = await ask(get("/c", ["q=2"]));
    expect(codeText(r.message.code)).toBe("2.05");
  });
});
