// Power cuts during every durable update that is not a firmware download
// (test/firmware-powercut.test.ts has those): the first boot and
// registration, ReportSubscribe, GroupAssign/GroupEvict, EventSubscribe,
// NMSSettings, SignatureSettings, NetworkRole, a POST carrying several of
// them, and a RebootRequest with the boot after it. The real agent runs on a
// FaultStorage (host/fault-storage.ts) that loses power at durable write N,
// for every N of each update. Then:
// - what the flash held at the cut, booted on a fresh device, registers
//   normally and answers every TLV of the update with its old or its new
//   value, never anything else;
// - on the device that lost power, the NMS's retransmission (the POST was
//   never answered) completes the update, as a fresh boot forgets the
//   exchange it was in.
// Records are atomic by the PAL contract (host/storage.ts), so a cut skips a
// write whole; the POSIX PAL's own atomicity, torn files included, is
// test/wamr-powercut.test.ts. A second part fills each record with damaged
// bytes, as bit rot or a foreign image would leave it: the agent must boot,
// register and answer, never trap.
import { describe, it, expect } from "vitest";
import { VirtualFleet, type FleetDevice } from "../host/nms/campaign-fleet.ts";
import { FaultStorage, type DurableWrite } from "../host/fault-storage.ts";
import { MemoryStorage } from "../host/storage.ts";
import type { Tlv } from "../host/nms/tlv.ts";
import { codeText } from "../host/nms/coap.ts";
import { seededUniform } from "../host/random.ts";

const SEED = 5;
const SLOTS = { slotSizes: [32 * 1024, 32 * 1024, 32 * 1024] };
/** The platform takes every NetworkRole the NMS sends. */
const acceptHostTlv = () => 0;
const EVENT_PEN = 26484;

type Snapshot = Map<string, Uint8Array>;

function snapshot(s: MemoryStorage): Snapshot {
  const m: Snapshot = new Map();
  for (const k of s.keys()) {
    const r = s.read(k);
    if (r.ok && r.value) m.set(k, r.value);
  }
  return m;
}

function restore(records: Snapshot): MemoryStorage {
  const s = new MemoryStorage(SLOTS);
  for (const [k, v] of records) s.write(k, v);
  return s;
}

interface DurableUpdate {
  name: string;
  /** TLVs the update changes: after a cut each answers its old or its new value. */
  tlvs: number[];
  /** Brings the device to the old state once it has registered. */
  prepare?: (f: VirtualFleet, d: FleetDevice) => Promise<{ code: number | null }>;
  /** The update restarts the device (the run waits for it to register again). */
  reboots?: boolean;
  /** The update; null: the first boot and registration are the update. */
  apply: ((f: VirtualFleet, d: FleetDevice) => Promise<{ code: number | null }>) | null;
}

const UPDATES: DurableUpdate[] = [
  { name: "first boot and registration", tlvs: [7, 86], apply: null },
  {
    name: "ReportSubscribe", tlvs: [13],
    prepare: (f, d) => f.nms.setReportSubscription(d.eui64, { interval: 600, tlvid: ["11"] }),
    apply: (f, d) => f.nms.setReportSubscription(d.eui64, { interval: 300, tlvid: ["11", "86"], intervalHeartBeat: 3600, tlvidHeartBeat: ["2"] }),
  },
  {
    name: "GroupAssign", tlvs: [58],
    prepare: (f, d) => f.nms.assignGroup(d.eui64, { type: 1, id: 5 }),
    apply: (f, d) => f.nms.assignGroup(d.eui64, { type: 1, id: 7 }),
  },
  {
    name: "GroupEvict", tlvs: [58],
    prepare: (f, d) => f.nms.assignGroup(d.eui64, { type: 2, id: 9 }),
    apply: (f, d) => f.nms.evictGroup(d.eui64, { type: 2 }),
  },
  {
    name: "EventSubscribe", tlvs: [502],
    prepare: (f, d) => f.nms.subscribeEvents(d.eui64, [{ ianaen: EVENT_PEN, code: 503 }]),
    apply: (f, d) => f.nms.subscribeEvents(d.eui64, [{ ianaen: EVENT_PEN, code: 503 }, { ianaen: EVENT_PEN, code: 505 }]),
  },
  {
    name: "NMSSettings", tlvs: [42],
    prepare: (f, d) => f.nms.setRegIntervals(d.eui64, { min: 30, max: 600 }),
    apply: (f, d) => f.nms.setRegIntervals(d.eui64, { min: 60, max: 1200 }),
  },
  {
    name: "SignatureSettings", tlvs: [79],
    apply: (f, d) => f.nms.setSignatureSettings(d.eui64, { reqTimeSyncPost: false }),
  },
  {
    name: "NetworkRole", tlvs: [141],
    prepare: (f, d) => f.nms.post(d.eui64, [{ type: "NetworkRole", value: { preference: 1 } }]),
    apply: (f, d) => f.nms.post(d.eui64, [{ type: "NetworkRole", value: { preference: 2 } }]),
  },
  {
    name: "one POST with four durable TLVs", tlvs: [42, 58, 502, 13],
    // Raw POSTs: the NMS's registration answer does not push these back.
    prepare: (f, d) => f.nms.post(d.eui64, [{ type: "ReportSubscribe", value: { interval: 600, tlvid: ["11"] } }]),
    apply: (f, d) => f.nms.post(d.eui64, [
      { type: "NMSSettings", value: { regIntervalMin: 45 } },
      { type: "GroupAssign", value: { type: 1, id: 11 } },
      { type: "EventSubscribe", value: { id: [{ ianaen: EVENT_PEN, code: 504 }] } },
      { type: "ReportSubscribe", value: { interval: 900, tlvid: ["86"] } },
    ]),
  },
];

/** An exchange's response code as text ("2.01"), null when none came. */
async function answered(f: VirtualFleet, exchange: Promise<{ code: number | null }>): Promise<string | null> {
  const { code } = await f.drive(exchange);
  return code === null ? null : codeText(code);
}

/** One device on a fresh fleet (same seed every time, so every run makes the same writes). */
function device(storage: MemoryStorage | FaultStorage) {
  const fleet = new VirtualFleet({ seed: SEED });
  const d = fleet.addDevice({ storage, onHostTlv: acceptHostTlv });
  return { fleet, d };
}

/** Runs the clock until the device registers after its log line `from` (false after 4 h). */
function waitRegisteredAfter(f: VirtualFleet, d: FleetDevice, from: number): boolean {
  return f.clock.runUntil(() => d.logs.slice(from).some((e) => e.source === "agent" && e.text === "registered"), 4 * 3600_000);
}

/** The answers a device booted on `records` gives for `tlvs`, after it registered. */
async function bootAndRead(records: Snapshot, tlvs: number[]): Promise<{ registered: boolean; fatal: string | null; values: Map<number, unknown[]> }> {
  const { fleet, d } = device(restore(records));
  const registered = fleet.waitRegistered();
  const answer = await fleet.drive(fleet.nms.get(d.eui64, tlvs));
  expect(codeText(answer.code!)).toBe("2.05");
  const values = new Map<number, unknown[]>(tlvs.map((t) => [t, []]));
  for (const t of answer.tlvs as Tlv[]) values.get(t.type)?.push(t.value);
  return { registered, fatal: d.host.lastFatal, values };
}

interface Run {
  /** Records before the update and after it. */
  before: Snapshot;
  after: Snapshot;
  journal: DurableWrite[];
}

/** A clean run of the update: its writes, and the records on either side. */
async function cleanRun(u: DurableUpdate): Promise<Run> {
  const inner = new MemoryStorage(SLOTS);
  const storage = new FaultStorage(inner);
  storage.journaling = true;
  if (!u.apply) {
    const { fleet } = device(storage);
    expect(fleet.waitRegistered()).toBe(true);
    return { before: new Map(), after: snapshot(inner), journal: [...storage.journal] };
  }
  const { fleet, d } = device(storage);
  expect(fleet.waitRegistered()).toBe(true);
  if (u.prepare) expect(await answered(fleet, u.prepare(fleet, d))).toBe("2.01");
  fleet.clock.advance(1000);
  const before = snapshot(inner);
  storage.reset();
  const from = d.logs.length;
  expect(await answered(fleet, u.apply(fleet, d))).toBe("2.01");
  if (u.reboots) expect(waitRegisteredAfter(fleet, d, from)).toBe(true);
  fleet.clock.advance(1000);
  return { before, after: snapshot(inner), journal: [...storage.journal] };
}

interface CutOutcome {
  /** The records as the power went. */
  atCut: Snapshot;
  cut: DurableWrite;
  /** The POST's final answer on the device that lost power (the NMS retransmits). */
  code: string | null;
  registeredAgain: boolean;
  after: Snapshot;
}

/** The update again with the power cut at its write n; the device restarts at once. */
async function cutRun(u: DurableUpdate, n: number): Promise<CutOutcome> {
  const inner = new MemoryStorage(SLOTS);
  const storage = new FaultStorage(inner);
  let atCut: Snapshot | null = null;
  let victim: FleetDevice | null = null;
  let cycledAt = -1;
  const powerCycle = (d: FleetDevice) => {
    cycledAt = d.logs.length;
    d.host.powerCycle();
  };
  storage.onCut = () => {
    atCut = snapshot(inner);
    // A cut inside the first boot comes before addDevice returns: cycled just after.
    if (victim) powerCycle(victim);
  };
  if (!u.apply) storage.cutAt({ at: n, mode: "skip" });
  const { fleet, d } = device(storage);
  victim = d;
  let code: string | null = null;
  if (!u.apply) {
    if (storage.cut && cycledAt < 0) powerCycle(d);
  } else {
    expect(fleet.waitRegistered()).toBe(true);
    if (u.prepare) expect(await answered(fleet, u.prepare(fleet, d))).toBe("2.01");
    fleet.clock.advance(1000);
    storage.reset();
    storage.cutAt({ at: n, mode: "skip" });
    code = await answered(fleet, u.apply(fleet, d));
  }
  // The write may come later (the registration's session, the boot after a reboot).
  fleet.clock.runUntil(() => storage.cut !== null, 4 * 3600_000);
  expect(storage.cut, `the cut at write ${n} happened`).not.toBeNull();
  const registeredAgain = waitRegisteredAfter(fleet, d, cycledAt);
  fleet.clock.advance(1000);
  return { atCut: atCut!, cut: storage.cut!, code, registeredAgain, after: snapshot(inner) };
}

/** A TLV's rows as comparable text. */
const rowsText = (rows: unknown[] | undefined) => JSON.stringify(rows ?? [], (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));

describe("power cuts at every durable write of every non-firmware update", () => {
  for (const u of UPDATES) {
    it(`${u.name}: old or new after the cut, registers, and the NMS's retry completes it`, async () => {
      const clean = await cleanRun(u);
      expect(clean.journal.length, "the update writes something").toBeGreaterThan(0);
      const old = await bootAndRead(clean.before, u.tlvs);
      const fresh = await bootAndRead(clean.after, u.tlvs);
      const changed = u.tlvs.filter((t) => rowsText(old.values.get(t)) !== rowsText(fresh.values.get(t)));
      // Every TLV but the boot's reset counter shows the update (a device with no records boots to defaults).
      if (u.apply) expect(changed.sort(), "the update is visible in every TLV it names").toEqual([...u.tlvs].sort());

      for (let n = 1; n <= clean.journal.length; n++) {
        const o = await cutRun(u, n);
        const where = `cut at write ${n} (${o.cut.kind} ${o.cut.key})`;
        expect(o.cut, where).toMatchObject({ n, kind: clean.journal[n - 1].kind, key: clean.journal[n - 1].key });
        // The flash at the cut, booted again.
        const booted = await bootAndRead(o.atCut, u.tlvs);
        expect(booted.fatal, where).toBeNull();
        expect(booted.registered, `${where}: registers after the restart`).toBe(true);
        for (const t of u.tlvs) {
          if (t === 86 || t === 7) continue; // boot counters and the session id move with every boot: checked below
          const got = rowsText(booted.values.get(t));
          expect([rowsText(old.values.get(t)), rowsText(fresh.values.get(t))], `${where}: TLV ${t} is ${got}`).toContain(got);
        }
        // The device that lost power finishes the update.
        expect(o.registeredAgain, `${where}: the device that lost power registers again`).toBe(true);
        if (u.apply) {
          expect(o.code, `${where}: the NMS's retransmission is answered`).toBe("2.01");
          for (const k of new Set(clean.journal.map((w) => w.key!))) {
            if (k === "resets" || k === "session") continue;
            expect(o.after.get(k), `${where}: record ${k} ends new`).toEqual(clean.after.get(k));
          }
        } else {
          expect(o.after.has("session"), `${where}: the session is kept`).toBe(true);
        }
      }
    });
  }

  it("RebootRequest: the counters stay consistent, no noted cause outlives its boot, and the device comes back", async () => {
    const rebootUpdate: DurableUpdate = { name: "RebootRequest", tlvs: [86], reboots: true, apply: (f, d) => f.nms.reboot(d.eui64) };
    const clean = await cleanRun(rebootUpdate);
    // The cause noted, then at the boot the cause taken (erased) and the counters written.
    expect(clean.journal.map((w) => `${w.kind} ${w.key}`)).toEqual(["record-write resetcause", "record-erase resetcause", "record-write resets"]);
    for (let n = 1; n <= clean.journal.length; n++) {
      const o = await cutRun(rebootUpdate, n);
      const where = `cut at write ${n} (${o.cut.kind} ${o.cut.key})`;
      const booted = await bootAndRead(o.atCut, [86]);
      expect(booted.registered, where).toBe(true);
      for (const stats of [...booted.values.get(86)!]) {
        const s = stats as { total: number; hardwareReset?: { total: number }; softwareReset?: { total: number }; exceptionReset?: { total: number } };
        const groups = (s.hardwareReset?.total ?? 0) + (s.softwareReset?.total ?? 0) + (s.exceptionReset?.total ?? 0);
        expect(groups, `${where}: SysResetStats totals agree`).toBe(s.total);
      }
      expect(o.registeredAgain, where).toBe(true);
      expect(o.after.has("resetcause"), `${where}: no cause is left for a later boot`).toBe(false);
    }
  });
});

/** Damaged contents for a record: empty, cut short, bits flipped, random, too long. */
function damaged(value: Uint8Array | undefined, seed: number): Uint8Array[] {
  const random = seededUniform(seed);
  const v = value ?? Uint8Array.of(0x08, 0x01);
  const flipped = v.slice();
  for (let i = 0; i < flipped.length; i++) flipped[i] ^= 1 << Math.floor(random() * 8);
  const noise = (len: number) => Uint8Array.from({ length: len }, () => Math.floor(random() * 256));
  return [
    new Uint8Array(0),
    v.subarray(0, Math.max(1, v.length >> 1)),
    flipped,
    Uint8Array.from(v, (b) => b ^ 0xff),
    noise(1 + Math.floor(random() * 40)),
    noise(200),
    new Uint8Array(5000).fill(0xff), // erased flash read as a record
  ];
}

describe("damaged records", () => {
  it("every record damaged every way: the agent boots, registers and answers, and never traps", async () => {
    // A device with every kind of record written, as a long-lived one has.
    const inner = new MemoryStorage(SLOTS);
    const { fleet, d } = device(inner);
    expect(fleet.waitRegistered()).toBe(true);
    for (const u of UPDATES) if (u.apply) expect(await answered(fleet, u.apply(fleet, d)), u.name).toBe("2.01");
    expect(await answered(fleet, fleet.nms.reboot(d.eui64))).toBe("2.01");
    fleet.clock.advance(60_000);
    const good = snapshot(inner);
    // Firmware records too: the agent must not trust them blindly either.
    const keys = [...new Set([...good.keys(), "resetcause", "fwmeta", "fwbits"])].sort();
    expect(keys).toEqual(expect.arrayContaining(["eventsub", "groups", "netrole", "nmssettings", "reportsub", "resets", "session", "sigsettings"]));

    let boots = 0;
    for (const [i, key] of keys.entries()) {
      for (const bad of damaged(good.get(key), 100 + i)) {
        const records = new Map(good);
        records.set(key, bad);
        const index = await bootAndReadIndex(records);
        const where = `${key} = ${Buffer.from(bad.subarray(0, 24)).toString("hex")}${bad.length > 24 ? "..." : ""} (${bad.length} bytes)`;
        expect(index.fatal, where).toBeNull();
        expect(index.registered, `${where}: registers`).toBe(true);
        expect(index.code, `${where}: answers a GET of everything it serves`).toBe("2.05");
        boots++;
      }
    }
    expect(boots).toBe(keys.length * 7);
  });
});

/** Boots on `records` and GETs every TLV the device lists in its TlvIndex. */
async function bootAndReadIndex(records: Snapshot): Promise<{ registered: boolean; fatal: string | null; code: string }> {
  const { fleet, d } = device(restore(records));
  const registered = fleet.waitRegistered();
  const index = await fleet.drive(fleet.nms.get(d.eui64, [1]));
  const ids = (index.tlvs[0]?.value as { tlvid?: string[] } | undefined)?.tlvid ?? [];
  expect(ids.length).toBeGreaterThan(10);
  const all = await fleet.drive(fleet.nms.get(d.eui64, ids));
  return { registered, fatal: d.host.lastFatal, code: all.code === null ? "none" : codeText(all.code) };
}
