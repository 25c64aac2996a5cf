// AssemblyScript's abort() routed into the PAL. Left alone, asc would import
// env.abort, which clashes with WAMR's built-in libc "env.abort (i)".
import { pal_fatal } from "../pal";

// Room for the message; abort may run when the heap is exhausted, so the
// message is narrowed into static memory instead of allocating.
const FATAL_CAP: i32 = 96;
const fatalText = memory.data(FATAL_CAP);

function narrow(text: usize, at: i32): i32 {
  if (text == 0) return at;
  // A managed string's byte length is stored 4 bytes before its data.
  const units = <i32>(load<u32>(text - 4) >> 1);
  for (let i = 0; i < units && at < FATAL_CAP; i++, at++) {
    const c = load<u16>(text + (<usize>i << 1));
    store<u8>(fatalText + at, c < 0x80 ? <u8>c : 0x3f);
  }
  return at;
}

export function agentAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let n = narrow(changetype<usize>(message), 0);
  if (n < FATAL_CAP) store<u8>(fatalText + n++, 0x40); // '@'
  n = narrow(changetype<usize>(fileName), n);
  pal_fatal(fatalText, n, line, column);
  unreachable();
}
