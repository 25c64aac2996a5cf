// The FreeRTOS PAL cross-compiled for a Cortex-M4F (Debian's
// gcc-arm-none-eabi + newlib-nano, -Os, -Wall -Wextra -Werror on our code)
// against the real FreeRTOS V11.2.0 headers and its ARM_CM4F port, linked
// into a whole firmware image (FreeRTOS + WAMR fast interpreter + PAL +
// agent.wasm in flash), then booted on QEMU's mps2-an386 until the agent's
// own "agent started" line arrives on the UART through pal.log.
import { describe, it, expect, beforeAll } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildCHost, ROOT as root } from "./support/c-host.ts";

const elf = join(root, "pal", "cortex-m", "out", "csmp-firmware.elf");
const has = (bin: string) => spawnSync(bin, ["--version"], { stdio: "ignore" }).status === 0;
const toolchain = has("arm-none-eabi-gcc");
const qemu = has("qemu-system-arm");
if (!toolchain) console.warn("freertos-cortex-m: arm-none-eabi-gcc missing (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi); skipped");
else if (!qemu) console.warn("freertos-cortex-m: qemu-system-arm missing (Debian: qemu-system-arm); boot skipped");

let buildLog = "";

beforeAll(() => {
  if (!toolchain) return;
  if (!existsSync(join(root, "build", "agent.wasm"))) throw new Error("build/agent.wasm is missing: run npm run build first");
  buildLog = buildCHost("the Cortex-M firmware", "build-cortex-m.mjs");
}, 600_000);

/** KiB of flash and RAM for one component line of the build's split. */
function split(component: string): { flash: number; ram: number } {
  const m = buildLog.match(new RegExp(`^\\s+${component.replace(".", "\\.")}\\s+flash\\s+([\\d.]+) KiB\\s+RAM\\s+([\\d.]+) KiB`, "m"));
  if (!m) throw new Error(`no ${component} line in:\n${buildLog}`);
  return { flash: Number(m[1]), ram: Number(m[2]) };
}

describe.skipIf(!toolchain)("FreeRTOS PAL on a Cortex-M4F", () => {
  it("cross-compiles the PAL and links a firmware image with agent.wasm in flash", () => {
    expect(existsSync(elf)).toBe(true);
    // arm-none-eabi-size of the PAL's objects, then of the image.
    const pal = buildLog.match(/^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-f]+\s+\(TOTALS\)/m);
    expect(pal, buildLog).not.toBeNull();
    const palText = Number(pal![1]);
    expect(palText).toBeGreaterThan(2_000);
    expect(palText, "PAL code (pal/freertos + pal/wamr) stays small").toBeLessThan(16 * 1024);
    for (const c of ["WAMR", "FreeRTOS", "mbedTLS", "PAL", "agent.wasm", "total"]) split(c);
    // The module is linked as it is, in flash, and costs no RAM there.
    expect(split("agent.wasm").ram).toBe(0);
    expect(split("agent.wasm").flash).toBeGreaterThan(10);
    expect(split("total").flash, "whole image").toBeLessThan(192);
  });

  it.skipIf(!qemu)("boots on QEMU mps2-an386 to the agent's init", async () => {
    const proc = spawn("qemu-system-arm", ["-M", "mps2-an386", "-nographic", "-monitor", "none",
      "-serial", "stdio", "-kernel", elf], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let uart = "";
    try {
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`no "agent started" within 30 s; UART:\n${uart}`)), 30_000);
        const onData = (d: Buffer) => {
          uart += d.toString("utf8");
          if (/PANIC/.test(uart)) { clearTimeout(t); rej(new Error(`firmware panic; UART:\n${uart}`)); }
          // The last boot line: pool use and the agent task's stack margin.
          if (/pal: agent task stack: \d+ of \d+ bytes never used\r?\n/.test(uart)) { clearTimeout(t); res(); }
        };
        proc.stdout!.on("data", onData);
        proc.stderr!.on("data", onData);
        proc.on("exit", (code) => { clearTimeout(t); rej(new Error(`qemu exited (${code}); UART:\n${uart}`)); });
      });
    } finally {
      proc.kill("SIGKILL");
    }
    expect(uart).toMatch(/FreeRTOS V11\.2\.0 \(ARM_CM4F\)/);
    expect(uart).toMatch(/WAMR 2\.\d+\.\d+ fast interpreter/);
    // The agent's own log line, through pal.log, the PAL and the UART hook.
    expect(uart).toMatch(/INFO agent: agent started, device 00173BAB01020304/);
    expect(uart).toMatch(/pal: agent started/);
    expect(uart).toMatch(/WAMR pool: \d+ of \d+ bytes in use/);
  }, 60_000);
});
