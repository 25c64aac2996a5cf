// The C host (pal/, program csmp-agent): the same build/agent.wasm under
// WAMR's fast interpreter, driven as a real process over real UDP on [::1].
// The CoAP request is written by hand and the answer decoded with protobufjs,
// so neither side of the check shares code with the agent.
import { describe, it, expect, beforeAll, afterEach } from "vitest";
import { spawnSync } from "node:child_process";
import * as dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { buildCHost, CSMP_AGENT as agentBin, ROOT as root, startHost, stopProcess, type HostProcess } from "./support/c-host.ts";

const agentWasm = join(root, "build", "agent.wasm");
const EUI64 = "00173bab01020304";

const proto = new protobuf.Root().loadSync(join(root, "proto", "csmp.proto"), { keepCase: true });
proto.resolveAll();
const DeviceID = proto.lookupType("csmp.tlvs.DeviceID");

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "csmp-wamr-"));
  tempDirs.push(dir);
  return dir;
}

const running: HostProcess[] = [];

/** Starts csmp-agent and waits until it listens and the agent has started. */
async function startAgent(args: string[]): Promise<HostProcess> {
  const agent = await startHost(agentBin, args, { started: /host: agent started/, what: "csmp-agent" });
  running.push(agent);
  return agent;
}

const stopAgent = (agent: HostProcess) => stopProcess(agent.proc, agent.exited);

/** Runs csmp-agent to completion (for the failure cases). */
function runAgent(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(agentBin, args, { cwd: root, encoding: "utf8", timeout: 10_000 });
  return { status: r.status, stderr: r.stderr };
}

/** Sends one datagram to [::1]:port and returns the first answer. */
async function exchange(port: number, request: Uint8Array): Promise<Buffer> {
  const sock = dgram.createSocket("udp6");
  try {
    await new Promise<void>((res) => sock.bind(0, "::1", () => res()));
    const answer = new Promise<Buffer>((res, rej) => {
      const t = setTimeout(() => rej(new Error("no answer within 5 s")), 5_000);
      sock.once("message", (msg) => { clearTimeout(t); res(msg); });
    });
    sock.send(request, port, "::1");
    return await answer;
  } finally {
    sock.close();
  }
}

/** A wasm module importing pal functions this host does not provide as asked. */
function mismatchedModule(): Uint8Array {
  const name = (s: string) => [s.length, ...Buffer.from(s)];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // types: 0 = (i32) -> i32, 1 = () -> ()
    ...section(1, [0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00]),
    // pal.udp_send with the wrong type, and an import no PAL has
    ...section(2, [0x02, ...name("pal"), ...name("udp_send"), 0x00, 0x00,
      ...name("pal"), ...name("teleport"), 0x00, 0x01]),
    // one page of memory
    ...section(5, [0x01, 0x00, 0x01]),
  ]);
}

beforeAll(() => {
  if (!existsSync(agentWasm)) throw new Error(`${agentWasm} is missing: run npm run build first`);
  buildCHost("the C host", "build-pal.mjs");
}, 600_000);

afterEach(async () => {
  while (running.length) await stopAgent(running.pop()!);
  while (tempDirs.length) rmSync(tempDirs.pop()!, { recursive: true, force: true });
});

describe("csmp-agent (WAMR host)", () => {
  it("answers GET /c?q=2 with its DeviceID over real UDP", async () => {
    const agent = await startAgent(["--module", agentWasm, "--eui64", EUI64, "--bind", "::1", "--port", "0",
      "--state", tempDir()]);
    const mid = [0x5a, 0x17];
    const token = [0xc3, 0x9e];
    const request = Uint8Array.from([
      0x42, 0x01, ...mid, ...token, // CON GET, token length 2
      0xb1, 0x63,                   // Uri-Path (11) "c"
      0x43, 0x71, 0x3d, 0x32,       // Uri-Query (15) "q=2"
    ]);
    const answer = await exchange(agent.port, request);

    expect(answer[0] >> 6, "CoAP version").toBe(1);
    expect((answer[0] >> 4) & 3, "type ACK").toBe(2);
    expect(answer[0] & 0x0f, "token length").toBe(2);
    expect(answer[1], "code 2.05").toBe(0x45);
    expect([...answer.subarray(2, 4)], "message id").toEqual(mid);
    expect([...answer.subarray(4, 6)], "token").toEqual(token);

    const marker = answer.indexOf(0xff, 6);
    expect(marker, "payload marker").toBeGreaterThan(0);
    const payload = answer.subarray(marker + 1);
    expect(payload[0], "TLV type 2 (DeviceID)").toBe(0x02);
    const len = payload[1];
    expect(len).toBeLessThan(0x80); // one-byte length for a DeviceID
    const device = DeviceID.toObject(DeviceID.decode(payload.subarray(2, 2 + len)));
    expect(device).toEqual({ type: 1, id: EUI64.toUpperCase() });

    expect(await stopAgent(agent), `exit status; log:\n${agent.log()}`).toBe(0);
    expect(agent.log()).toMatch(/WAMR 2\.\d+\.\d+ fast interpreter/);
  });

  it("refuses a module whose imports do not match the PAL, naming them", () => {
    const dir = tempDir();
    const bad = join(dir, "bad.wasm");
    writeFileSync(bad, mismatchedModule());
    const r = runAgent(["--module", bad, "--eui64", EUI64, "--bind", "::1", "--port", "0", "--state", dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unlinked imports/);
    expect(r.stderr).toMatch(/pal\.udp_send \(i32\) -> i32: type differs from this host's "\(ii\*~\)i"/);
    expect(r.stderr).toMatch(/pal\.teleport \(\) -> \(\): not provided by this host/);
  });

  it("refuses a file that is not a wasm module, and a missing one", () => {
    const dir = tempDir();
    const junk = join(dir, "junk.wasm");
    writeFileSync(junk, "not wasm at all");
    const r = runAgent(["--module", junk, "--eui64", EUI64, "--port", "0", "--state", dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a loadable wasm module/);

    const missing = runAgent(["--module", join(dir, "nope.wasm"), "--eui64", EUI64, "--port", "0", "--state", dir]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read agent module .*nope\.wasm/);
  });

  it("exits 3 when the agent rejects its configuration", () => {
    const dir = tempDir();
    const config = join(dir, "device.conf");
    writeFileSync(config, "# no eui64 line\nmtu=512\n");
    const r = runAgent(["--module", agentWasm, "--config", config, "--bind", "::1", "--port", "0", "--state", dir]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/eui64 is required/);
    expect(r.stderr).toMatch(/rejected its configuration/);
  });

  it("exits 1 on a bad command line", () => {
    const r = runAgent(["--eui64", "xyz"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--eui64 needs 16 hex digits/);
  });
});
