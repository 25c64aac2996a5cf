// The structure-aware fuzzer (host/fuzz/) against the built agent: a quick
// seeded campaign, the oracle's own sanity, and the replay of every failing
// input a long campaign (`npm run fuzz -- --count N`) saved under
// test/fuzz-regressions/.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { compileAgent } from "../host/agent.ts";
import { runCampaign, replay, newTarget, runStep, signer, type Failure, type Step } from "../host/fuzz/campaign.ts";
import { Oracle } from "../host/fuzz/oracle.ts";
import { loadRegressions } from "../host/fuzz/regressions.ts";
import { loadVectors } from "../host/fuzz/vectors.ts";
import { toHex } from "../host/fuzz/bytes.ts";
import { encodeCoap, get, post, CoapType } from "../host/nms/coap.ts";
import { encodeTlvs } from "../host/nms/tlv.ts";

const WASM = compileAgent(readFileSync(process.env.AGENT_WASM ?? "build/agent.wasm"));
const VECTORS = loadVectors();
const REGRESSIONS = new URL("./fuzz-regressions/", import.meta.url).pathname;
const QUICK_SEED = 20261128;
const QUICK_COUNT = 4000;

function explain(failures: readonly Failure[]): string {
  return failures.map((f) => {
    const last = f.steps[f.steps.length - 1];
    return `input ${f.index} (seed ${f.seed}; ${last.note}):\n  ${f.violations.join("\n  ")}\n  bytes ${last.hex}\n  log: ${f.log.slice(-5).join(" / ")}`;
  }).join("\n");
}

describe("fuzzing the agent through agent_datagram", () => {
  it(`survives ${QUICK_COUNT} seeded mutated and generated inputs (seed ${QUICK_SEED})`, () => {
    const t0 = performance.now();
    const r = runCampaign({ wasm: WASM, seed: QUICK_SEED, count: QUICK_COUNT, images: VECTORS.images, captured: VECTORS.captured, maxFailures: 3 });
    const s = (performance.now() - t0) / 1000;
    console.log(`fuzz: ${r.inputs} inputs in ${s.toFixed(1)} s, ${r.stateChanges} changed state, ${Object.keys(r.kinds).length} input kinds`);
    expect(r.failures, explain(r.failures)).toEqual([]);
    expect(r.inputs).toBe(QUICK_COUNT);
    // The campaign reaches every layer: captures, headers, DER, protobuf, and valid signed changes.
    const kinds = Object.keys(r.kinds).join("\n");
    for (const k of ["FND capture", "raw header", "signature DER", "repeated", "nesting", "varint overflow", "answer to the device", "duplicate"]) expect(kinds).toContain(k);
    expect(r.stateChanges).toBeGreaterThan(10);
  });
});

describe("the oracle notices what it must", () => {
  // Hand-made observations around a real target, so each rule is seen to bite.
  const target = newTarget(WASM, 1, VECTORS.images);
  const state = target.snapshot()!;
  const base = {
    atMs: 0, delivered: true, fatal: null, bootsBefore: 1, bootsAfter: 1, memoryBytes: 65536,
    stateBefore: state, stateAfter: state, nowS: target.nowS(), sent: [],
  };
  const con = { to: "unicast" as const, from: "nms" as const, srcPort: 1234, bytes: encodeCoap({ ...get("/c", ["q=7"]), mid: 7 }) };

  it("a CON without an answer, a trap, memory growth", () => {
    const v = new Oracle(signer).check({ ...base, input: con, fatal: "trap: unreachable", memoryBytes: 131072 });
    expect(v.join("\n")).toMatch(/agent died/);
    expect(v.join("\n")).toMatch(/not one 64 KiB page/);
    expect(v.join("\n")).toMatch(/CON got no answer/);
  });

  it("a state change without a valid signature", () => {
    const unsigned = encodeCoap({ ...post("/c", encodeTlvs([{ type: "NMSSettings", value: { regIntervalMax: 7 } }])), mid: 8 });
    const other = Uint8Array.from(state);
    other[other.length - 1] ^= 1;
    const v = new Oracle(signer).check({ ...base, input: { ...con, bytes: unsigned, to: "multicast" }, stateAfter: other });
    expect(v.join("\n")).toMatch(/state changed by a message without a valid NMS signature/);
    const signedPost = encodeCoap({ ...post("/c", signer.signPayload(encodeTlvs([{ type: "NMSSettings", value: { regIntervalMax: 7 } }]), target.validity())), mid: 9, type: CoapType.NonConfirmable });
    expect(new Oracle(signer).check({ ...base, input: { ...con, bytes: signedPost }, stateAfter: other })).toEqual([]);
  });

  it("a real signed POST passes every rule end to end", () => {
    const payload = signer.signPayload(encodeTlvs([{ type: "NMSSettings", value: { regIntervalMax: 7000 } }]), target.validity());
    const step: Step = { atMs: 0, to: "unicast", from: "nms", srcPort: 2345, hex: toHex(encodeCoap({ ...post("/c", payload), mid: 10 })) };
    const r = runStep(target, new Oracle(signer), step);
    expect(r).toEqual({ violations: [], stateChanged: true });
  });
});

describe("saved fuzz regressions replay cleanly", () => {
  const saved = loadRegressions(REGRESSIONS);
  it("the regression directory parses", () => {
    for (const { file } of saved) expect(file.steps.length).toBeGreaterThan(0);
  });
  for (const { name, file } of saved) {
    const title = `${name}: ${file.description}${file.open ? ` [open: ${file.open}]` : ""}`;
    const body = (): void => {
      const r = replay(WASM, file.targetSeed, file.steps, file.images ? VECTORS.images : undefined);
      expect(r.violations, `step ${r.index}`).toEqual([]);
    };
    // An open (known, unfixed) agent bug is expected to fail; see RegressionFile.open.
    if (file.images && !VECTORS.images) it.skip(title, body);
    else if (file.open) it.fails(title, body);
    else it(title, body);
  }
});
