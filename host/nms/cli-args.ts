// Command line of host/nms-cli.ts, parsed and checked before any socket is
// opened, so a typo ends with a usage message and exit code 2.
import { parseArgs } from "node:util";
import { tlvFromJson } from "./json-value.ts";
import type { GroupRef } from "./profile.ts";
import { CSMP_DEVICE_PORT, parsePeer, tlvIdText, type Peer } from "./requests.ts";
import type { TlvInput } from "./tlv.ts";

export const NMS_CLI_USAGE = `usage: npx tsx host/nms-cli.ts <command> [options] [arguments]

Talks CSMP to a running device agent the way an NMS does, and prints the
TLVs it gets back as text.

commands:
  get [ID ...]            GET /c?q=ID+ID...; no ids: GET /c (the TLV index).
                          IDs: numbers (11), names (HardwareDesc), vendor ids (e9.1)
  walk                    GET /c, then GET /c?q=ID for every TLV it lists
  post NAME JSON [NAME JSON ...]
                          POST /c with these TLVs, signed with --key, e.g.
                          post ReportSubscribe '{"interval":60,"tlvid":["22"]}'
                          (bytes fields: "0x" + hex, base64, or IPv6 text)
  keygen FILE             write a new NMS key (PEM, mode 600) and print its
                          public key, the value of the device's nms.key
  pubkey FILE             print the public key of an NMS key file

options:
  --to ADDR               the device, [addr]:port or addr (default [::1]:${CSMP_DEVICE_PORT});
                          a multicast address needs --async (and --group for post)
  --key FILE              NMS private key (PEM) to sign POSTs with; npm start
                          keeps the simulated NMS's in .agent-state/nms-key.pem
  --unsigned              POST without SignatureValidity and Signature
  --validity S            signature valid from 60 s ago to S s from now (default 3600)
  --group TYPE:ID         put a GroupMatch first in the POST (multicast)
  --non                   send NON instead of CON (a GET still gets its NON
                          answer; a POST gets none)
  --async A               a=A: the device answers within A s by NON POST, sent
                          here (r=) rather than to its NMS
  --bind ADDR             local address to send from (default ::1 for a ::1
                          device, else ::); --async needs a specific one
  --timeout S             give up after S seconds (default 20)
  -h, --help              this text

exit status: 0 success, 1 no answer or an error answer, 2 bad command line.
`;

export type NmsCliCommand =
  | { kind: "get"; ids: string[] }
  | { kind: "walk" }
  | { kind: "post"; tlvs: TlvInput[] }
  | { kind: "keygen"; file: string }
  | { kind: "pubkey"; file: string }
  | { kind: "help" };

export interface NmsCliOptions {
  command: NmsCliCommand;
  to: Peer;
  key: string | null;
  signed: boolean;
  validityS: number;
  group: GroupRef | null;
  confirmable: boolean;
  async: number | null;
  bind: string | null;
  timeoutMs: number;
}

/** Usage errors (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function positiveNumber(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${option} must be a positive number of seconds, got ${JSON.stringify(text)}`);
  return n;
}

function groupOf(text: string): GroupRef {
  const m = /^(\d+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--group must be TYPE:ID (e.g. 1:7), got ${JSON.stringify(text)}`);
  return { type: Number(m[1]), id: Number(m[2]) };
}

function command(words: string[]): NmsCliCommand {
  const [name, ...rest] = words;
  switch (name) {
    case "get":
      for (const id of rest) {
        try {
          tlvIdText(id);
        } catch {
          throw new UsageError(`not a TLV id or name: ${JSON.stringify(id)}`);
        }
      }
      return { kind: "get", ids: rest };
    case "walk":
      if (rest.length) throw new UsageError("walk takes no arguments");
      return { kind: "walk" };
    case "post": {
      if (rest.length === 0 || rest.length % 2) throw new UsageError("post takes pairs of TLV NAME and JSON value");
      const tlvs: TlvInput[] = [];
      for (let i = 0; i < rest.length; i += 2) {
        try {
          tlvs.push(tlvFromJson(rest[i], rest[i + 1]));
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      }
      return { kind: "post", tlvs };
    }
    case "keygen":
    case "pubkey":
      if (rest.length !== 1) throw new UsageError(`${name} takes one FILE`);
      return { kind: name, file: rest[0] };
    case undefined:
      throw new UsageError("no command (get, walk, post, keygen, pubkey)");
    default:
      throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  }
}

/** Parses argv (without node and the script); throws UsageError. */
export function parseNmsCliArgs(argv: string[]): NmsCliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        to: { type: "string" },
        key: { type: "string" },
        unsigned: { type: "boolean" },
        validity: { type: "string" },
        group: { type: "string" },
        non: { type: "boolean" },
        async: { type: "string" },
        bind: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  const cmd: NmsCliCommand = v.help ? { kind: "help" } : command(parsed.positionals);
  let to: Peer;
  try {
    to = parsePeer(v.to ?? "[::1]", CSMP_DEVICE_PORT);
  } catch (e) {
    throw new UsageError(`--to: ${(e as Error).message}`);
  }
  let asyncA: number | null = null;
  if (v.async !== undefined) {
    if (!/^\d+$/.test(v.async)) throw new UsageError(`--async must be whole seconds, got ${JSON.stringify(v.async)}`);
    asyncA = Number(v.async);
  }
  if (cmd.kind === "post" && !v.unsigned && v.key === undefined) throw new UsageError("post signs with --key FILE (or say --unsigned)");
  return {
    command: cmd,
    to,
    key: v.key ?? null,
    signed: !v.unsigned,
    validityS: positiveNumber(v.validity, "--validity", 3600),
    group: v.group === undefined ? null : groupOf(v.group),
    confirmable: !v.non,
    async: asyncA,
    bind: v.bind ?? null,
    timeoutMs: positiveNumber(v.timeout, "--timeout", 20) * 1000,
  };
}
