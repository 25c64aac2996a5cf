// Properties of build/agent.wasm that the WAMR hosts depend on: only "pal"
// imports (each declared in assembly/pal.ts), only features WAMR's default
// fast interpreter accepts, one fixed 64 KiB page of memory, the size budget.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import binaryen from "binaryen";

const bytes = readFileSync("build/agent.wasm");
const mod = new WebAssembly.Module(bytes);
const declared = [...readFileSync("assembly/pal.ts", "utf8").matchAll(/@external\("pal", "(\w+)"\)/g)].map((m) => m[1]);

describe("agent.wasm", () => {
  it("imports only from module pal, only functions the PAL contract declares", () => {
    const imports = WebAssembly.Module.imports(mod);
    expect(imports.length).toBeGreaterThan(0);
    for (const i of imports) {
      expect(i.module).toBe("pal");
      expect(i.kind).toBe("function");
      expect(declared).toContain(i.name);
    }
  });

  it("uses only MVP + bulk-memory, sign-extension, mutable-globals, non-trapping float-to-int", () => {
    const m = binaryen.readBinary(bytes);
    const F = binaryen.Features;
    m.setFeatures(F.MVP | F.BulkMemory | F.BulkMemoryOpt | F.SignExt | F.MutableGlobals | F.NontrappingFPToInt);
    expect(m.validate()).toBeTruthy();
    m.dispose();
  });

  it("declares exactly one 64 KiB page of memory, initial = maximum", () => {
    const m = binaryen.readBinary(bytes);
    const info = m.getMemoryInfo("0");
    expect(info.initial).toBe(1);
    expect(info.max).toBe(1);
    m.dispose();
  });

  it("never allocates: no allocator function is reachable (stub runtime, static memory only)", () => {
    // The test build keeps function names; it is the same code plus test exports.
    const m = binaryen.readBinary(readFileSync("build/agent-test.wasm"));
    const names: string[] = [];
    for (let i = 0; i < m.getNumFunctions(); i++) names.push(binaryen.getFunctionInfo(m.getFunctionByIndex(i)).name);
    m.dispose();
    expect(names.length).toBeGreaterThan(50);
    expect(names.filter((n) => n.startsWith("~lib/rt/"))).toEqual([]);
  });

  it("fits the 32 KiB code budget", () => {
    expect(bytes.length).toBeLessThanOrEqual(32 * 1024);
  });
});
