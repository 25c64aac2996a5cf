// The TypeScript of the Node host, the simulated NMS, the tools and these
// tests is checked by the compiler (tsconfig.json, strict): tsx and vitest
// only strip types, so a wrong type would otherwise pass unnoticed (one did:
// a precedence slip in a firmware test's bitmap check).
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("types", () => {
  it("tsc --noEmit finds no error in host/, test/ and scripts/", () => {
    let output = "";
    try {
      execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      output = `${err.stdout ?? ""}${err.stderr ?? ""}`.trim() || String(e);
    }
    expect(output).toBe("");
  }, 180_000);
});
