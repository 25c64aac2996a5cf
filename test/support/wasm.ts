// Loads a built agent module for codec-level tests. Codec tests exercise pure
// functions, so the only PAL calls they may cause are log and fatal; anything
// else is reported as a test failure rather than silently answered.
import { readFileSync } from "node:fs";

export interface TestModule {
  exports: Record<string, any>;
  memory: WebAssembly.Memory;
  logs: string[];
  /** Copies bytes into agent memory at ptr. */
  write(ptr: number, bytes: Uint8Array): void;
  /** Reads len bytes of agent memory at ptr. */
  read(ptr: number, len: number): Uint8Array;
}

export function loadTestModule(path = "build/agent-test.wasm"): TestModule {
  const logs: string[] = [];
  let memory!: WebAssembly.Memory;
  const text = (p: number, n: number) => Buffer.from(memory.buffer, p, n).toString("utf8");
  const pal = new Proxy({} as Record<string, Function>, {
    get(_t, name: string) {
      if (name === "log") return (_lvl: number, p: number, n: number) => logs.push(text(p, n));
      if (name === "fatal") return (p: number, n: number, l: number, c: number) => {
        throw new Error(`agent fatal: ${text(p, n)}:${l}:${c}`);
      };
      return () => { throw new Error(`codec test made an unexpected PAL call: ${name}`); };
    },
  });
  const mod = new WebAssembly.Module(readFileSync(path));
  const inst = new WebAssembly.Instance(mod, { pal });
  memory = inst.exports.memory as WebAssembly.Memory;
  return {
    exports: inst.exports as Record<string, any>,
    memory,
    logs,
    write(ptr, bytes) { new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes); },
    read(ptr, len) { return new Uint8Array(memory.buffer.slice(ptr, ptr + len)); },
  };
}
