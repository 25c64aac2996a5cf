// The FreeRTOS PAL on the real FreeRTOS kernel (V11.2.0, POSIX port) as a
// Linux process: the agent runs under WAMR inside a FreeRTOS task, fed by the
// PAL's queue, with FreeRTOS software timers and the simulator's vendor hooks
// (UDP on [::1], files). Proves the datagram path (GET /c?q=2 answered with
// the DeviceID) and the timer + storage path (registration's CON POST /r
// reaches an NMS socket, on a schedule seeded through a durable record).
import { describe, it, expect, beforeAll, afterEach } from "vitest";
import * as dgram from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { buildCHost, FREERTOS_SIM as simBin, ROOT as root, startHost, stopProcess, type HostProcess } from "./support/c-host.ts";

const agentWasm = join(root, "build", "agent.wasm");
const EUI64 = "00173bab01020304";

const proto = new protobuf.Root().loadSync(join(root, "proto", "csmp.proto"), { keepCase: true });
proto.resolveAll();
const DeviceID = proto.lookupType("csmp.tlvs.DeviceID");
const NMSSettings = proto.lookupType("csmp.tlvs.NMSSettings");

const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(() => {
  if (!existsSync(agentWasm)) throw new Error(`${agentWasm} is missing: run npm run build first`);
  buildCHost("the FreeRTOS simulator", "build-freertos.mjs");
}, 600_000);

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A UDP socket on [::1] that collects what it receives. */
async function listen(): Promise<{ port: number; next(ms: number): Promise<Buffer> }> {
  const sock = dgram.createSocket("udp6");
  const inbox: Buffer[] = [];
  let waiter: ((m: Buffer) => void) | null = null;
  sock.on("message", (m) => { if (waiter) { const w = waiter; waiter = null; w(m); } else inbox.push(m); });
  await new Promise<void>((res) => sock.bind(0, "::1", () => res()));
  cleanups.push(() => { sock.close(); });
  return {
    port: sock.address().port,
    next: (ms) => inbox.length ? Promise.resolve(inbox.shift()!) : new Promise((res, rej) => {
      const t = setTimeout(() => { waiter = null; rej(new Error(`nothing received within ${ms} ms`)); }, ms);
      waiter = (m) => { clearTimeout(t); res(m); };
    }),
  };
}

/** Starts the simulator; resolves once the agent has started. */
async function startSim(args: string[]): Promise<HostProcess> {
  const sim = await startHost(simBin, args, { started: /pal: agent started/, what: "the simulator", timeoutMs: 15_000 });
  cleanups.push(() => stopProcess(sim.proc, sim.exited).then(() => undefined));
  return sim;
}

/** Uri-Path segments of a CoAP message (options before the payload). */
function uriPath(msg: Buffer): string[] {
  const path: string[] = [];
  let i = 4 + (msg[0] & 0x0f), number = 0;
  while (i < msg.length && msg[i] !== 0xff) {
    let delta = msg[i] >> 4, len = msg[i] & 0x0f;
    i++;
    if (delta === 13) delta = 13 + msg[i++]; else if (delta === 14) { delta = 269 + msg.readUInt16BE(i); i += 2; }
    if (len === 13) len = 13 + msg[i++]; else if (len === 14) { len = 269 + msg.readUInt16BE(i); i += 2; }
    number += delta;
    if (number === 11) path.push(msg.subarray(i, i + len).toString("utf8"));
    i += len;
  }
  return path;
}

describe("FreeRTOS PAL on the FreeRTOS POSIX port", () => {
  it("answers GET /c?q=2 and registers with the NMS on its timers", async () => {
    const nms = await listen();
    const state = mkdtempSync(join(tmpdir(), "csmp-freertos-"));
    cleanups.push(() => rmSync(state, { recursive: true, force: true }));
    // Registration waits random [0, tIntervalMin] then [tIntervalMin/2,
    // tIntervalMin]: 300 s by default. The durable NMSSettings record (the
    // agent's own storage format, protobuf) brings that down to 1..2 s.
    mkdirSync(join(state, "records"));
    writeFileSync(join(state, "records", "nmssettings.rec"),
      NMSSettings.encode(NMSSettings.fromObject({ regIntervalMin: 1, regIntervalMax: 2 })).finish());
    const config = join(state, "device.conf");
    writeFileSync(config, `eui64=${EUI64}\nnms.url=coap://[::1]:${nms.port}\n`);

    const sim = await startSim(["--module", agentWasm, "--config", config, "--bind", "::1", "--port", "0",
      "--state", state]);
    expect(sim.log()).toMatch(/FreeRTOS V11\.2\.0 \(POSIX port\)/);
    expect(sim.log()).toMatch(/WAMR 2\.\d+\.\d+ fast interpreter/);
    // The agent's own line, through pal.log and the vendor console hook.
    expect(sim.log()).toMatch(/agent: agent started, device 00173BAB01020304/);

    const sock = dgram.createSocket("udp6");
    cleanups.push(() => { sock.close(); });
    const mid = [0x5a, 0x17], token = [0xc3, 0x9e];
    const request = Uint8Array.from([
      0x42, 0x01, ...mid, ...token, // CON GET, token length 2
      0xb1, 0x63,                   // Uri-Path (11) "c"
      0x43, 0x71, 0x3d, 0x32,       // Uri-Query (15) "q=2"
    ]);
    sock.bind(0, "::1");
    await new Promise<void>((res) => sock.once("listening", () => res()));
    const answerP = new Promise<Buffer>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no answer within 5 s:\n${sim.log()}`)), 5_000);
      sock.once("message", (m) => { clearTimeout(t); res(m); });
    });
    sock.send(request, sim.port, "::1");
    const answer = await answerP;
    expect((answer[0] >> 4) & 3, "type ACK").toBe(2);
    expect(answer[1], "code 2.05").toBe(0x45);
    expect([...answer.subarray(2, 4)], "message id").toEqual(mid);
    expect([...answer.subarray(4, 6)], "token").toEqual(token);
    const payload = answer.subarray(answer.indexOf(0xff, 6) + 1);
    expect(payload[0], "TLV type 2 (DeviceID)").toBe(0x02);
    const device = DeviceID.toObject(DeviceID.decode(payload.subarray(2, 2 + payload[1])));
    expect(device).toEqual({ type: 1, id: EUI64.toUpperCase() });

    // Registration: fired by FreeRTOS software timers through the inbox.
    const reg = await nms.next(10_000).catch((e) => { throw new Error(`${e.message}\n${sim.log()}`); });
    expect((reg[0] >> 4) & 3, "type CON").toBe(0);
    expect(reg[1], "code POST").toBe(0x02);
    expect(uriPath(reg)).toEqual(["r"]);
    expect(sim.log()).toMatch(/agent: registration sent/);
  }, 30_000);

  it("takes host events and configuration lines from --event-file on SIGUSR2, within the PAL's bounds", async () => {
    const state = mkdtempSync(join(tmpdir(), "csmp-freertos-"));
    cleanups.push(() => rmSync(state, { recursive: true, force: true }));
    const config = join(state, "device.conf"), events = join(state, "events");
    writeFileSync(config, `eui64=${EUI64}\n`);
    const sim = await startSim(["--module", agentWasm, "--config", config, "--bind", "::1", "--port", "0",
      "--state", join(state, "st"), "--event-file", events]);
    const waitLog = async (re: RegExp) => {
      for (let i = 0; i < 250 && !re.test(sim.log()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(sim.log()).toMatch(re);
    };

    // The POSIX host's format (pal/common/event_file.c): comments, blanks,
    // events with and without a related TLV, configuration, a bad line; the
    // last line has no newline. A configuration text over
    // CSMP_FREERTOS_CONFIG_UPDATE_MAX (256) is refused by
    // csmp_freertos_config_update(), logged, and the lines after it go on.
    writeFileSync(events, ["# a comment", "", "3", "6 35", "999", "tamper!", `hw.descr=${"x".repeat(300)}`,
      "hw.name=renamed"].join("\n"));
    sim.proc.kill("SIGUSR2");
    await waitLog(/pal: configuration update hw\.name=renamed applied/);
    const log = sim.log();
    expect(log).toMatch(/pal: host event 3 raised/);
    expect(log).toMatch(/pal: host event 6 raised/);
    expect(log).toMatch(/WARN pal: host event 999: unknown to the agent/);
    expect(log).toMatch(/WARN events: .*events line 6: want "CODE \[RELATED_TLV\]" in decimal; skipped/);
    expect(log).toMatch(/WARN pal: configuration update of 310 bytes dropped: longer than CSMP_FREERTOS_CONFIG_UPDATE_MAX \(256\)/);
    // In file order, each delivered before the next line is read.
    expect(log.indexOf("host event 3 raised")).toBeLessThan(log.indexOf("host event 6 raised"));
    expect(existsSync(events) || existsSync(`${events}.taking`), "the file was taken and removed").toBe(false);

    // Nothing to take: said, and the agent runs on.
    sim.proc.kill("SIGUSR2");
    await waitLog(/events: SIGUSR2 but no events in /);
    expect(sim.log().match(/pal: agent started/g)?.length).toBe(1);
  }, 30_000);
});
