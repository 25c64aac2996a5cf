// `npm start`: the agent as a device on this machine. Real UDP socket and
// real time by default; --virtual runs the same agent in virtual time over
// the in-process network (with --nms-sim, a whole registration/reporting
// life in seconds). Every agent log line and every datagram in and out is
// printed as one readable line; --pcap keeps the traffic for Wireshark.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { AgentHost, type AgentHostEvent } from "./agent.ts";
import { type CliOptions, USAGE, parseCliOptions } from "./cli-options.ts";
import { type Clock, RealClock, VirtualClock } from "./clock.ts";
import { describeCoap } from "./coap-text.ts";
import { loopPinger, systemPinger } from "./ping.ts";
import { buildDeviceConfig, checkEui64, nodeDeviceOptions } from "./device-config.ts";
import { FileStorage } from "./file-storage.ts";
import { formatEndpoint, requireAddress } from "./ipv6.ts";
import { LogLevel, consoleSink, makeLogger, monoTimestamp, wallTimestamp } from "./log.ts";
import { LoopNetwork } from "./loop-network.ts";
import type { Datagram, Endpoint, Network } from "./network.ts";
import { type NmsSimHandle, type SimulatedNmsKey, loadSimulatedNms, simulatedNmsKey } from "./nms-hook.ts";
import { PcapWriter } from "./pcap.ts";
import { seededRandom, systemRandom } from "./random.ts";
import { UdpNetwork } from "./udp-network.ts";

/** The device's identity stays the same across runs over one state directory. */
function persistentEui64(stateDir: string): string {
  const file = join(stateDir, "host.json");
  try {
    const saved = JSON.parse(readFileSync(file, "utf8")) as { eui64?: string };
    if (saved.eui64) return checkEui64(saved.eui64);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${file}: ${(e as Error).message}`);
  }
  const eui = randomBytes(8);
  eui[0] = (eui[0] | 0x02) & 0xfe; // locally administered, unicast
  const text = eui.toString("hex").toUpperCase();
  writeFileSync(file, JSON.stringify({ eui64: text }) + "\n");
  return text;
}

// Virtual time: jump to the next due timer, but never more than this per turn
// of the event loop, so SIGINT stays responsive and the log flows.
const VIRTUAL_STEP_MS = 60_000;

async function run(o: CliOptions): Promise<number> {
  const stderr = (text: string) => process.stderr.write(`error: ${text}\n`);

  let wasm: Uint8Array;
  try {
    wasm = readFileSync(o.wasm);
  } catch (e) {
    stderr(`cannot read the agent module ${o.wasm}: ${(e as NodeJS.ErrnoException).code ?? e} (build it with: node scripts/build.mjs)`);
    return 1;
  }

  let storage: FileStorage;
  let eui64: string;
  try {
    mkdirSync(o.stateDir, { recursive: true });
    storage = new FileStorage(o.stateDir);
    eui64 = o.eui64 ?? persistentEui64(o.stateDir);
  } catch (e) {
    stderr(`state directory ${o.stateDir}: ${(e as Error).message}`);
    return 1;
  }

  // The embedded NMS signs with this machine's clock, so the device may trust
  // it too: without trusted time it must reject every signed answer.
  const trusted = o.trustSystemTime || o.nmsSim;
  const clock: Clock = o.virtual
    ? new VirtualClock({ wallStartMs: Date.now(), wallSynchronised: trusted })
    : new RealClock({ trustSystemTime: trusted });
  const sink = consoleSink(o.logLevel, o.virtual ? monoTimestamp : wallTimestamp);
  const hostLog = makeLogger(sink, clock, "host");
  const network: Network = o.virtual
    ? new LoopNetwork({ clock, log: makeLogger(sink, clock, "net") })
    : new UdpNetwork({ log: makeLogger(sink, clock, "net") });

  // The simulated NMS signs with a key kept in the state directory; the device
  // must be provisioned with its public half (nms.key) to check signatures.
  let nmsKey: SimulatedNmsKey | null = null;
  if (o.nmsSim) {
    try {
      nmsKey = await simulatedNmsKey(o.stateDir);
    } catch (e) {
      stderr(`--nms-sim: NMS key: ${(e as Error).message}`);
      return 1;
    }
  }

  let config: string;
  try {
    if (o.config !== null) {
      config = readFileSync(o.config, "utf8");
      // A configuration file that names its own NMS key keeps it.
      if (nmsKey && !/^nms\.key=/m.test(config)) config += `${config.endsWith("\n") ? "" : "\n"}nms.key=${nmsKey.publicKeyHex}\n`;
    } else {
      const device = nodeDeviceOptions({ eui64, boundAddress: o.bind, nmsUrl: o.nmsUrl, nmsKey: nmsKey?.publicKeyHex });
      // The demo registers within seconds instead of the draft's 300 s lead-in:
      // a faster factory schedule (reg.min/reg.max), set only with --nms-sim.
      if (o.nmsSim) device.extra = { ...device.extra, "reg.min": 10, "reg.max": 120 };
      config = buildDeviceConfig(device);
    }
  } catch (e) {
    stderr(`device configuration: ${(e as Error).message}`);
    return 1;
  }

  let endpoint: Endpoint;
  try {
    endpoint = await network.bind(o.bind, o.port);
  } catch (e) {
    stderr(`cannot bind [${o.bind}]:${o.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return 1;
  }

  const pcap = o.pcap ? PcapWriter.toFile(o.pcap) : null;
  const rx = makeLogger(sink, clock, "rx");
  const tx = makeLogger(sink, clock, "tx");
  const onDatagram = (direction: "in" | "out", d: Datagram): void => {
    const line = `${formatEndpoint(d.src, d.srcPort)} > ${formatEndpoint(d.dst, d.dstPort)} ${describeCoap(d.payload)}`;
    (direction === "in" ? rx : tx)(LogLevel.Info, line);
    pcap?.write(d, clock.wallTimeMs());
  };

  // Resolves with the exit code when the device cannot go on by itself.
  let died: (code: number) => void = () => {};
  const death = new Promise<number>((resolve) => { died = resolve; });
  const onEvent = (e: AgentHostEvent): void => {
    if (e.kind === "restart-failed") died(1);
  };

  const host = new AgentHost({
    wasm, config, clock, storage, endpoint, log: sink,
    random: o.seed === null ? systemRandom : seededRandom(o.seed),
    onDatagram, onEvent,
    // PingRequest: over real sockets the system's ping, in virtual time the network's links.
    ping: network instanceof LoopNetwork ? loopPinger(network) : systemPinger,
  });

  let nms: NmsSimHandle | null = null;
  const cleanup = async (): Promise<void> => {
    host.stop();
    await nms?.stop();
    await endpoint.close();
    pcap?.close();
    if (clock instanceof RealClock) clock.cancelAll();
  };

  if (o.nmsSim) {
    try {
      const start = await loadSimulatedNms();
      if (!start) {
        stderr("--nms-sim: the simulated NMS is not available yet (host/nms/index.ts is missing)");
        await cleanup();
        return 1;
      }
      nms = await start({
        network, clock, address: o.nms.address, port: o.nms.port,
        agent: { address: requireAddress(o.bind), port: endpoint.port, eui64 }, log: sink,
        nmsKeyPem: nmsKey?.pem,
      });
    } catch (e) {
      stderr(`--nms-sim: ${(e as Error).message}`);
      await cleanup();
      return 1;
    }
  }

  try {
    host.start();
  } catch (e) {
    stderr((e as Error).message);
    await cleanup();
    return 1;
  }
  hostLog(LogLevel.Info, `agent up at ${formatEndpoint(endpoint.address, endpoint.port)}, EUI-64 ${eui64}, NMS ${o.nmsUrl}, state in ${storage.dir}` +
    (o.pcap ? `, capturing to ${o.pcap}` : "") + (o.virtual ? `, virtual time for ${o.durationMs} ms` : ""));

  let stopSignal: (code: number) => void = () => {};
  const signalled = new Promise<number>((resolve) => { stopSignal = resolve; });
  const onSignal = (name: string) => () => {
    hostLog(LogLevel.Info, `${name}: shutting down`);
    stopSignal(0);
  };
  const onInt = onSignal("SIGINT"), onTerm = onSignal("SIGTERM");
  process.once("SIGINT", onInt);
  process.once("SIGTERM", onTerm);

  let code: number;
  if (clock instanceof VirtualClock) {
    let stopped: number | null = null;
    void signalled.then((c) => { stopped = c; });
    void death.then((c) => { stopped = c; });
    const end = clock.nowMs() + o.durationMs;
    while (stopped === null && clock.nowMs() < end) {
      const next = clock.nextDueMs() ?? end;
      clock.advanceTo(Math.min(end, next, clock.nowMs() + VIRTUAL_STEP_MS));
      await nextTurn();
    }
    code = stopped ?? 0;
    if (stopped === null) hostLog(LogLevel.Info, "virtual run complete");
  } else {
    code = await Promise.race([signalled, death]);
  }
  process.off("SIGINT", onInt);
  process.off("SIGTERM", onTerm);
  await cleanup();
  return code;
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseCliOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  const code = await run(options);
  process.exit(code);
}

void main();
