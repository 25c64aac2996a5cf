// docs/device-config.md key by key: the text format, every key's default,
// range and the TLV it feeds, end to end through agent_init and
// agent_config_update of the real agent in the Node test bed.
import { describe, it, expect, beforeEach } from "vitest";
import { createWorld, addDevice, agentLog, addressText, type World, type Device, type DeviceOptions } from "./support/testbed.ts";
import { exchange, getTlvs, postTo } from "./support/nms-ops.ts";
import { decodeCoap, encodeCoap, parseCodeText, uriPath, CoapType } from "../host/nms/coap.ts";
import { decodeTlvs, encodeTlvs, type Tlv } from "../host/nms/tlv.ts";
import { requireAddress } from "../host/ipv6.ts";

const H = 3600_000;
let world: World;

beforeEach(() => { world = createWorld(); });

/** The value of TLV `id` as the device serves it (the first row), or undefined. */
async function value(d: Device, id: number): Promise<Record<string, unknown> | undefined> {
  return (await exchange(world, d, getTlvs([id]))).tlvs[0]?.value as Record<string, unknown> | undefined;
}

async function rows(d: Device, id: number): Promise<Record<string, unknown>[]> {
  return (await exchange(world, d, getTlvs([id]))).tlvs.map((t) => t.value as Record<string, unknown>);
}

/** Boots a device whose configuration is the test bed's plus these lines (appended last). */
function withLines(extra: Record<string, string | number>, o: DeviceOptions = {}): Device {
  return addDevice(world, { ...o, extra });
}

describe("the text", () => {
  it("'#' comments and blank lines are ignored; later lines override earlier ones", async () => {
    const d = withLines({ "hw.model": "second" }, { hardware: { model: "first" } });
    expect(await value(d, 11)).toMatchObject({ entPhysicalModelName: "second" });
    expect(d.host.updateConfig("\n# a comment line\n\r\nhw.model=third\n")).toBe(0);
    expect(await value(d, 11)).toMatchObject({ entPhysicalModelName: "third" });
  });

  it("the buffer takes 2048 bytes", () => {
    expect(() => addDevice(world, { hardware: { descr: "x".repeat(2048) } })).toThrow(/the agent accepts 2048/);
  });

  it("a bad line makes agent_init return a negative code after logging 'config line N: <reason>'", () => {
    expect(() => withLines({ nonsense: 1 })).toThrow(/agent_init failed \(-1\): ERROR config line \d+: unknown key/);
    expect(() => withLines({ "hw.model": "ok", "": "x" })).toThrow(/agent_init failed \(-1\): ERROR config line \d+: unknown key/);
    expect(() => addDevice(world, { rawConfig: "eui64=00173bab00000001\nno equals sign\n" })).toThrow(/config line 2: expected key=value/);
  });

  it("an update with a bad line is refused with a negative code", () => {
    const d = addDevice(world);
    expect(d.host.updateConfig("mtu=12\n")).toBeLessThan(0);
    expect(agentLog(d)).toContain("config line 1: mtu must be 128..1152: 12");
  });
});

describe("keys", () => {
  it("eui64 is required, 16 hex digits, and DeviceID carries it in upper case", async () => {
    expect(() => addDevice(world, { rawConfig: "mtu=512\n" })).toThrow(/agent_init failed \(-2\): ERROR config: eui64 is required/);
    expect(() => addDevice(world, { rawConfig: "eui64=00173bab0000001\n" })).toThrow(/eui64 needs 16 hex digits/);
    expect(() => addDevice(world, { rawConfig: "eui64=00173bab0000000g\n" })).toThrow(/eui64 needs 16 hex digits/);
    const d = addDevice(world, { rawConfig: "eui64=00173bab00c0ffee\n" });
    expect(await value(d, 2)).toEqual({ type: 1, id: "00173BAB00C0FFEE" });
  });

  it("mtu is 128..1152", () => {
    for (const bad of [127, 1153, "x"]) expect(() => withLines({ mtu: bad }), String(bad)).toThrow(/mtu must be 128..1152/);
    for (const ok of [128, 1152]) expect(() => withLines({ mtu: ok })).not.toThrow();
  });

  it("nms.url defaults to coap://[::1]:61629 and takes no path", () => {
    const to: string[] = [];
    world.net.tap((d) => { if (uriPath(decodeCoap(d.payload)) === "/r") to.push(`[${addressText(d.dst)}]:${d.dstPort}`); });
    addDevice(world, { rawConfig: "eui64=00173bab00000002\n" });
    world.clock.runUntil(() => to.length > 0, H);
    expect(to[0]).toBe("[::1]:61629");
    expect(() => withLines({ "nms.url": "coap://[2001:db8::1]:61629/nms" })).toThrow(/nms.url must be coap:\/\/\[ipv6\]:port with no path/);
    expect(() => withLines({ "nms.url": "coap://nms.example:61629" })).toThrow(/nms.url must be/);
  });

  it("nms.key is 130 hex digits of an uncompressed point; fw.key too; fw.hwid at most 32 characters", () => {
    for (const key of ["nms.key", "fw.key"]) {
      expect(() => withLines({ [key]: "04" + "ab".repeat(63) })).toThrow(new RegExp(`${key} needs 130 hex digits`));
      expect(() => withLines({ [key]: "03" + "ab".repeat(64) })).toThrow(new RegExp(`${key} needs 130 hex digits`));
    }
    expect(() => withLines({ "fw.hwid": "h".repeat(33) })).toThrow(/fw.hwid is at most 32 characters/);
    expect(() => withLines({ "fw.hwid": "h".repeat(32) })).not.toThrow();
  });

  it("mcast.1 and mcast.2 are groups the agent joins (GroupMatch gates them); only multicast addresses, only two", async () => {
    world.nms.onRequest((req) => { if (req.path === "/r") req.respond(parseCodeText("2.03")); });
    const d = withLines({ "mcast.1": "ff03::1", "mcast.2": "ff05::c5" });
    world.clock.runUntil(() => agentLog(d).includes("registered"), 2 * H);
    await exchange(world, d, postTo(encodeTlvs([{ type: "GroupAssign", value: { type: 1, id: 3 } }])));
    const setMax = (max: number) => encodeCoap({
      ...postTo(encodeTlvs([{ type: "GroupMatch", value: { type: 1, id: 3 } }, { type: "NMSSettings", value: { regIntervalMax: max } }]), false), mid: max,
    });
    world.nmsEndpoint.send(requireAddress("ff05::c5"), d.port, setMax(4444));
    world.clock.advance(100);
    expect(await value(d, 42)).toMatchObject({ regIntervalMax: 4444 });
    world.nmsEndpoint.send(requireAddress("ff03::1"), d.port, setMax(5555));
    world.clock.advance(100);
    expect(await value(d, 42)).toMatchObject({ regIntervalMax: 5555 });
    expect(() => withLines({ "mcast.3": "ff03::3" })).toThrow(/mcast.1\/mcast.2 take an IPv6 multicast address/);
    expect(() => withLines({ "mcast.1": "2001:db8::5" })).toThrow(/mcast.1\/mcast.2 take an IPv6 multicast address/);
  });

  it("reg.min and reg.max (s, at least 1) set the factory intervals; the draft's 300 and 3600 by default", async () => {
    expect(await value(addDevice(world), 42)).toEqual({ regIntervalMin: 300, regIntervalMax: 3600 });
    const sends: number[] = [];
    world.net.tap((dg) => { if (uriPath(decodeCoap(dg.payload)) === "/r") sends.push(world.clock.nowMs()); });
    const t0 = world.clock.nowMs();
    const d = withLines({ "reg.min": 10, "reg.max": 120 });
    expect(await value(d, 42)).toEqual({ regIntervalMin: 10, regIntervalMax: 120 });
    world.clock.runUntil(() => sends.length > 0, H);
    expect(sends[0] - t0).toBeLessThanOrEqual(20_000); // lead-in up to 10 s, then the second half of 10 s
    for (const bad of [0, "x"]) expect(() => withLines({ "reg.min": bad })).toThrow(/reg.min\/reg.max are seconds, at least 1/);
  });

  it("reset.cause (1..5, default 1 power-on) is counted in SysResetStats", async () => {
    const causes: [number, Record<string, unknown>][] = [
      [1, { hardwareReset: { total: 1, powerOnReset: 1 } }],
      [2, { hardwareReset: { total: 1, externalReset: 1 } }],
      [3, { exceptionReset: { total: 1, IWDGReset: 1 } }],
      [4, { exceptionReset: { total: 1, cstackOverflowReset: 1 } }],
      [5, { exceptionReset: { total: 1, EPFReset: 1 } }],
    ];
    for (const [cause, counted] of causes) expect(await value(withLines({ "reset.cause": cause }), 86)).toEqual({ total: 1, ...counted });
    expect(await value(addDevice(world), 86)).toEqual({ total: 1, hardwareReset: { total: 1, powerOnReset: 1 } });
    for (const bad of [0, 6]) expect(() => withLines({ "reset.cause": bad })).toThrow(/reset.cause is 1 power-on/);
  });

  it("event.pen (default 0) is the enterprise number of the event ids", async () => {
    const ids = async (d: Device) => ((await value(d, 501))!.id as { ianaen?: number }[]).map((i) => i.ianaen ?? 0);
    expect(new Set(await ids(addDevice(world)))).toEqual(new Set([0]));
    expect(new Set(await ids(withLines({ "event.pen": 26866 })))).toEqual(new Set([26866]));
    expect(() => withLines({ "event.pen": "cisco" })).toThrow(/event.pen must be a decimal enterprise number/);
  });
});

describe("identity and status keys", () => {
  it("hw.*: text, decimal and hex fields of HardwareDesc, entPhysicalIndex 1", async () => {
    const d = addDevice(world, {
      hardware: {
        descr: "D", name: "N", hwrev: "H", fwrev: "F", swrev: "S", serial: "SN", mfg: "M", model: "MO", assetid: "A", uris: "U",
        class: 3, function: 1, mfgdate: 20260101, oui: "00173b", vendortype: "0102",
      },
    });
    expect(await value(d, 11)).toEqual({
      hwModule: [], entPhysicalIndex: 1, entPhysicalDescr: "D", entPhysicalName: "N", entPhysicalHardwareRev: "H", entPhysicalFirmwareRev: "F",
      entPhysicalSoftwareRev: "S", entPhysicalSerialNum: "SN", entPhysicalMfgName: "M", entPhysicalModelName: "MO",
      entPhysicalAssetID: "A", entPhysicalURIs: "U", entPhysicalClass: 3, entPhysicalFunction: 1, entPhysicalMfgDate: 20260101,
      entPhysicalOUI: Uint8Array.of(0x00, 0x17, 0x3b), entPhysicalVendorType: Uint8Array.of(1, 2),
    });
    expect(() => withLines({ "hw.class": "-1" })).toThrow(/expected a decimal number/);
    expect(() => withLines({ "hw.oui": "0g" })).toThrow(/expected hex bytes/);
  });

  it("if.N.* (N = ifIndex 1..4) are InterfaceDesc rows", async () => {
    const d = addDevice(world, { interfaces: [
      { name: "lowpan0", descr: "Wi-SUN", type: 259, mtu: 1280, phys: "00173bab00000001" },
      { index: 4, name: "eth0" },
    ] });
    expect(await rows(d, 12)).toEqual([
      { ifIndex: 1, ifName: "lowpan0", ifDescr: "Wi-SUN", ifType: 259, ifMtu: 1280, ifPhysAddress: Uint8Array.of(0, 0x17, 0x3b, 0xab, 0, 0, 0, 1) },
      { ifIndex: 4, ifName: "eth0" },
    ]);
    for (const bad of ["if.0.name", "if.5.name"]) expect(() => withLines({ [bad]: "x" })).toThrow(/interface row must be 1..4/);
  });

  it("ip.N.* (N = 1..8) are IPv6 IPAddress rows: if 1, pfxlen 64, origin 2 manual, status 1 preferred, type 1 unicast by default", async () => {
    const d = withLines({ "ip.8.addr": "fe80::1", "ip.8.if": 2, "ip.8.pfxlen": 10, "ip.8.origin": 5, "ip.8.status": 6, "ip.8.type": 2 }, { addresses: [{ addr: "2001:db8::7" }] });
    const [first, last] = await rows(d, 16);
    expect(first).toEqual({
      ipAddressIndex: 1, ipAddressAddrType: 2, ipAddressAddr: requireAddress("2001:db8::7"), ipAddressIfIndex: 1,
      ipAddressType: 1, ipAddressOrigin: 2, ipAddressStatus: 1, ipAddressPfxLen: 64,
    });
    expect(last).toEqual({
      ipAddressIndex: 8, ipAddressAddrType: 2, ipAddressAddr: requireAddress("fe80::1"), ipAddressIfIndex: 2,
      ipAddressType: 2, ipAddressOrigin: 5, ipAddressStatus: 6, ipAddressPfxLen: 10,
    });
    expect(() => withLines({ "ip.9.addr": "2001:db8::9" })).toThrow(/address row must be 1..8/);
    expect(() => withLines({ "ip.1.addr": "2001:db8::zz" })).toThrow(/expected an IPv6 address/);
  });

  it("wpan.*, rpl.*, dhcp6.* fill WPANStatus, RPLSettings and DHCP6ClientStatus", async () => {
    const wpan = {
      if: 2, panid: 28, dot1x: 1, seclevel: 6, rank: 256, beaconvalid: 1, beaconversion: 9, beaconage: 10, txpower: 20,
      dagsize: 12, metric: 13, lastchanged: 14, lastchangedreason: 4, phymode: 18,
    };
    const rpl = { if: 2, enabled: 1, diomin: 3, diomax: 4, daomin: 5, daomax: 6, mop: 1 };
    const dhcp6 = { if: 2, iaid: 7, t1: 3600, t2: 5400 };
    const lines = {
      ...Object.fromEntries(Object.entries(wpan).map(([k, v]) => [`wpan.${k}`, v])), "wpan.ssid": "6f70656e",
      ...Object.fromEntries(Object.entries(rpl).map(([k, v]) => [`rpl.${k}`, v])),
      ...Object.fromEntries(Object.entries(dhcp6).map(([k, v]) => [`dhcp6.${k}`, v])),
    };
    const d = withLines(lines);
    expect(await value(d, 35)).toEqual({
      phyModeList: [], ifIndex: 2, SSID: Uint8Array.from(Buffer.from("open")), panid: 28, dot1xEnabled: true, securityLevel: 6, rank: 256, beaconValid: true,
      beaconVersion: 9, beaconAge: 10, txPower: 20, dagSize: 12, metric: 13, lastChanged: 14, lastChangedReason: 4, phyMode: 18,
    });
    expect(await value(d, 21)).toEqual({ ifIndex: 2, enabled: true, dioIntervalMin: 3, dioIntervalMax: 4, daoIntervalMin: 5, daoIntervalMax: 6, mopType: 1 });
    expect(await value(d, 36)).toEqual({ ifIndex: 2, ianaIAID: 7, ianaT1: 3600, ianaT2: 5400 });
  });

  it("WPANStatus, RPLSettings and DHCP6ClientStatus are served and registered only when configured", async () => {
    const regs: Tlv[][] = [];
    world.net.tap((dg) => { const m = decodeCoap(dg.payload); if (uriPath(m) === "/r" && m.type === CoapType.Confirmable) regs.push(decodeTlvs(m.payload)); });
    const bare = addDevice(world);
    for (const id of [35, 21, 36]) expect(await value(bare, id), String(id)).toBeUndefined();
    world.clock.runUntil(() => regs.length > 0, H);
    expect(regs[0].map((t) => t.type)).not.toContain(35);
    expect(regs[0].map((t) => t.type)).not.toContain(21);
  });
});

describe("updates (agent_config_update)", () => {
  it("changed ip.* lines restart registration with reason 3, a changed nms.url with reason 4", () => {
    world.nms.onRequest((req) => { if (req.path === "/r") req.respond(parseCodeText("2.03")); });
    const d = addDevice(world);
    world.clock.runUntil(() => agentLog(d).includes("registered"), 2 * H);
    expect(d.host.updateConfig("ip.2.addr=2001:db8::42\n")).toBe(0);
    expect(agentLog(d)).toContain("registration started, reason 3");
    expect(d.host.updateConfig("hw.model=x\n")).toBe(0); // neither: no restart
    expect(agentLog(d).filter((l) => l.startsWith("registration started"))).toHaveLength(2);
    expect(d.host.updateConfig(`nms.url=coap://[${"2001:db8::1"}]:61629\n`)).toBe(0);
    expect(agentLog(d)).toContain("registration started, reason 4");
  });
});
