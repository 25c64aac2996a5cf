// node scripts/build-cortex-m.mjs: cross-compiles the FreeRTOS PAL and links
// the Cortex-M4F firmware (FreeRTOS + WAMR fast interpreter + PAL +
// build/agent.wasm in flash) for QEMU's mps2-an386 into pal/cortex-m/out/,
// then prints the PAL's size and the image's flash/RAM split by component.
//
// Needs Debian's gcc-arm-none-eabi and libnewlib-arm-none-eabi. Sources come
// from cargo as for scripts/build-freertos.mjs (findSources; the rest from
// scripts/build-helpers.mjs).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findSources } from "./build-freertos.mjs";
import { cmakeBuild, fail, lock, root } from "./build-helpers.mjs";

const tool = "build-cortex-m";
const out = join(root, "pal", "cortex-m", "out");
const elf = join(out, "csmp-firmware.elf");

/** Which component an input file of the link belongs to. */
function component(file) {
  if (/libvmlib\.a/.test(file)) return "WAMR";
  if (/libfreertos_kernel\.a/.test(file)) return "FreeRTOS";
  if (/libcsmp_mbedtls\.a/.test(file)) return "mbedTLS";
  if (/libcsmp_pal_freertos\.a/.test(file)) return "PAL";
  if (/agent_wasm\.c/.test(file)) return "agent.wasm";
  if (/lib(c|g|m|c_nano|g_nano|m_nano|gcc|nosys)\.a/.test(file)) return "libc+libgcc";
  return "board";
}

/**
 * Flash and RAM bytes per component from the linker map: every input
 * section placed in an output section. Flash: .text (code, rodata), .ARM.exidx
 * and .data's initial values; RAM: .data and .bss.
 */
function splitByComponent(mapFile) {
  const lines = readFileSync(mapFile, "utf8").split("\n");
  const start = lines.findIndex((l) => l.startsWith("Linker script and memory map"));
  const totals = {};
  const add = (c, kind, n) => { totals[c] ??= { flash: 0, ram: 0 }; totals[c][kind] += n; };
  let output = "";
  for (let i = start; i < lines.length; i++) {
    const out = lines[i].match(/^(\.[\w.]+)\s/) ?? lines[i].match(/^(\.[\w.]+)$/);
    if (out) { output = out[1]; continue; }
    // " .text.foo  0xADDR  0xSIZE file", possibly with the name alone on the line before.
    let m = lines[i].match(/^ \S+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/);
    if (!m && /^ \S+$/.test(lines[i])) {
      m = lines[i + 1]?.match(/^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/);
      if (m) i++;
    }
    if (!m) continue;
    const size = parseInt(m[2], 16);
    if (!size || /^\*fill\*/.test(m[3])) continue;
    const c = component(m[3]);
    if (output === ".text" || output === ".ARM.exidx") add(c, "flash", size);
    else if (output === ".data") { add(c, "flash", size); add(c, "ram", size); }
    else if (output === ".bss") add(c, "ram", size);
  }
  return totals;
}

function sizeOf(args) {
  return execFileSync("arm-none-eabi-size", args, { encoding: "utf8" });
}

function main() {
  for (const bin of ["arm-none-eabi-gcc", "arm-none-eabi-size"]) {
    try { execFileSync(bin, ["--version"], { stdio: "ignore" }); } catch {
      fail(tool, `${bin} not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)`);
    }
  }
  const agentWasm = join(root, "build", "agent.wasm");
  if (!existsSync(agentWasm)) fail(tool, `${agentWasm} is missing: run node scripts/build.mjs first`);
  const port = "portable/GCC/ARM_CM4F";
  const src = findSources(tool, [`${port}/port.c`]);
  console.log(`${tool}: FreeRTOS-Kernel ${src.kernelVersion}, WAMR ${src.wamrVersion}, mbedTLS from ${src.mbedtls}`);
  lock(tool, out);
  cmakeBuild(tool, join(root, "pal", "cortex-m"), out, {
    CMAKE_TOOLCHAIN_FILE: join(root, "pal", "cortex-m", "toolchain-arm-none-eabi.cmake"),
    CMAKE_BUILD_TYPE: "MinSizeRel",
    FREERTOS_KERNEL: src.kernel, MBEDTLS_ROOT: src.mbedtls, WAMR_ROOT: src.wamr, AGENT_WASM: agentWasm,
  });
  if (!existsSync(elf)) fail(tool, `build finished but ${elf} is missing`);

  // The PAL alone (our code: pal/freertos + the shared WAMR binding), -Os.
  console.log(`${tool}: PAL objects (pal/freertos + pal/wamr, Cortex-M4F -Os):`);
  process.stdout.write(sizeOf(["-t", join(out, "libcsmp_pal_freertos.a")]).split("\n")
    .filter((l) => /text|TOTALS/.test(l)).join("\n") + "\n");
  process.stdout.write(sizeOf([elf]));

  const totals = splitByComponent(join(out, "csmp-firmware.map"));
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(10);
  console.log(`${tool}: firmware image by component (flash = code + rodata + data init; RAM = data + bss):`);
  let flash = 0, ram = 0;
  for (const [c, t] of Object.entries(totals).sort((a, b) => b[1].flash - a[1].flash)) {
    console.log(`  ${c.padEnd(12)} flash ${kb(t.flash)}   RAM ${kb(t.ram)}`);
    flash += t.flash; ram += t.ram;
  }
  console.log(`  ${"total".padEnd(12)} flash ${kb(flash)}   RAM ${kb(ram)} (+ 2 KiB main stack)`);
  console.log(`${tool}: ${elf}`);
}

main();
