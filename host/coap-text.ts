// One-line descriptions of CoAP datagrams for the host's log, e.g.
// "CON GET mid=5 tkn=01 /c?q=11 (0 B)". A reader for humans only, over the
// NMS side's CoAP decoder (host/nms/coap.ts): the agent has its own codec,
// and nothing here decides protocol behaviour.
import { decodeCoap, summarizeCoap } from "./nms/coap.ts";

/** The log line for one datagram; never throws. */
export function describeCoap(bytes: Uint8Array): string {
  try {
    const m = decodeCoap(bytes);
    return `${summarizeCoap(m).replace(/ \d+B$/, "")} (${m.payload.length} B)`;
  } catch {
    return `not CoAP (${bytes.length} B: ${Buffer.from(bytes.subarray(0, 8)).toString("hex")}${bytes.length > 8 ? "…" : ""})`;
  }
}
