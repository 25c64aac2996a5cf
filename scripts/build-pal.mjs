// node scripts/build-pal.mjs [--sanitize]: builds the C host (pal/) into
// pal/out/ (with --sanitize: pal/out/sanitize/, ASan + UBSan) and prints where
// csmp-agent is.
//
// WAMR's C sources come from cargo's registry: pal/wamr-crate is a cargo package
// that is never compiled; its pinned dependency wamrx-sys ships WAMR's tree,
// and `cargo metadata` downloads it (once, into cargo's cache) and tells us
// where it was unpacked. Set WAMR_ROOT (or pass --wamr-root DIR) to build
// against a WAMR tree of your own instead.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const palDir = join(root, "pal");
// --sanitize: AddressSanitizer + UndefinedBehaviorSanitizer build in its own
// directory, so it never replaces the normal binary (test/wamr-sanitizers.test.ts).
const sanitize = process.argv.includes("--sanitize");
const outDir = join(palDir, "out", ...(sanitize ? ["sanitize"] : []));
const crateManifest = join(palDir, "wamr-crate", "Cargo.toml");

function fail(message) {
  console.error(`build-pal: ${message}`);
  process.exit(1);
}

function run(cmd, args) {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  } catch {
    fail(`failed: ${cmd} ${args.join(" ")}`);
  }
}

/** The WAMR tree inside the wamrx-sys crate, fetched by cargo if needed. */
function wamrFromCargo() {
  let text;
  try {
    // --locked: the versions in pal/wamr-crate/Cargo.lock, nothing newer.
    text = execFileSync("cargo", ["metadata", "--locked", "--format-version", "1", "--manifest-path", crateManifest],
      { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
  } catch {
    fail("cargo metadata failed (is cargo installed and its registry reachable?); or set WAMR_ROOT");
  }
  const pkg = JSON.parse(text).packages.find((p) => p.name === "wamrx-sys");
  if (!pkg) fail("wamrx-sys missing from cargo metadata");
  return join(dirname(pkg.manifest_path), "wasm-micro-runtime");
}

/** "2.4.3" from core/version.h, or null. */
function wamrVersion(dir) {
  try {
    const h = readFileSync(join(dir, "core", "version.h"), "utf8");
    const part = (n) => h.match(new RegExp(`WAMR_VERSION_${n}\\s+(\\d+)`))?.[1];
    return `${part("MAJOR")}.${part("MINOR")}.${part("PATCH")}`;
  } catch {
    return null;
  }
}

const argIndex = process.argv.indexOf("--wamr-root");
const wamrRoot = resolve(argIndex > 0 ? process.argv[argIndex + 1] ?? "" : process.env.WAMR_ROOT || wamrFromCargo());
for (const need of ["build-scripts/runtime_lib.cmake", "core/iwasm", "core/shared"]) {
  if (!existsSync(join(wamrRoot, need))) fail(`${wamrRoot} is not a WAMR tree (no ${need})`);
}
const version = wamrVersion(wamrRoot);
if (!version?.startsWith("2.")) fail(`${wamrRoot}: need WAMR 2.x, found ${version ?? "no core/version.h"}`);
console.log(`build-pal: WAMR ${version} from ${wamrRoot}`);

/**
 * One build at a time in pal/out (test files run in parallel workers and each
 * makes sure the binary is current). A lock left by a dead process is taken over.
 */
function lock() {
  mkdirSync(outDir, { recursive: true });
  const dir = join(outDir, ".build-lock");
  const owner = join(dir, "pid");
  const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(dir);
      writeFileSync(owner, String(process.pid));
      process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
      return;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
    }
    let pid = 0;
    try { pid = Number(readFileSync(owner, "utf8")); } catch { /* being written or removed */ }
    let alive = true;
    if (pid > 0) { try { process.kill(pid, 0); } catch { alive = false; } }
    if (!alive) rmSync(dir, { recursive: true, force: true });
    else if (waited > 600_000) fail(`${dir} held by process ${pid} for 10 minutes`);
    else sleep(200);
  }
}

lock();
run("cmake", ["-S", palDir, "-B", outDir, `-DWAMR_ROOT=${wamrRoot}`, "--log-level=WARNING",
  ...(sanitize ? ["-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DCSMP_SANITIZE=ON"] : ["-DCMAKE_BUILD_TYPE=Release", "-DCSMP_SANITIZE=OFF"])]);
run("cmake", ["--build", outDir, "--parallel", String(availableParallelism())]);

const binary = join(outDir, "csmp-agent");
if (!existsSync(binary)) fail(`build finished but ${binary} is missing`);
console.log(`build-pal: ${binary}`);
