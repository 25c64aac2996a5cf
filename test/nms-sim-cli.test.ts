// host/nms-cli.ts: its command line (parsed before any socket opens), TLVs
// from JSON, and the program itself for what needs no device: help, usage
// errors, keys, and a clear failure when nobody answers.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseNmsCliArgs, UsageError } from "../host/nms/cli-args.ts";
import { tlvFromJson } from "../host/nms/json-value.ts";
import { decodeTlvs, encodeTlvs } from "../host/nms/tlv.ts";

const run = promisify(execFile);
const CLI = new URL("../host/nms-cli.ts", import.meta.url).pathname;
const TSX = new URL("../node_modules/.bin/tsx", import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(TSX, [CLI, ...args], { timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe("command line", () => {
  it("get with ids, --to and defaults", () => {
    const o = parseNmsCliArgs(["get", "11", "InterfaceDesc", "e9.1", "--to", "[2001:db8::7]:5683", "--timeout", "2"]);
    expect(o.command).toEqual({ kind: "get", ids: ["11", "InterfaceDesc", "e9.1"] });
    expect(o.to).toEqual({ address: "2001:db8::7", port: 5683 });
    expect(o).toMatchObject({ timeoutMs: 2000, confirmable: true, async: null, group: null, signed: true });
    expect(parseNmsCliArgs(["walk"]).to).toEqual({ address: "::1", port: 61628 });
  });

  it("post needs a key unless unsigned, and pairs of NAME JSON", () => {
    expect(() => parseNmsCliArgs(["post", "ReportSubscribe", '{"interval":60}'])).toThrow(/--key/);
    const o = parseNmsCliArgs(["post", "--unsigned", "--non", "--group", "1:7", "ReportSubscribe", '{"interval":60,"tlvid":["22"]}', "32", '{"flag":0}']);
    expect(o).toMatchObject({ signed: false, confirmable: false, group: { type: 1, id: 7 } });
    expect(o.command.kind === "post" && o.command.tlvs.map((t) => t.type)).toEqual([13, 32]);
    expect(() => parseNmsCliArgs(["post", "--unsigned", "ReportSubscribe"])).toThrow(UsageError);
    expect(() => parseNmsCliArgs(["post", "--unsigned", "Nonsense", "{}"])).toThrow(UsageError);
  });

  it("rejects what it cannot use", () => {
    for (const argv of [[], ["frob"], ["get", "x1"], ["get", "--to", "nowhere"], ["get", "--async", "1.5"], ["get", "--timeout", "0"], ["keygen"], ["get", "--bogus"]]) {
      expect(() => parseNmsCliArgs(argv), argv.join(" ")).toThrow(UsageError);
    }
    expect(parseNmsCliArgs(["--help"]).command).toEqual({ kind: "help" });
  });
});

describe("TLVs from JSON", () => {
  it("builds the message, bytes as 0x-hex or address text", () => {
    const t = tlvFromJson("SignatureSettings", '{"reqSignedPost":false,"cert":"0x0a0b"}');
    expect(decodeTlvs(encodeTlvs([t]))[0].value).toEqual({ reqSignedPost: false, cert: Uint8Array.of(10, 11) });
    const n = tlvFromJson("43", '{"NMSAddr":"2001:db8::1"}');
    expect((decodeTlvs(encodeTlvs([n]))[0].value as { NMSAddr: Uint8Array }).NMSAddr).toHaveLength(16);
    const e = tlvFromJson("EventSubscribe", '{"id":[{"code":1},{"ianaen":9,"code":2}]}');
    expect(decodeTlvs(encodeTlvs([e]))[0].value).toEqual({ id: [{ code: 1 }, { ianaen: 9, code: 2 }] });
  });

  it("says what is wrong", () => {
    expect(() => tlvFromJson("NMSSettings", '{"foo":1}')).toThrow(/no field "foo" in NMSSettings \(fields: regIntervalMin, regIntervalMax\)/);
    expect(() => tlvFromJson("NMSSettings", "{")).toThrow(/bad JSON/);
    expect(() => tlvFromJson("ReportSubscribe", '{"tlvid":"22"}')).toThrow(/array/);
    expect(() => tlvFromJson("127", "{}")).toThrow(/no message type/);
  });
});

describe("the program", () => {
  it("prints help, exits 2 on a usage error", async () => {
    const help = await cli("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: npx tsx host/nms-cli.ts");
    const bad = await cli("frob");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: unknown command "frob"');
  });

  it("keygen writes a key once; pubkey prints it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nms-cli-"));
    try {
      const file = join(dir, "nms-key.pem");
      const made = await cli("keygen", file);
      expect(made.code).toBe(0);
      const hex = made.stdout.trim().split("\n").pop()!;
      expect(hex).toMatch(/^04[0-9a-f]{128}$/);
      expect((await cli("pubkey", file)).stdout.trim()).toBe(hex);
      const again = await cli("keygen", file);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("exists; not overwriting");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 1 with a clear message when no device answers", async () => {
    // A port nothing listens on: the request is retransmitted until the deadline.
    const r = await cli("get", "11", "--to", "[::1]:9", "--timeout", "1");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: no answer from \[::1\]:9 within 1 s .*is the agent running there\?/);
  });
});
