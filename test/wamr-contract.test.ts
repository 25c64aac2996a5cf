// The PAL contract is written three times: assembly/pal.ts (what the agent
// imports), pal/include/csmp_pal.h (what a C platform implements) and the
// native symbol table in pal/wamr/natives.c (how WAMR links them). This
// checks that the three agree, name by name and parameter by parameter.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const read = (p: string) => readFileSync(join(root, p), "utf8");

interface Import { name: string; params: string[]; result: string }

/** `@external("pal", "x") export declare function pal_x(a: i32, ...): T;` */
function palImports(): Import[] {
  const re = /@external\("pal",\s*"(\w+)"\)\s*export declare function \w+\(([^)]*)\):\s*(\w+);/g;
  return [...read("assembly/pal.ts").matchAll(re)].map(([, name, params, result]) => ({
    name,
    params: params.trim() ? params.split(",").map((p) => p.split(":")[1].trim()) : [],
    result,
  }));
}

/** `<ret> csmp_pal_<name>(<params>);` from the header. */
function headerDecls(): Map<string, { result: string; params: string[] }> {
  const re = /^(void|int32_t|int64_t)\s+csmp_pal_(\w+)\(([^)]*)\);/gm;
  const out = new Map<string, { result: string; params: string[] }>();
  for (const [, result, name, params] of read("pal/include/csmp_pal.h").matchAll(re)) {
    out.set(name, { result, params: params.trim() === "void" ? [] : params.split(",").map((p) => p.trim()) });
  }
  return out;
}

/** `{ "name", (void *)fn, "(sig)r", NULL }` from the native table. */
function nativeTable(): Map<string, string> {
  const re = /\{\s*"(\w+)",\s*\(void \*\)\w+,\s*"([^"]+)",\s*NULL\s*\}/g;
  return new Map([...read("pal/wamr/natives.c").matchAll(re)].map(([, name, sig]) => [name, sig]));
}

const imports = palImports();
const header = headerDecls();
const natives = nativeTable();

describe("PAL contract: assembly/pal.ts, csmp_pal.h, natives.c", () => {
  it("lists the same imports everywhere", () => {
    expect(imports.length).toBeGreaterThanOrEqual(20);
    const names = imports.map((i) => i.name).sort();
    expect([...header.keys()].sort()).toEqual(names);
    expect([...natives.keys()].sort()).toEqual(names);
  });

  for (const imp of imports) {
    it(`${imp.name}: same parameters and result`, () => {
      const h = header.get(imp.name)!;
      const sig = natives.get(imp.name)!;
      expect(h.params.length, "header parameter count").toBe(imp.params.length);

      const wantResult = { void: "void", i32: "int32_t", i64: "int64_t" }[imp.result];
      expect(h.result, "header result").toBe(wantResult);

      const m = sig.match(/^\(([^)]*)\)(.?)$/)!;
      expect(m, `signature ${sig}`).not.toBeNull();
      const letters = [...m[1]];
      expect(letters.length, `signature ${sig} parameter count`).toBe(imp.params.length);
      expect(m[2], "signature result").toBe({ void: "", i32: "i", i64: "I" }[imp.result]);

      imp.params.forEach((t, i) => {
        const c = h.params[i];
        if (t === "usize") {
          // A pointer: "*" with its length next, or a fixed-size buffer passed
          // as an offset ("i") that the wrapper validates.
          expect(c, `param ${i} is a pointer in C`).toMatch(/\*|\[\d+\]/);
          expect(["*", "i"], `param ${i} letter`).toContain(letters[i]);
          if (letters[i] === "*") expect(letters[i + 1], "a pointer's length follows it").toBe("~");
        } else if (t === "i64") {
          expect(c).toMatch(/^int64_t /);
          expect(letters[i]).toBe("I");
        } else {
          expect(["i32", "u32"]).toContain(t);
          expect(c).toMatch(t === "u32" ? /^uint32_t / : /^int32_t /);
          expect(["i", "~"]).toContain(letters[i]);
        }
      });
    });
  }
});
