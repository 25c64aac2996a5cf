// The whole scenario (test/scenario/scenario.ts) against csmp-agent built
// with AddressSanitizer (LeakSanitizer included) and UndefinedBehaviorSanitizer
// (`node scripts/build-pal.mjs --sanitize`, into pal/out/sanitize/): WAMR, the
// natives and the POSIX platform run registration, signed POSTs, reports,
// host events over SIGUSR1, restarts, slot writes and an in-process reboot
// under the checkers; then the --replay mode the bench uses, whose file
// parser must survive a truncated file. Every process must end with its
// expected status and no sanitizer report on stderr or stdout.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCoap, get } from "../host/nms/coap.ts";
import { defineScenario } from "./scenario/scenario.ts";
import { AGENT_WASM, asWamr, ROOT, wamrDevices } from "./scenario/wamr-device.ts";
import { buildCHost } from "./support/c-host.ts";

const BINARY = join(ROOT, "pal", "out", "sanitize", "csmp-agent");
const ENV = {
  // Leaks are reported at exit (which SIGTERM reaches through the event
  // loop); any report also changes the exit status.
  ASAN_OPTIONS: "detect_leaks=1:halt_on_error=1:exitcode=99",
  UBSAN_OPTIONS: "halt_on_error=1:print_stacktrace=1",
};

/** Lines that start every ASan, LSan and UBSan report. */
const REPORT = /(ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer))/;

function expectNoReport(what: string, output: string): void {
  expect(output.match(REPORT)?.[0], `sanitizer report in ${what}:\n${output}`).toBeUndefined();
}

let built = false;
/** Builds pal/out/sanitize once per file (both suites need it, in either order). */
function buildSanitizerHost(): void {
  if (built) return;
  buildCHost("the sanitizer host", "build-pal.mjs", "--sanitize");
  built = true;
}

defineScenario("WAMR POSIX host with ASan + UBSan", () => {
  buildSanitizerHost();
  return wamrDevices({ binary: BINARY, env: ENV, startTimeoutMs: 20_000 });
}, {
  afterStop: (device) => {
    const runs = asWamr(device).runs;
    // One restart in the scenario: two processes, each stopped by SIGTERM.
    expect(runs.length).toBe(2);
    for (const [i, run] of runs.entries()) {
      expectNoReport(`process ${i + 1}`, run.stderr + run.stdout);
      expect(run.exit, `exit of process ${i + 1}:\n${run.stderr}`).toBe(0);
    }
  },
});

describe("csmp-agent --replay with ASan + UBSan", () => {
  let dir = "";

  beforeAll(() => {
    buildSanitizerHost();
    dir = mkdtempSync(join(tmpdir(), "csmp-replay-"));
    writeFileSync(join(dir, "device.conf"), "eui64=00173BAB5C000002\nnms.url=coap://[::1]:61629\n");
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One record of pal/posix/replay.c's format, from [::1]:61629. */
  function record(measured: boolean, payload: Uint8Array): Buffer {
    const header = Buffer.alloc(21);
    header[0] = measured ? 1 : 0;
    header[16] = 1; // ::1
    header.writeUInt16BE(61629, 17);
    header.writeUInt16BE(payload.length, 19);
    return Buffer.concat([header, payload]);
  }

  function replay(file: Buffer): { status: number | null; output: string } {
    writeFileSync(join(dir, "replay.bin"), file);
    const r = spawnSync(BINARY, ["--module", AGENT_WASM, "--replay", join(dir, "replay.bin"), "--config", join(dir, "device.conf"),
      "--state", join(dir, "state"), "--bind", "::1", "--port", "61628"], { encoding: "utf8", env: { ...process.env, ...ENV }, timeout: 60_000 });
    return { status: r.status, output: r.stderr + r.stdout };
  }

  it("delivers every record without a socket, answers each, and exits 0", () => {
    const gets = Array.from({ length: 5 }, (_, i) => record(i > 0, encodeCoap({ ...get("/c", ["q=11"]), mid: 100 + i })));
    const r = replay(Buffer.concat(gets));
    expectNoReport("the replay", r.output);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/replay: 5 datagrams, 4 measured in \d+ ns, 5 sent; WAMR pool high mark \d+ of \d+ bytes; peak RSS \d+ KiB/);
  });

  it("refuses a truncated file, naming the bad record, before starting the agent", () => {
    const good = record(false, encodeCoap({ ...get("/c", ["q=11"]), mid: 7 }));
    const r = replay(Buffer.concat([good, good.subarray(0, 30)]));
    expectNoReport("the refused replay", r.output);
    expect(r.status, r.output).toBe(1);
    expect(r.output).toContain(`bad record at byte ${good.length} (format: pal/posix/replay.c)`);
    expect(r.output).not.toMatch(/agent started/);
  });
});
