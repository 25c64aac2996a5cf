// What the C build scripts share (build-pal.mjs, build-freertos.mjs,
// build-cortex-m.mjs): failing with the tool's name, running a command,
// finding source trees through cargo, one build at a time per output
// directory, and configuring + building a CMake project.
//
// No C source tree is kept in this repository: each comes from a crate in
// cargo's registry, pinned by a never-compiled cargo package's Cargo.lock
// (pal/wamr-crate for WAMR, pal/freertos/sources-crate for the FreeRTOS
// kernel and mbedTLS). `cargo metadata --locked` downloads it once into
// cargo's cache and says where it was unpacked.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function fail(tool, message) {
  console.error(`${tool}: ${message}`);
  process.exit(1);
}

export function run(tool, cmd, args, options = {}) {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], ...options });
  } catch {
    fail(tool, `failed: ${cmd} ${args.join(" ")}`);
  }
}

/** name -> unpacked directory of each wanted package, from `cargo metadata`. */
export function cargoPackages(tool, manifest, names) {
  let text;
  try {
    // --locked: exactly the versions in the crate's Cargo.lock.
    text = execFileSync("cargo", ["metadata", "--locked", "--format-version", "1", "--manifest-path", manifest],
      { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
  } catch {
    fail(tool, `cargo metadata failed for ${manifest} (is cargo installed and its registry reachable?); or set the tree's variable (WAMR_ROOT, ...)`);
  }
  const packages = JSON.parse(text).packages;
  const found = {};
  for (const name of names) {
    const pkg = packages.find((p) => p.name === name);
    if (!pkg) fail(tool, `${name} missing from cargo metadata of ${manifest}`);
    found[name] = dirname(pkg.manifest_path);
  }
  return found;
}

/** "2.4.3" from a WAMR tree's core/version.h, or null. */
function wamrVersion(dir) {
  try {
    const h = readFileSync(join(dir, "core", "version.h"), "utf8");
    const part = (n) => h.match(new RegExp(`WAMR_VERSION_${n}\\s+(\\d+)`))?.[1];
    return `${part("MAJOR")}.${part("MINOR")}.${part("PATCH")}`;
  } catch {
    return null;
  }
}

/**
 * The WAMR tree: `dir` if given, else WAMR_ROOT, else the one inside the
 * wamrx-sys crate pinned by pal/wamr-crate; checked to be WAMR 2.x.
 */
export function findWamr(tool, dir) {
  const wamr = resolve(dir ?? (process.env.WAMR_ROOT ||
    join(cargoPackages(tool, join(root, "pal", "wamr-crate", "Cargo.toml"), ["wamrx-sys"])["wamrx-sys"], "wasm-micro-runtime")));
  for (const need of ["build-scripts/runtime_lib.cmake", "core/iwasm", "core/shared"]) {
    if (!existsSync(join(wamr, need))) fail(tool, `${wamr} is not a WAMR tree (no ${need})`);
  }
  const version = wamrVersion(wamr);
  if (!version?.startsWith("2.")) fail(tool, `${wamr}: need WAMR 2.x, found ${version ?? "no core/version.h"}`);
  return { dir: wamr, version };
}

/**
 * One build at a time in dir (test files run in parallel workers and each
 * makes sure its binary is current). A lock left by a dead process is taken over.
 */
export function lock(tool, dir) {
  mkdirSync(dir, { recursive: true });
  const lockDir = join(dir, ".build-lock");
  const owner = join(lockDir, "pid");
  const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lockDir);
      writeFileSync(owner, String(process.pid));
      process.on("exit", () => rmSync(lockDir, { recursive: true, force: true }));
      return;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
    }
    let pid = 0;
    try { pid = Number(readFileSync(owner, "utf8")); } catch { /* being written or removed */ }
    let alive = true;
    if (pid > 0) { try { process.kill(pid, 0); } catch { alive = false; } }
    if (!alive) rmSync(lockDir, { recursive: true, force: true });
    else if (waited > 600_000) fail(tool, `${lockDir} held by process ${pid} for 10 minutes`);
    else sleep(200);
  }
}

/** Configures (Release unless defines say otherwise) and builds a CMake project. */
export function cmakeBuild(tool, source, out, defines) {
  run(tool, "cmake", ["-S", source, "-B", out, "--log-level=WARNING", "-DCMAKE_BUILD_TYPE=Release",
    ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`)]);
  run(tool, "cmake", ["--build", out, "--parallel", String(availableParallelism())]);
}
