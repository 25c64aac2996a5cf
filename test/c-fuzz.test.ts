// The C side under libFuzzer (pal/fuzz/): fuzz_datagram feeds datagrams
// through WAMR and the real POSIX PAL into build/agent.wasm, built by clang
// with -fsanitize=fuzzer,address,undefined (scripts/build-fuzz.mjs). A short
// campaign on the seed corpus must end cleanly: exit 0, no crash, leak or
// timeout file. Then the target's own checks are shown to work on a small
// probe module that traps, calls pal.fatal, grows its memory or reboots on
// command. Long campaigns are run by hand (pal/fuzz/README.md). Skipped only
// when clang's fuzzer runtime is missing (Debian: clang libclang-rt-dev llvm).
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const BUILD = join(ROOT, "scripts", "build-fuzz.mjs");
const BINARY = join(ROOT, "pal", "out", "fuzz", "fuzz_datagram");
const CORPUS = join(ROOT, "pal", "fuzz", "corpus");

// build-fuzz.mjs --check: 0 the toolchain works, 2 it is missing (skip).
const check = spawnSync(process.execPath, [BUILD, "--check"], { cwd: ROOT, encoding: "utf8" });
const toolchain = check.status === 0;
if (check.status === 2) console.warn(`c-fuzz: skipped: ${check.stderr.trim()}`);
else if (!toolchain) throw new Error(`build-fuzz.mjs --check failed:\n${check.stdout}${check.stderr}`);

/** Lines that start every ASan, LSan, UBSan and libFuzzer failure report. */
const REPORT = /(ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer))/;

let work = "";

interface Run { status: number | null; output: string; files: string[] }

/** Runs fuzz_datagram in its own directory (where libFuzzer writes crash files). */
function fuzz(name: string, args: string[], env: Record<string, string> = {}, timeoutMs = 85_000): Run {
  const dir = join(work, name);
  mkdirSync(join(dir, "state"), { recursive: true });
  const r = spawnSync(BINARY, args, {
    cwd: dir, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, CSMP_FUZZ_STATE_PARENT: join(dir, "state"), CSMP_FUZZ_HISTORY_DIR: dir, ...env },
  });
  return { status: r.status, output: `${r.stderr}${r.stdout}`, files: readdirSync(dir) };
}

/** The failure files libFuzzer leaves in its working directory. */
const artifacts = (files: string[]) => files.filter((f) => /^(crash|leak|timeout|oom|slow-unit)-/.test(f));

beforeAll(() => {
  if (!toolchain) return;
  if (!existsSync(join(ROOT, "build", "agent.wasm"))) throw new Error("build/agent.wasm is missing: run node scripts/build.mjs first");
  try {
    execFileSync(process.execPath, [BUILD], { cwd: ROOT, stdio: "pipe" });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the fuzz target failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
  work = mkdtempSync(join(tmpdir(), "csmp-c-fuzz-"));
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!toolchain)("fuzz_datagram: libFuzzer through WAMR and the POSIX PAL", () => {
  it("runs a short campaign on the seed corpus without a crash, leak or sanitizer report", () => {
    const seeds = readdirSync(CORPUS);
    expect(seeds.length, "pal/fuzz/corpus (npx tsx pal/fuzz/make-corpus.ts)").toBeGreaterThan(10);
    // libFuzzer adds what it finds to the first corpus directory: a copy.
    const corpus = join(work, "corpus");
    cpSync(CORPUS, corpus, { recursive: true });
    const r = fuzz("campaign", ["-runs=20000", "-max_total_time=60", "-max_len=1281", "-timeout=10",
      "-rss_limit_mb=1024", "-seed=1", "-print_final_stats=1", corpus]);
    expect(r.output.match(REPORT)?.[0], r.output.slice(-4000)).toBeUndefined();
    expect(r.output).not.toContain("csmp-fuzz: FAILURE");
    expect(r.status, r.output.slice(-4000)).toBe(0);
    expect(artifacts(r.files)).toEqual([]);
    expect(r.files.filter((f) => f.startsWith("csmp-fuzz-history-"))).toEqual([]);
    // Every seed was run, the campaign made inputs of its own, and the agent
    // came up in WAMR with the POSIX PAL.
    expect(r.output).toMatch(/csmp-fuzz: .*agent\.wasm \(\d+ bytes\) in WAMR with the POSIX PAL/);
    expect(r.output).toMatch(new RegExp(`INFO:\\s+${seeds.length} files found`));
    const done = r.output.match(/stat::number_of_executed_units: (\d+)/);
    expect(Number(done?.[1])).toBeGreaterThan(seeds.length);
    expect(r.output).toMatch(/csmp-fuzz: \d+ inputs in \d+ episode\(s\), \d+ agent reboot\(s\), all passed/);
    // The state directory is removed at exit.
    expect(readdirSync(join(work, "campaign", "state"))).toEqual([]);
  }, 90_000);

  describe("its checks, on a probe module", () => {
    // agent_datagram acts on the payload's first byte: U traps, F calls
    // pal.fatal, G grows memory by a page, B asks for a reboot; anything else
    // is ignored. agent_init counts boots at address 0.
    const PROBE_WAT = String.raw`
(module
  (import "pal" "fatal" (func $fatal (param i32 i32 i32 i32)))
  (import "pal" "reboot" (func $reboot (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 48) "probe fatal")
  (func (export "agent_config_buf") (result i32) (i32.const 1024))
  (func (export "agent_config_cap") (result i32) (i32.const 1024))
  (func (export "agent_rx_buf") (result i32) (i32.const 2048))
  (func (export "agent_rx_cap") (result i32) (i32.const 1280))
  (func (export "agent_addr_buf") (result i32) (i32.const 4096))
  (func (export "agent_init") (param $len i32) (result i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (i32.const 0))
  (func (export "agent_timer") (param $id i32))
  (func (export "agent_datagram") (param $len i32) (param $sp i32) (param $dp i32)
    (local $cmd i32)
    (local.set $cmd (i32.load8_u (i32.const 2048)))
    (if (i32.eq (local.get $cmd) (i32.const 0x55)) (then (unreachable)))
    (if (i32.eq (local.get $cmd) (i32.const 0x46)) (then
      (call $fatal (i32.const 48) (i32.const 11) (i32.const 12) (i32.const 34)) (unreachable)))
    (if (i32.eq (local.get $cmd) (i32.const 0x47)) (then (drop (memory.grow (i32.const 1)))))
    (if (i32.eq (local.get $cmd) (i32.const 0x42)) (then (call $reboot (i32.const 7)))))
)`;
    let probe = "";
    /** A file holding flags byte 0 (unicast, from the NMS), then the payload. */
    const input = (path: string, payload: string) => {
      writeFileSync(path, Buffer.concat([Buffer.from([0]), Buffer.from(payload)]));
      return path;
    };
    /** A corpus directory with the given payloads. */
    const corpus = (name: string, payloads: string[]) => {
      const dir = join(work, `${name}-corpus`);
      mkdirSync(dir);
      payloads.forEach((p, i) => input(join(dir, `in${i}`), p));
      return dir;
    };

    beforeAll(() => {
      const mod = binaryen.parseText(PROBE_WAT);
      try {
        if (!mod.validate()) throw new Error("probe module does not validate");
        probe = join(work, "probe.wasm");
        writeFileSync(probe, mod.emitBinary());
      } finally {
        mod.dispose();
      }
    });

    const withProbe = (name: string, args: string[]) => fuzz(name, args, { CSMP_FUZZ_MODULE: probe }, 30_000);

    it("passes inputs the module handles, and survives a reboot the module asks for", () => {
      // Files named on the command line run once each, in order, in one
      // process (no mutations, which could make the probe's commands).
      const dir = corpus("quiet", ["x", "Bb", "yyy"]);
      const r = withProbe("quiet", ["in0", "in1", "in2"].map((f) => join(dir, f)));
      expect(r.output).toContain("csmp-fuzz: 3 inputs in 1 episode(s), 1 agent reboot(s), all passed");
      expect(r.output.match(REPORT)?.[0], r.output).toBeUndefined();
      expect(r.status, r.output).toBe(0);
      expect(r.output).not.toContain("FAILURE");
      expect(artifacts(r.files)).toEqual([]);
    });

    for (const [what, payload, message] of [
      ["a trap", "U", /agent_datagram: WAMR exception \(trap\): agent_datagram: Exception: unreachable/],
      ["pal.fatal", "F", /agent_datagram: agent fatal: probe fatal \(line 12, column 34\)/],
      ["memory growth", "G", /agent_datagram: linear memory is 2 pages, not 1/],
    ] as const) {
      it(`turns ${what} into a crash, with the episode's inputs kept for replay`, () => {
        const name = what.replace(/\W+/g, "-");
        // libFuzzer runs seeds smallest first: the failing one comes third.
        const bad = `${payload}-last`;
        const r = withProbe(name, ["-runs=10", corpus(name, ["a", "bb", bad])]);
        expect(r.output).toMatch(message);
        expect(r.output).toMatch(/csmp-fuzz: FAILURE after input 3 of episode 1/);
        expect(r.output).toContain("ERROR: libFuzzer: deadly signal");
        expect(r.status).not.toBe(0);
        // libFuzzer's crash file is the failing input; the history holds all three.
        const crash = artifacts(r.files);
        expect(crash, r.output).toHaveLength(1);
        expect(readFileSync(join(work, name, crash[0])).subarray(1).toString()).toBe(bad);
        const history = r.files.find((f) => f.startsWith("csmp-fuzz-history-"));
        expect(history, r.output).toBeDefined();
        const dir = join(work, name, history!);
        const kept = readdirSync(dir).sort();
        expect(kept).toEqual(["000000", "000001", "000002"]);
        expect(kept.map((f) => readFileSync(join(dir, f)).subarray(1).toString())).toEqual(["a", "bb", bad]);
        expect(r.output).toContain(`reproduce with: fuzz_datagram ${dir}/*`);
        // Which does reproduce it. The crash left its state directory (no
        // atexit after a crash); the next run in the same place removes it.
        const stateParent = join(work, name, "state");
        const left = readdirSync(stateParent);
        expect(left).toHaveLength(1);
        const again = fuzz(`${name}-again`, kept.map((f) => join(dir, f)),
          { CSMP_FUZZ_MODULE: probe, CSMP_FUZZ_STATE_PARENT: stateParent }, 30_000);
        expect(again.output).toMatch(message);
        expect(again.output).toMatch(/csmp-fuzz: FAILURE after input 3 of episode 1/);
        expect(again.status).not.toBe(0);
        expect(readdirSync(stateParent)).not.toContain(left[0]);
      });
    }
  });
});
