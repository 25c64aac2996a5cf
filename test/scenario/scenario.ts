// One device's life against the simulated NMS over real UDP on [::1], in
// real time, written once for every host: the steps take a DeviceHandle
// (device.ts) and the NMS, and defineScenario() runs them in order as one
// vitest suite per host. Whatever host runs the agent must pass the same
// assertions: registration (signed 2.03), configuration (signed POST
// ReportSubscribe, 2 s), periodic reports, GETs from libcoap's
// coap-client, a refused bad signature, a host event reported to the NMS, a
// configuration update (new address) that re-registers, a restart that
// keeps the session and subscription, and a firmware download that ends in
// a reboot into 6.9.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeText } from "../../host/nms/coap.ts";
import { postPayload, postRequest } from "../../host/nms/requests.ts";
import { generateNmsKeyPair } from "../../host/nms/sign.ts";
import { SimulatedNms, type RegistrationEvent, type ReportEvent } from "../../host/nms/sim.ts";
import { decodeTlvs, type Tlv, type TlvInput } from "../../host/nms/tlv.ts";
import { endpointTransport } from "../../host/nms/transport.ts";
import { UdpNetwork } from "../../host/udp-network.ts";
import { IMAGE_68, IMAGE_69, prepareDeviceDir, scenarioConfig, type DeviceFactory, type DeviceHandle } from "./device.ts";

const runFile = promisify(execFile);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();
const BLOCK = 512;
/** ReportSubscribe the NMS configures: Uptime and InterfaceMetrics every 2 s. */
const SUBSCRIPTION = { interval: 2, tlvid: ["22", "23"] };

/** The NMS side of a scenario: a SimulatedNms on a real [::1] socket and what it saw. */
export interface ScenarioNms {
  nms: SimulatedNms;
  address: string;
  port: number;
  registrations: RegistrationEvent[];
  reports: { at: number; event: ReportEvent }[];
  close(): Promise<void>;
}

export async function startNms(): Promise<ScenarioNms> {
  // Bound like SimulatedNms.bind, but on port 0: the test learns the port from the endpoint.
  const endpoint = await new UdpNetwork().bind("::1", 0);
  const nms = new SimulatedNms({ transport: endpointTransport(endpoint) });
  const s: ScenarioNms = {
    nms, address: "::1", port: endpoint.port, registrations: [], reports: [],
    close: () => nms.close(),
  };
  nms.on("registration", (e) => s.registrations.push(e));
  nms.on("report", (e) => s.reports.push({ at: Date.now(), event: e }));
  return s;
}

/** Polls until `done` holds; the failure names the wait and carries the device's log. */
export async function waitFor(device: DeviceHandle, what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`${device.hostName}: ${what} did not happen within ${timeoutMs} ms; device log:\n${device.log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const target = (d: DeviceHandle) => ({ address: d.address, port: d.port });
const find = (tlvs: readonly Tlv[], name: string) => tlvs.find((t) => t.name === name);
const valueOf = (t: Tlv | undefined) => (t && !(t.value instanceof Uint8Array) ? t.value : {}) as Record<string, unknown>;

async function getTlvs(s: ScenarioNms, d: DeviceHandle, ids: number[]): Promise<Tlv[]> {
  const r = await s.nms.get(target(d), ids);
  expect(codeText(r.code!), `GET /c?q=${ids.join("+")}`).toBe("2.05");
  return r.tlvs;
}

async function subscription(s: ScenarioNms, d: DeviceHandle): Promise<Record<string, unknown>> {
  return valueOf(find(await getTlvs(s, d, [13]), "ReportSubscribe"));
}

/** A successful registration of this device after `since` registrations. */
function registered(s: ScenarioNms, d: DeviceHandle, since: number): RegistrationEvent | undefined {
  return s.registrations.slice(since).find((e) => e.eui64 === d.eui64.toUpperCase() && e.outcome === "registered");
}

function reportsOf(s: ScenarioNms, d: DeviceHandle, since: number) {
  return s.reports.slice(since).filter((r) => r.event.device?.eui64 === d.eui64.toUpperCase());
}

// ---- steps -----------------------------------------------------------------------

/** Registers with the NMS, whose 2.03 is signed; the device keeps the SessionID it was given. */
export async function registers(s: ScenarioNms, d: DeviceHandle): Promise<void> {
  await waitFor(d, "registration", () => registered(s, d, 0) !== undefined);
  const e = registered(s, d, 0)!;
  expect(codeText(e.code!)).toBe("2.03");
  expect(e.answer.map((t) => t.name)).toEqual(expect.arrayContaining(["SessionID", "SignatureValidity", "Signature"]));
  expect(e.request.map((t) => t.name).slice(0, 2)).toEqual(["DeviceID", "CurrentTime"]);
  const session = valueOf(find(await getTlvs(s, d, [7]), "SessionID"));
  expect(session.id, "the device took the signed answer's SessionID").toBe(s.nms.device(d.eui64)!.sessionId);
}

/** A signed POST ReportSubscribe (2 s) is applied. */
export async function getsConfigured(s: ScenarioNms, d: DeviceHandle): Promise<void> {
  const r = await s.nms.setReportSubscription(target(d), SUBSCRIPTION);
  expect(codeText(r.code!).startsWith("2."), `POST ReportSubscribe answered ${codeText(r.code!)}`).toBe(true);
  expect(await subscription(s, d)).toMatchObject(SUBSCRIPTION);
}

/** At least two periodic reports with the subscribed metrics, a period apart. */
export async function reportsMetrics(s: ScenarioNms, d: DeviceHandle): Promise<void> {
  const since = s.reports.length;
  await waitFor(d, "two reports", () => reportsOf(s, d, since).length >= 2, 10_000);
  const [a, b] = reportsOf(s, d, since);
  for (const r of [a, b]) expect(r.event.tlvs.map((t) => t.name)).toEqual(expect.arrayContaining(["SessionID", "CurrentTime", "Uptime"]));
  // Periodic, not a burst: a second report only after (most of) the period.
  expect(b.at - a.at).toBeGreaterThan(1000);
}

/** libcoap's coap-client (an implementation nobody here wrote) reads HardwareDesc. */
export async function answersCoapClient(s: ScenarioNms, d: DeviceHandle, scratch: string): Promise<void> {
  const out = join(scratch, "q11.bin");
  // Asynchronous: the Node host answers from this very process.
  await runFile("coap-client-notls", ["-m", "get", "-B", "5", "-o", out, `coap://[${d.address}]:${d.port}/c?q=11`], { timeout: 10_000 });
  const tlvs = decodeTlvs(readFileSync(out));
  expect(tlvs.map((t) => t.name)).toEqual(["HardwareDesc"]);
  expect(valueOf(tlvs[0])).toMatchObject({ entPhysicalDescr: "OpenCSMP scenario device", entPhysicalModelName: "SC-1" });
}

/** A POST signed by another key gets 4.01 and changes nothing. */
export async function rejectsBadSignature(s: ScenarioNms, d: DeviceHandle): Promise<void> {
  const tlvs: TlvInput[] = [{ type: "ReportSubscribe", value: { interval: 60, tlvid: ["22"] } }];
  const payload = postPayload(tlvs, undefined, { keys: generateNmsKeyPair(), validity: s.nms.validityWindow() });
  const r = await s.nms.client.request(postRequest(payload, { confirmable: true }), d.address, d.port);
  expect(codeText(r.message.code)).toBe("4.01");
  expect(await subscription(s, d)).toMatchObject(SUBSCRIPTION);
}

/** A host event the NMS subscribed to (tamper) reaches the NMS as an EventReport. */
export async function reportsHostEvent(s: ScenarioNms, d: DeviceHandle): Promise<void> {
  const TAMPER = 3;
  const sub = await s.nms.subscribeEvents(target(d), [{ ianaen: 0, code: TAMPER }]);
  expect(codeText(sub.code!).startsWith("2."), `POST EventSubscribe answered ${codeText(sub.code!)}`).toBe(true);
  const seen = () => s.nms.device(d.eui64)!.events.some((e) => e.id.code === TAMPER);
  expect(seen()).toBe(false);
  await d.raiseEvent(TAMPER, 0);
  await waitFor(d, "the tamper EventReport at the NMS", seen, 5_000);
}

/** A configuration update with a second address: the device registers again, reason "IP address changed", with the new row. */
export async function appliesConfigUpdate(s: ScenarioNms, d: DeviceHandle): Promise<void> {
  const regs = s.registrations.length;
  await d.updateConfig("ip.2.addr=2001:db8::7\nip.2.pfxlen=64\n");
  await waitFor(d, "registration after the address change", () => registered(s, d, regs) !== undefined);
  const request = registered(s, d, regs)!.request;
  expect(valueOf(find(request, "NMSStatus")).lastRegReason, "lastRegReason 3: IP address changed").toBe(3);
  const rows = request.filter((t) => t.name === "IPAddress").map(valueOf);
  expect(rows.length).toBe(2);
}

/** After a restart it registers again with its SessionID and subscription, then reports. */
export async function survivesRestart(s: ScenarioNms, d: DeviceHandle): Promise<void> {
  const session = s.nms.device(d.eui64)!.sessionId;
  const regs = s.registrations.length;
  const boots = d.boots();
  await d.restart();
  expect(d.boots()).toBe(boots + 1);
  await waitFor(d, "registration after the restart", () => registered(s, d, regs) !== undefined);
  const request = registered(s, d, regs)!.request;
  expect(valueOf(find(request, "SessionID")).id, "SessionID kept across the restart").toBe(session);
  expect(valueOf(find(request, "ReportSubscribe")), "subscription kept across the restart").toMatchObject(SUBSCRIPTION);
  const reports = s.reports.length;
  await waitFor(d, "a report after the restart", () => reportsOf(s, d, reports).length >= 1, 10_000);
}

/** The code of a response TLV (71..74) in an answer; undefined when there is none. */
export function responseOf(tlvs: readonly Tlv[], type: number): number | undefined {
  const t = tlvs.find((x) => x.type === type);
  return t ? ((valueOf(t).response as number | undefined) ?? 0) : undefined;
}

async function images(s: ScenarioNms, d: DeviceHandle): Promise<Record<string, unknown>[]> {
  return (await getTlvs(s, d, [75])).map(valueOf);
}

/** TransferRequest, every ImageBlock of the 6.9 image, LoadRequest now: the device reboots into 6.9. */
export async function updatesFirmware(s: ScenarioNms, d: DeviceHandle): Promise<void> {
  const image = readFileSync(IMAGE_69);
  const hash = sha(image);
  const before = await images(s, d);
  expect(before.find((i) => i.isRunning)).toMatchObject({ index: 0, version: expect.stringMatching(/^6\.8/) });

  const t = await s.nms.post(target(d), [{ type: "TransferRequest", value: {
    hwInfo: { hwId: "OPENCSMP" }, fileHash: hash, fileName: "opencsmp-node", version: "6.9.99", fileSize: image.length, blockSize: BLOCK,
  } }]);
  expect(responseOf(t.tlvs, 71), "TransferResponse").toBe(0);
  const blocks = Math.ceil(image.length / BLOCK);
  for (let n = 0; n < blocks; n++) {
    // ImageBlock is exempt from signing (draft), so they go unsigned as FND sends them.
    const b = await s.nms.post(target(d), [{ type: "ImageBlock", value: { fileHash: hash, blockNum: n, blockData: image.subarray(n * BLOCK, (n + 1) * BLOCK) } }], { signed: false });
    expect(codeText(b.code!).startsWith("2."), `block ${n} answered ${codeText(b.code!)}`).toBe(true);
  }
  const upload = (await images(s, d)).find((i) => i.index === 1);
  expect(upload, "slot 1 holds the upload").toMatchObject({ version: "6.9.99", fileSize: image.length });
  expect(Buffer.from(upload!.fileHash as Uint8Array).equals(hash)).toBe(true);

  const boots = d.boots();
  const regs = s.registrations.length;
  const l = await s.nms.post(target(d), [{ type: "LoadRequest", value: { fileHash: hash } }]);
  expect(responseOf(l.tlvs, 72), "LoadResponse").toBe(0);
  await waitFor(d, "the reboot into the new image", () => d.boots() > boots);
  await waitFor(d, "registration after the reboot", () => registered(s, d, regs) !== undefined);
  const running = (await images(s, d)).find((i) => i.isRunning);
  expect(running).toMatchObject({ index: 0, version: "6.9.99", fileSize: image.length });
  expect(Buffer.from(running!.fileHash as Uint8Array).equals(hash)).toBe(true);
}

// ---- the suite ----------------------------------------------------------------------

export interface ScenarioOptions {
  /** Runs after the device stopped, before its files are removed (sanitizer checks). */
  afterStop?: (device: DeviceHandle) => void;
}

/** The whole scenario as one vitest suite for one host kind; steps run in order on one device. */
export function defineScenario(name: string, makeFactory: () => DeviceFactory | Promise<DeviceFactory>, o: ScenarioOptions = {}): void {
  describe(`scenario on the ${name}`, () => {
    let s: ScenarioNms;
    let d: DeviceHandle;
    let root = "";

    beforeAll(async () => {
      const factory = await makeFactory();
      s = await startNms();
      const eui64 = "00173BAB5C000001";
      const dir = prepareDeviceDir(readFileSync(IMAGE_68));
      root = dir.root;
      d = await factory({ eui64, root, stateDir: dir.stateDir, config: scenarioConfig(eui64, { address: s.address, port: s.port, publicKeyHex: s.nms.publicKeyHex }) });
    }, 600_000); // includes building the C host from scratch

    afterAll(async () => {
      await d?.stop();
      await s?.close();
      try {
        // CSMP_SCENARIO_LOG=1 shows what the device logged, passing or not.
        if (d && process.env.CSMP_SCENARIO_LOG) console.log(`---- ${d.hostName} log ----\n${d.log()}`);
        if (d) o.afterStop?.(d);
      } finally {
        if (root) rmSync(root, { recursive: true, force: true });
      }
    }, 30_000);

    it("registers with the simulated NMS (signed 2.03)", () => registers(s, d));
    it("gets configured by a signed POST ReportSubscribe", () => getsConfigured(s, d));
    it("reports its metrics every 2 s", () => reportsMetrics(s, d));
    it("answers GET /c?q=11 from coap-client-notls", () => answersCoapClient(s, d, root));
    it("rejects a POST with a bad signature (4.01), settings unchanged", () => rejectsBadSignature(s, d));
    it("reports a host event the NMS subscribed to", () => reportsHostEvent(s, d));
    it("applies a configuration update (a new address) and registers again", () => appliesConfigUpdate(s, d));
    it("survives a restart with its session and subscription", () => survivesRestart(s, d), 30_000);
    it("downloads firmware and reboots into 6.9", () => updatesFirmware(s, d), 60_000);
  });
}
