// The simulated NMS inside `npm start` (--nms-sim): one SimulatedNms at the
// --nms address on the host's network and clock (real UDP, or LoopNetwork in
// virtual time), logging what it does. Once the device has registered it
// shows what an NMS does with a device: sets its clock if it had none, walks
// its TLV index, reads its identity and addresses, and subscribes it to a
// report of Uptime and CurrentTime every 30 s; the reports then keep coming.
import { LogLevel, makeLogger, type Logger } from "../log.ts";
import type { NmsSimContext, NmsSimHandle } from "../nms-hook.ts";
import { codeText } from "./coap.ts";
import { deviceTimeOf } from "./inventory.ts";
import { SimulatedNms, type ExchangeResult, type RegistrationEvent } from "./sim.ts";
import { deviceEventLine, registrationLines, reportLines, tlvLines } from "./sim-log.ts";
import { endpointTransport } from "./transport.ts";

/** Where the demo's configuration group puts the device (type 1 = configuration). */
const DEMO_GROUP = { type: 1, id: 1 };
const DEMO_SUBSCRIPTION = { interval: 30, tlvid: ["22", "18"] };
/** Give the device a moment to process its 2.03 before the first request. */
const DEMO_DELAY_MS = 1000;

function logLines(log: Logger, level: LogLevel, lines: readonly string[]): void {
  for (const l of lines) log(level, l);
}

function resultLines(what: string, r: ExchangeResult): string[] {
  const code = r.code === null ? "sent" : codeText(r.code);
  return [`${what}: ${code}${r.tlvs.length ? "" : r.code === null ? "" : " (no TLVs)"}`, ...tlvLines(r.tlvs)];
}

async function demo(nms: SimulatedNms, reg: RegistrationEvent, log: Logger): Promise<void> {
  const eui = reg.device!.eui64;
  const step = async (what: string, run: () => Promise<ExchangeResult>): Promise<void> => {
    log(LogLevel.Info, `demo: ${what}`);
    try {
      logLines(log, LogLevel.Info, resultLines(what, await run()));
    } catch (e) {
      log(LogLevel.Warn, `demo: ${what} failed: ${(e as Error).message}`);
    }
  };
  if (deviceTimeOf(reg.request) === undefined) {
    await step("POST CurrentTime (the device has no trusted time)", () => nms.setTime(eui));
  }
  await step("GET /c", () => nms.get(eui));
  await step("GET /c?q=11+12+16", () => nms.get(eui, [11, 12, 16]));
  await step("POST ReportSubscribe interval 30 s, Uptime and CurrentTime (signed)", () => nms.setReportSubscription(eui, DEMO_SUBSCRIPTION));
  log(LogLevel.Info, "demo done; reports follow as the device sends them");
}

export async function startSimulatedNms(ctx: NmsSimContext): Promise<NmsSimHandle> {
  const log = makeLogger(ctx.log, ctx.clock, "nms");
  const endpoint = await ctx.network.bind(ctx.address, ctx.port);
  const nms = new SimulatedNms({
    transport: endpointTransport(endpoint),
    clock: ctx.clock,
    key: ctx.nmsKeyPem,
    devicePort: ctx.agent.port,
    profile: { groups: [DEMO_GROUP] },
  });
  log(LogLevel.Info, `simulated NMS at [${ctx.address}]:${ctx.port}, signing with public key ${nms.publicKeyHex}`);
  if (ctx.nmsKeyPem === undefined) {
    log(LogLevel.Warn, "NMS key generated for this run only: the device is not provisioned with it (nms.key) and cannot check signatures");
  }

  let demoStarted = false;
  let timeWarned = false;
  nms.on("registration", (e) => {
    logLines(log, e.outcome === "registered" ? LogLevel.Info : LogLevel.Warn, registrationLines(e));
    // A device without trusted time leaves CurrentTime out; with the NMS key
    // provisioned and SignatureSettings' reqTimeSync (its default) it then
    // rejects every signed message, this 2.03 included.
    if (!timeWarned && ctx.nmsKeyPem !== undefined && e.request.length && deviceTimeOf(e.request) === undefined) {
      timeWarned = true;
      log(LogLevel.Warn, "the device has no trusted time, so it cannot check signature validity and will ignore this signed answer: give it trusted time (npm start -- --trust-system-time)");
    }
    const ours = e.eui64 === ctx.agent.eui64.toUpperCase();
    if (e.outcome !== "registered" || !ours || demoStarted) return;
    demoStarted = true;
    ctx.clock.schedule(DEMO_DELAY_MS, () => {
      demo(nms, e, log).catch((err: Error) => log(LogLevel.Warn, `demo: ${err.message}`));
    });
  });
  nms.on("report", (e) => logLines(log, LogLevel.Info, reportLines(e)));
  nms.on("event", (e) => log(LogLevel.Info, deviceEventLine(e)));
  nms.on("warning", (e) => log(LogLevel.Warn, e.message));

  return { stop: () => nms.close() };
}
