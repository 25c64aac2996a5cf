// `npx tsx host/nms-cli.ts ...`: an NMS at a person's fingertips. It sends
// one CSMP request (or a walk of the TLV index) to a running device agent
// from a UDP socket of its own, prints the TLVs of the answer as text, and
// exits 0 on success, 1 when the device does not answer or answers with an
// error, 2 on a bad command line. See NMS_CLI_USAGE for the commands.
import { CoapCode, codeText } from "./nms/coap.ts";
import { CoapResetError, CoapTimeoutError } from "./nms/client.ts";
import { NMS_CLI_USAGE, parseNmsCliArgs, UsageError, type NmsCliOptions } from "./nms/cli-args.ts";
import { readNmsKey, writeNewNmsKey } from "./nms/key-file.ts";
import { isMulticastAddress } from "./nms/requests.ts";
import { SimulatedNms, type ExchangeResult, type GetOptions } from "./nms/sim.ts";
import { tlvLines } from "./nms/sim-log.ts";
import { tlvName } from "./nms/tlv.ts";
import { UdpTransport } from "./nms/transport.ts";

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** "4.04 Not Found": the code with its RFC 7252 name where we know it. */
function codeName(code: number): string {
  const name = Object.entries(CoapCode).find(([, v]) => v === code)?.[0];
  return name ? `${codeText(code)} ${name.replace(/([a-z])([A-Z])/g, "$1 $2")}` : codeText(code);
}

/** Prints every answer; true when all of them are successes (and, when answers were awaited, some came). */
function printResult(r: ExchangeResult, awaited: boolean): boolean {
  if (r.answers.length === 0) {
    if (awaited) {
      out("no device answered");
      return false;
    }
    out(r.code === null ? "sent (no answer expected)" : codeName(r.code));
    return r.code === null || r.code >> 5 === 2;
  }
  let ok = true;
  for (const a of r.answers) {
    const how = a.code === null ? "asynchronous answer" : codeName(a.code);
    out(`${how} from [${a.from.address}]:${a.from.port}${a.eui64 ? ` (${a.eui64})` : ""}`);
    for (const l of tlvLines(a.tlvs)) out(l);
    if (a.tlvs.length === 0) out("  (no TLVs)");
    if (a.code !== null && a.code >> 5 !== 2) ok = false;
  }
  return ok;
}

function explain(e: unknown, o: NmsCliOptions): string {
  const to = `[${o.to.address}]:${o.to.port}`;
  if (e instanceof CoapTimeoutError) return `no answer from ${to} within ${o.timeoutMs / 1000} s (${e.message}); is the agent running there?`;
  if (e instanceof CoapResetError) return `${to} rejected the request with a CoAP reset`;
  return (e as Error).message;
}

function bindAddress(o: NmsCliOptions): string {
  if (o.bind) return o.bind;
  if (o.async !== null) {
    if (o.to.address === "::1") return "::1";
    throw new UsageError("--async needs --bind ADDR: the device sends its answer to that address");
  }
  return o.to.address === "::1" ? "::1" : "::";
}

async function exchange(o: NmsCliOptions): Promise<number> {
  const multicast = isMulticastAddress(o.to.address);
  if (multicast && o.async === null) throw new UsageError("a multicast request is answered only asynchronously: give --async A");
  if (multicast && o.command.kind === "post" && !o.group) throw new UsageError("a multicast POST needs --group TYPE:ID");
  const key = o.key ? readNmsKey(o.key).keys : undefined;
  const transport = await UdpTransport.open({ address: bindAddress(o), port: 0 });
  const nms = new SimulatedNms({ transport, key, signing: o.signed, validityAfterS: o.validityS, asyncMarginMs: 0 });
  const local = transport.local;
  const base: GetOptions = o.async === null
    // Without --async, asynchronous answers (a NON POST's DescriptionRequest) go to the device's NMS, not here.
    ? { timeoutMs: o.timeoutMs, confirmable: o.confirmable, awaitAsync: false }
    : { a: o.async, r: `coap://[${local.address}]:${local.port}`, awaitAsync: true, timeoutMs: Math.max(o.timeoutMs, o.async * 1000 + 2000) };
  try {
    switch (o.command.kind) {
      case "get":
        return printResult(await nms.get(o.to, o.command.ids, base), o.async !== null) ? 0 : 1;
      case "post": {
        const awaited = o.async !== null && o.command.tlvs.some((t) => t.type === 8);
        return printResult(await nms.post(o.to, o.command.tlvs, { ...base, groupMatch: o.group ?? undefined }), awaited) ? 0 : 1;
      }
      case "walk":
        return await walk(nms, o, base);
      default:
        throw new Error(`not an exchange: ${o.command.kind}`);
    }
  } finally {
    await nms.close();
  }
}

/** GET /c, then each TLV it lists, one at a time (an answer holds what fits one datagram). */
async function walk(nms: SimulatedNms, o: NmsCliOptions, base: GetOptions): Promise<number> {
  const awaited = o.async !== null;
  const index = await nms.get(o.to, [], base);
  const listed = index.tlvs.find((t) => t.name === "TlvIndex");
  if (!listed || listed.value instanceof Uint8Array) {
    printResult(index, awaited);
    throw new Error("the answer to GET /c carries no TlvIndex");
  }
  const ids = (listed.value.tlvid as string[]).filter((id) => id !== "1");
  out(`TLV index: ${ids.join(", ")}`);
  let status = 0;
  for (const id of ids) {
    const name = /^\d+$/.test(id) ? tlvName(Number(id)) : id;
    out(`-- ${id} ${name}`);
    try {
      if (!printResult(await nms.get(o.to, [id], base), awaited)) status = 1;
    } catch (e) {
      out(`  failed: ${explain(e, o)}`);
      status = 1;
    }
  }
  return status;
}

async function main(argv: string[]): Promise<number> {
  let o: NmsCliOptions;
  try {
    o = parseNmsCliArgs(argv);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${NMS_CLI_USAGE}`);
    return 2;
  }
  try {
    switch (o.command.kind) {
      case "help":
        process.stdout.write(NMS_CLI_USAGE);
        return 0;
      case "keygen": {
        const k = writeNewNmsKey(o.command.file);
        out(`wrote ${o.command.file}`);
        out(`public key (device configuration nms.key=):`);
        out(k.publicKeyHex);
        return 0;
      }
      case "pubkey":
        out(readNmsKey(o.command.file).publicKeyHex);
        return 0;
      default:
        return await exchange(o);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n\n${NMS_CLI_USAGE}`);
      return 2;
    }
    process.stderr.write(`error: ${explain(e, o)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
