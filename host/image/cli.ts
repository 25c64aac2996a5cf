// `npm run image -- ...`: build, inspect and sign firmware image files for
// CSMP firmware update. Exit codes: 0 all good, 1 the image is bad
// (inspect found a problem the device would reject), 2 bad usage or input.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { buildImage } from "./build.ts";
import { formatReport, inspectImage } from "./inspect.ts";
import { parseMeta } from "./meta.ts";
import { generateKeypair, loadPrivateKey, loadPublicKey } from "./sign.ts";

const USAGE = `usage: npm run image -- <command> [options]

  build --in APP.bin --meta META.json --out IMAGE.bin [--key VENDOR.pem] [--pad N]
      header + APP.bin + file CRC, then a vendor signature when --key is
      given, then 0xFF pad to a multiple of N bytes when --pad is given.
      META.json: {"appName": "opencsmp-node", "version": "6.9.99", "hwid": "OPENCSMP",
      "gitBranch": "...", "gitCommit": "...", "gitFlag": 1, "buildDate": "Mar 15 2024",
      "subHwid": "...", "kernelRev": "6.9"} (major/minor/build may replace version;
      appName, version and hwid are required).

  inspect IMAGE.bin [--key PUBLIC] [--hwid HWID]
      every header field, header and file CRC, SHA-256 (FND's fileHash), and
      the vendor signature. PUBLIC: a PEM file, or 130 hex digits (fw.key).
      With --key an unsigned image is bad, as on a device with fw.key;
      with --hwid the header's hwid must equal the device's fw.hwid.

  keygen VENDOR.pem
      a new P-256 vendor key: VENDOR.pem (private), VENDOR.pub.pem, and the
      device's fw.key line on stdout.

exit code: 0 ok, 1 the image is bad, 2 bad usage or input`;

/** Bad usage or input, as opposed to a bad image. */
class UsageError extends Error {}

function args(argv: string[], options: Record<string, { type: "string" }>) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

function positiveInt(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`${name} needs a positive integer, got "${text}"`);
  return Number(text);
}

function build(argv: string[]): number {
  const { values: o, positionals } = args(argv, { in: { type: "string" }, meta: { type: "string" }, out: { type: "string" }, key: { type: "string" }, pad: { type: "string" } });
  if (positionals.length) throw new UsageError(`build takes no positional arguments: ${positionals.join(" ")}`);
  if (!o.in || !o.meta || !o.out) throw new UsageError("build needs --in, --meta and --out");
  const body = readInput(o.in, "the vendor image");
  const meta = parseMeta(readInput(o.meta, "the meta file").toString("utf8"), o.meta);
  const key = o.key ? loadPrivateKey(o.key) : undefined;
  const pad = positiveInt(o.pad, "--pad");
  let image: Buffer;
  try {
    image = buildImage(body, meta, { key, pad });
  } catch (e) {
    throw new UsageError(`${o.meta}: ${(e as Error).message}`);
  }
  // Check what we made the way the device will, before anyone ships it.
  const report = inspectImage(image, { key });
  if (!report.ok) throw new Error(`internal error, the built image does not check: ${report.errors.join("; ")}`);
  writeFileSync(o.out, image);
  const h = report.header!;
  console.log(`${o.out}: ${image.length} bytes, app_len ${h.appLen}, ${h.appName} ${h.appRevMajor}.${h.appRevMinor}.${h.appBuild}, hwid "${h.hwid}", ${key ? "signed" : "unsigned"}`);
  console.log(`SHA-256 ${report.sha256} (FND fileHash)`);
  return 0;
}

function inspect(argv: string[]): number {
  const { values: o, positionals } = args(argv, { key: { type: "string" }, hwid: { type: "string" } });
  if (positionals.length !== 1) throw new UsageError("inspect needs exactly one image file");
  const file = readInput(positionals[0], "the image");
  const report = inspectImage(file, { key: o.key ? loadPublicKey(o.key) : undefined, hwid: o.hwid });
  console.log(formatReport(positionals[0], report));
  return report.ok ? 0 : 1;
}

function keygen(argv: string[]): number {
  const { positionals } = args(argv, {});
  if (positionals.length !== 1) throw new UsageError("keygen needs the private key's file name, e.g. vendor.pem");
  const { publicPath, publicHex } = generateKeypair(positionals[0]);
  console.error(`private key ${positionals[0]} (keep it secret), public key ${publicPath}`);
  console.log(`fw.key=${publicHex}`);
  return 0;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help" || rest.includes("--help")) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const commands: Record<string, (a: string[]) => number> = { build, inspect, keygen };
  try {
    if (!commands[command]) throw new UsageError(`unknown command "${command}"`);
    return commands[command](rest);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    if (e instanceof UsageError) process.stderr.write("(npm run image -- --help for usage)\n");
    return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
