// node scripts/build-pal.mjs [--sanitize]: builds the C host (pal/) into
// pal/out/ (with --sanitize: pal/out/sanitize/, ASan + UBSan) and prints where
// csmp-agent is.
//
// WAMR's C sources come from cargo's registry: pal/wamr-crate is a cargo package
// that is never compiled; its pinned dependency wamrx-sys ships WAMR's tree
// (scripts/build-helpers.mjs finds it). Set WAMR_ROOT (or pass --wamr-root DIR)
// to build against a WAMR tree of your own instead.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cmakeBuild, fail, findWamr, lock, root } from "./build-helpers.mjs";

const tool = "build-pal";
const palDir = join(root, "pal");
// --sanitize: AddressSanitizer + UndefinedBehaviorSanitizer build in its own
// directory, so it never replaces the normal binary (test/wamr-sanitizers.test.ts).
const sanitize = process.argv.includes("--sanitize");
const outDir = join(palDir, "out", ...(sanitize ? ["sanitize"] : []));

const argIndex = process.argv.indexOf("--wamr-root");
const wamr = findWamr(tool, argIndex > 0 ? process.argv[argIndex + 1] ?? "" : undefined);
console.log(`${tool}: WAMR ${wamr.version} from ${wamr.dir}`);

lock(tool, outDir);
cmakeBuild(tool, palDir, outDir, {
  WAMR_ROOT: wamr.dir,
  ...(sanitize ? { CMAKE_BUILD_TYPE: "RelWithDebInfo", CSMP_SANITIZE: "ON" } : { CSMP_SANITIZE: "OFF" }),
});

const binary = join(outDir, "csmp-agent");
if (!existsSync(binary)) fail(tool, `build finished but ${binary} is missing`);
console.log(`${tool}: ${binary}`);
