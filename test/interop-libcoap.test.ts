// Interop with a CoAP client nobody here wrote: libcoap's coap-client (Debian
// libcoap3-bin) against the agent running in the Node host on a real UDP
// socket over [::1]. Payloads are decoded by the independent protobufjs codec.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSocket } from "node:dgram";
import { decodeTlvs } from "../host/nms/tlv.ts";

const CLIENT = "coap-client-notls";
let agent: ChildProcess;
let port = 0;
let dir = "";
let output = "";

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp6");
    s.on("error", reject);
    s.bind(0, "::1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/** Runs coap-client and returns the raw payload bytes it received. */
function coapGet(uri: string): Buffer {
  const out = join(dir, `payload-${Math.random().toString(36).slice(2)}`);
  execFileSync(CLIENT, ["-m", "get", "-B", "5", "-o", out, uri], { timeout: 10_000 });
  return readFileSync(out);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "csmp-interop-"));
  port = await freeUdpPort();
  agent = spawn("npx", ["tsx", "host/cli.ts", "--port", String(port), "--bind", "::1", "--state-dir", join(dir, "state"),
    "--eui64", "00173bab0c0ffee1", "--trust-system-time"], { stdio: ["ignore", "pipe", "pipe"] });
  agent.stdout!.on("data", (b) => { output += b; });
  agent.stderr!.on("data", (b) => { output += b; });
  // Ready when the agent logs its start.
  const deadline = Date.now() + 30_000;
  while (!/agent started/.test(output)) {
    if (Date.now() > deadline || agent.exitCode !== null) throw new Error(`agent did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 40_000);

afterAll(() => {
  agent?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

describe("libcoap coap-client against the agent", () => {
  it("GET /c returns the TlvIndex", () => {
    const tlvs = decodeTlvs(coapGet(`coap://[::1]:${port}/c`));
    expect(tlvs.map((t) => t.name)).toEqual(["TlvIndex"]);
    expect((tlvs[0].value as { tlvid: string[] }).tlvid).toContain("11");
  });

  it("GET /c?q=11+22 returns HardwareDesc then Uptime", () => {
    const tlvs = decodeTlvs(coapGet(`coap://[::1]:${port}/c?q=11+22`));
    expect(tlvs.map((t) => t.type)).toEqual([11, 22]);
    expect(tlvs[0].value).toMatchObject({ entPhysicalIndex: 1 });
    expect(typeof (tlvs[1].value as { sysUpTime: number }).sysUpTime).toBe("number");
  });

  it("GET /c/2 returns the DeviceID", () => {
    const tlvs = decodeTlvs(coapGet(`coap://[::1]:${port}/c/2`));
    expect(tlvs).toHaveLength(1);
    expect(tlvs[0].value).toEqual({ type: 1, id: "00173BAB0C0FFEE1" });
  });
});
