// node scripts/build-freertos.mjs: builds the FreeRTOS PAL's Linux simulator
// (pal/freertos/sim: the real FreeRTOS kernel on its POSIX port, the agent
// under WAMR in a FreeRTOS task) into pal/freertos/out/ and prints where
// csmp-agent-freertos is.
//
// Every C source tree comes from cargo's registry, pinned by Cargo.lock, never
// from this repository: WAMR through pal/wamr-crate (as scripts/build-pal.mjs),
// the FreeRTOS kernel and mbedTLS through pal/freertos/sources-crate. Before
// building, the kernel files we compile are checked against the SHA-1 sums of
// the kernel's own release SBOM. scripts/build-cortex-m.mjs uses
// findSources below; the rest is shared (scripts/build-helpers.mjs).
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { cargoPackages, cmakeBuild, fail, findWamr, lock, root } from "./build-helpers.mjs";

/** Kernel files both builds compile (relative to FreeRTOS-Kernel/). */
const KERNEL_FILES = ["tasks.c", "queue.c", "list.c", "timers.c"];

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
  const wamr = findWamr(tool);
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
