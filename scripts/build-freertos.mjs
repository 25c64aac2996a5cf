// node scripts/build-freertos.mjs: builds the FreeRTOS PAL's Linux simulator
// (pal/freertos/sim: the real FreeRTOS kernel on its POSIX port, the agent
// under WAMR in a FreeRTOS task) into pal/freertos/out/ and prints where
// csmp-agent-freertos is.
//
// Every C source tree comes from cargo's registry, pinned by Cargo.lock, never
// from this repository: WAMR through pal/wamr-crate (as scripts/build-pal.mjs),
// the FreeRTOS kernel and mbedTLS through pal/freertos/sources-crate. Before
// building, the kernel files we compile are checked against the SHA-1 sums of
// the kernel's own release SBOM. scripts/build-cortex-m.mjs imports the
// helpers below.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Kernel files both builds compile (relative to FreeRTOS-Kernel/). */
const KERNEL_FILES = ["tasks.c", "queue.c", "list.c", "timers.c"];

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
function cargoPackages(tool, manifest, names) {
  let text;
  try {
    // --locked: exactly the versions in the crate's Cargo.lock.
    text = execFileSync("cargo", ["metadata", "--locked", "--format-version", "1", "--manifest-path", manifest],
      { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
  } catch {
    fail(tool, `cargo metadata failed for ${manifest} (is cargo installed and its registry reachable?)`);
  }
  const found = {};
  for (const name of names) {
    const pkg = JSON.parse(text).packages.find((p) => p.name === name);
    if (!pkg) fail(tool, `${name} missing from cargo metadata of ${manifest}`);
    found[name] = dirname(pkg.manifest_path);
  }
  return found;
}

/** The WAMR tree (WAMR_ROOT wins), checked to be 2.x. */
function wamrRoot(tool) {
  const dir = resolve(process.env.WAMR_ROOT ||
    join(cargoPackages(tool, join(root, "pal", "wamr-crate", "Cargo.toml"), ["wamrx-sys"])["wamrx-sys"], "wasm-micro-runtime"));
  const h = existsSync(join(dir, "core", "version.h")) ? readFileSync(join(dir, "core", "version.h"), "utf8") : "";
  const part = (n) => h.match(new RegExp(`WAMR_VERSION_${n}\\s+(\\d+)`))?.[1];
  const version = `${part("MAJOR")}.${part("MINOR")}.${part("PATCH")}`;
  if (!existsSync(join(dir, "build-scripts", "runtime_lib.cmake")) || part("MAJOR") !== "2")
    fail(tool, `${dir}: not a WAMR 2.x tree`);
  return { dir, version };
}

/**
 * Checks the kernel files we compile against FreeRTOS-Kernel/sbom.spdx, the
 * SPDX document of the official release (its sums are over LF line endings;
 * the crate ships CRLF). Returns the kernel version.
 */
function verifyKernel(tool, kernel, portFiles) {
  const sbom = readFileSync(join(kernel, "sbom.spdx"), "utf8").replace(/\r\n/g, "\n");
  const version = sbom.match(/^PackageVersion: (\S+)/m)?.[1] ?? "?";
  for (const file of [...KERNEL_FILES, ...portFiles]) {
    const entry = sbom.match(new RegExp(`FileName: \\./${file.replace(/[.]/g, "\\.")}\\nSPDXID: \\S+\\nFileChecksum: SHA1: (\\w+)`));
    if (!entry) fail(tool, `${file} is not listed in the kernel's SBOM`);
    const text = readFileSync(join(kernel, file)).toString("latin1").replace(/\r\n/g, "\n");
    const sum = createHash("sha1").update(Buffer.from(text, "latin1")).digest("hex");
    if (sum !== entry[1]) fail(tool, `${file} differs from FreeRTOS-Kernel ${version} (SBOM sha1 ${entry[1]}, got ${sum})`);
  }
  return version;
}

/**
 * Where every source tree is: { wamr, wamrVersion, kernel, kernelVersion,
 * mbedtls }. FREERTOS_KERNEL / MBEDTLS_ROOT / WAMR_ROOT override cargo.
 * portFiles: the port's .c files (relative to the kernel) to verify too.
 */
export function findSources(tool, portFiles) {
  const wamr = wamrRoot(tool);
  let kernel = process.env.FREERTOS_KERNEL;
  let mbedtls = process.env.MBEDTLS_ROOT;
  if (!kernel || !mbedtls) {
    const pkgs = cargoPackages(tool, join(root, "pal", "freertos", "sources-crate", "Cargo.toml"),
      ["freertos-next", "mbedtls-sys-auto"]);
    kernel ||= join(pkgs["freertos-next"], "FreeRTOS-Kernel");
    mbedtls ||= join(pkgs["mbedtls-sys-auto"], "vendor");
  }
  const kernelVersion = process.env.FREERTOS_KERNEL ? "(own tree, not verified)" : verifyKernel(tool, kernel, portFiles);
  if (!existsSync(join(mbedtls, "library", "ecdsa.c"))) fail(tool, `${mbedtls}: not an mbedTLS tree`);
  return { wamr: wamr.dir, wamrVersion: wamr.version, kernel: resolve(kernel), kernelVersion, mbedtls: resolve(mbedtls) };
}

/** One build at a time in dir (test files run in parallel workers). */
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

/** Configures and builds a CMake project. */
export function cmakeBuild(tool, source, out, defines) {
  run(tool, "cmake", ["-S", source, "-B", out, "--log-level=WARNING", "-DCMAKE_BUILD_TYPE=Release",
    ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`)]);
  run(tool, "cmake", ["--build", out, "--parallel", String(availableParallelism())]);
}

function main() {
  const tool = "build-freertos";
  const port = "portable/ThirdParty/GCC/Posix";
  const src = findSources(tool, [`${port}/port.c`, `${port}/utils/wait_for_event.c`]);
  console.log(`${tool}: FreeRTOS-Kernel ${src.kernelVersion} from ${src.kernel}`);
  console.log(`${tool}: WAMR ${src.wamrVersion}, mbedTLS from ${src.mbedtls}`);
  const out = join(root, "pal", "freertos", "out");
  lock(tool, out);
  cmakeBuild(tool, join(root, "pal", "freertos", "sim"), out,
    { FREERTOS_KERNEL: src.kernel, MBEDTLS_ROOT: src.mbedtls, WAMR_ROOT: src.wamr });
  const binary = join(out, "csmp-agent-freertos");
  if (!existsSync(binary)) fail(tool, `build finished but ${binary} is missing`);
  console.log(`${tool}: ${binary}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main();
