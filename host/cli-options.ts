// Command-line options of the Node device host (host/cli.ts), parsed and
// validated up front so a typo ends the program before anything is bound.
import { parseArgs } from "node:util";
import { checkEui64, DEFAULT_NMS_URL, parseCoapUrl } from "./device-config.ts";
import { parseAddress } from "./ipv6.ts";
import { type LogLevel, parseLogLevel } from "./log.ts";
import { DEFAULT_COAP_PORT } from "./udp-network.ts";

export interface CliOptions {
  port: number;
  bind: string;
  eui64: string | null;
  stateDir: string;
  nmsUrl: string;
  nms: { address: string; port: number };
  pcap: string | null;
  virtual: boolean;
  /** Protocol time to simulate with --virtual, ms. */
  durationMs: number;
  nmsSim: boolean;
  wasm: string;
  config: string | null;
  logLevel: LogLevel;
  trustSystemTime: boolean;
  /** Seed for a deterministic random source (--virtual replays), or null for the OS CSPRNG. */
  seed: number | null;
  help: boolean;
}

export const USAGE = `usage: npx tsx host/cli.ts [options]

Runs the OpenCSMP agent (build/agent.wasm) as a device on a UDP socket.

  --port N              CoAP port of the agent (default ${DEFAULT_COAP_PORT})
  --bind ADDR           address to bind (default ::1; :: for all, dual-stack)
  --eui64 HEX           device EUI-64, 16 hex digits (default: generated once,
                        kept in the state directory)
  --state-dir DIR       durable records and firmware slots (default .agent-state)
  --nms URL             NMS base URL (default ${DEFAULT_NMS_URL})
  --pcap FILE           write every datagram in and out to a pcap file
                        (tshark -r FILE -d udp.port==${DEFAULT_COAP_PORT},coap)
  --virtual             run in virtual time over an in-process network instead
                        of a socket, for --duration of protocol time, then exit
  --duration T          protocol time for --virtual: 90s, 30m, 6h, 2d (default 1h)
  --nms-sim             start the embedded simulated NMS at the --nms address
  --wasm FILE           agent module (default build/agent.wasm)
  --config FILE         device configuration text to use instead of the default
  --log-level L         error, warn, info (default) or debug
  --trust-system-time   treat the system clock as synchronised from the start
  --seed N              deterministic random bytes (with --virtual: exact replays)
  -h, --help            this text
`;

/** "90s", "30m", "6h", "2d", "1500ms" or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`bad duration ${JSON.stringify(text)} (use e.g. 90s, 30m, 6h, 2d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "ms"]!;
  return Math.round(Number(m[1]) * unit);
}

/** Parses argv (without node and script); throws an Error with a one-line reason. */
export function parseCliOptions(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: "string" },
      bind: { type: "string" },
      eui64: { type: "string" },
      "state-dir": { type: "string" },
      nms: { type: "string" },
      pcap: { type: "string" },
      virtual: { type: "boolean" },
      duration: { type: "string" },
      "nms-sim": { type: "boolean" },
      wasm: { type: "string" },
      config: { type: "string" },
      "log-level": { type: "string" },
      "trust-system-time": { type: "boolean" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const port = Number(values.port ?? DEFAULT_COAP_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be 1..65535, got ${values.port}`);
  const bind = (values.bind ?? "::1").replace(/^\[|\]$/g, "");
  if (!parseAddress(bind)) throw new Error(`--bind: not an address: ${bind}`);
  const nmsUrl = values.nms ?? DEFAULT_NMS_URL;
  const nms = parseCoapUrl(nmsUrl);
  const logLevel = parseLogLevel(values["log-level"] ?? "info");
  if (logLevel === null) throw new Error(`--log-level must be error, warn, info or debug, got ${values["log-level"]}`);
  if (values.duration !== undefined && !values.virtual) throw new Error("--duration only applies with --virtual");
  if (values.virtual && parseAddress(bind)!.every((b) => b === 0)) throw new Error("--virtual needs a specific --bind address, not ::");
  const seed = values.seed === undefined ? null : Number(values.seed);
  if (seed !== null && !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new Error(`--seed must be an integer 0..4294967295, got ${values.seed}`);
  return {
    port,
    bind,
    eui64: values.eui64 === undefined ? null : checkEui64(values.eui64),
    stateDir: values["state-dir"] ?? ".agent-state",
    nmsUrl,
    nms,
    pcap: values.pcap ?? null,
    virtual: values.virtual ?? false,
    durationMs: parseDuration(values.duration ?? "1h"),
    nmsSim: values["nms-sim"] ?? false,
    wasm: values.wasm ?? new URL("../build/agent.wasm", import.meta.url).pathname,
    config: values.config ?? null,
    logLevel,
    trustSystemTime: values["trust-system-time"] ?? false,
    seed,
    help: values.help ?? false,
  };
}
