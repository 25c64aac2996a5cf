// node scripts/build-fuzz.mjs [--check] [--wamr-root DIR]: builds the C
// side's libFuzzer target (pal/fuzz/) into pal/out/fuzz/ and prints where
// fuzz_datagram is. Needs clang with its fuzzer and sanitizer runtimes
// (Debian: clang libclang-rt-dev llvm); without them it prints why and exits
// with status 2 ("skipped"), so callers can tell a missing toolchain from a
// broken build (status 1). --check only answers that question.
//
// WAMR comes from where scripts/build-pal.mjs takes it: WAMR_ROOT (or
// --wamr-root), else the wamrx-sys crate pinned by pal/wamr-crate/Cargo.lock,
// located with `cargo metadata`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { findWamr, run, fail as failWith, root } from "./build-helpers.mjs";

const fail = (message) => failWith("build-fuzz", message);

const outDir = join(root, "pal", "out", "fuzz");
const binary = join(outDir, "fuzz_datagram");
const clang = process.env.FUZZ_CC || "clang";
const SKIPPED = 2;


/** Why clang cannot build a libFuzzer + ASan + UBSan program, or null when it can. */
function toolchainProblem() {
  if (spawnSync(clang, ["--version"], { stdio: "ignore" }).status !== 0) return `${clang} not found`;
  const dir = mkdtempSync(join(tmpdir(), "build-fuzz-probe-"));
  try {
    const src = join(dir, "probe.c");
    writeFileSync(src, "#include <stddef.h>\n#include <stdint.h>\n"
      + "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n");
    const r = spawnSync(clang, ["-fsanitize=fuzzer,address,undefined", src, "-o", join(dir, "probe")], { encoding: "utf8" });
    if (r.status !== 0) return `${clang} cannot link a libFuzzer program (fuzzer/sanitizer runtime missing?):\n${r.stderr.trim()}`;
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const problem = toolchainProblem();
if (problem) {
  console.error(`build-fuzz: skipped: ${problem}\nbuild-fuzz: install Debian's clang libclang-rt-dev llvm (clang 14 on Debian 12), or set FUZZ_CC`);
  process.exit(SKIPPED);
}
if (process.argv.includes("--check")) {
  console.log(`build-fuzz: ${clang} can build libFuzzer targets`);
  process.exit(0);
}

const wamrArg = process.argv.indexOf("--wamr-root");
const wamr = findWamr("build-fuzz", wamrArg > 0 ? process.argv[wamrArg + 1] ?? "" : undefined).dir;
if (!existsSync(join(root, "build", "agent.wasm"))) console.warn("build-fuzz: build/agent.wasm is missing (node scripts/build.mjs); the target needs it to run");

run("build-fuzz", "cmake", ["-S", join(root, "pal", "fuzz"), "-B", outDir, `-DWAMR_ROOT=${wamr}`, `-DCMAKE_C_COMPILER=${clang}`,
  "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "--log-level=WARNING"]);
run("build-fuzz", "cmake", ["--build", outDir, "--target", "fuzz_datagram", "--parallel", String(availableParallelism())]);
if (!existsSync(binary)) fail(`build finished but ${binary} is missing`);
console.log(`build-fuzz: ${binary}`);
