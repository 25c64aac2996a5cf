// The pass criteria, checked for every input:
// - the agent survives: no trap or pal.fatal, no restart, memory stays one page;
// - everything it sends is well-formed CoAP (the NMS's independent decoder);
// - answers follow RFC 7252: a unicast CON gets exactly one ACK or RST with
//   its message ID (a piggybacked answer echoes the token; a format error
//   gets RST), a NON gets no ACK, ACK/RST/unparsable datagrams get nothing,
//   and a multicast NON never gets a RST (section 8.1);
// - state does not change unless the input carries a valid NMS signature (or
//   the device's SignatureSettings no longer require one) and was not
//   refused: the device's own answer to GET /c?q=13+42+58+79+7 stays byte for
//   byte the same;
// - a duplicate (same source, port, message ID, bytes) changes nothing and a
//   duplicate CON gets the same answer as the first copy (section 4.5); for a
//   GET, which is answered afresh, the same type, code, message ID and token.
import { formatAddress } from "../ipv6.ts";
import { CoapFormatError, CoapType, decodeCoap, isRequestCode, type CoapMessage } from "../nms/coap.ts";
import { validlySigned } from "./signature-check.ts";
import { decodeTlvs } from "../nms/tlv.ts";
import { bytesEqual, toHex } from "./bytes.ts";
import type { DeterministicSigner } from "./p256-signer.ts";
import { DEVICE_PORT, NMS_ADDR, OTHER_ADDR, type FuzzInput, type SentDatagram } from "./target.ts";

/** CoAP code 0.01. */
const GET_CODE = 1;

/** A datagram's type, code, message ID and token: what a fresh answer to the same GET repeats. */
function envelope(d: Uint8Array): Uint8Array {
  return d.subarray(0, 4 + (d[0] & 0x0f));
}

/** RFC 7252 EXCHANGE_LIFETIME: how long a message ID counts as a duplicate. */
const EXCHANGE_LIFETIME_MS = 247_000;
const ONE_PAGE = 65536;

export interface Observation {
  input: FuzzInput;
  atMs: number;
  sent: SentDatagram[];
  delivered: boolean;
  fatal: string | null;
  bootsBefore: number;
  bootsAfter: number;
  memoryBytes: number | null;
  stateBefore: Uint8Array | null;
  stateAfter: Uint8Array | null;
  /** POSIX seconds at delivery (for the signature window). */
  nowS: number;
  /** Set when time stopped moving before the input (a 0 ms timer loop). */
  storm?: string | null;
}

interface Seen {
  atMs: number;
  bytes: Uint8Array;
  answers: Uint8Array[];
}

/** Tracks what came before within one episode (duplicates, message ID reuse). */
export class Oracle {
  private readonly seen = new Map<string, Seen>();
  private previousKey: string | null = null;

  constructor(private readonly signer: DeterministicSigner) {}

  check(o: Observation): string[] {
    const v: string[] = [];
    if (o.fatal !== null) v.push(`agent died: ${o.fatal}`);
    if (o.storm) v.push(o.storm);
    if (o.bootsAfter !== o.bootsBefore) v.push(`agent restarted (boots ${o.bootsBefore} -> ${o.bootsAfter})`);
    if (o.memoryBytes !== ONE_PAGE) v.push(`linear memory is ${o.memoryBytes} bytes, not one 64 KiB page`);
    if (o.delivered === false && o.input.bytes.length <= 1280) v.push("the host could not deliver the datagram (agent down?)");
    v.push(...malformedSent(o.sent));
    if (o.stateBefore === null || o.stateAfter === null) v.push("state snapshot GET was not answered");

    const bytes = o.input.bytes;
    const header = bytes.length >= 4 && bytes[0] >> 6 === 1 ? { type: (bytes[0] >> 4) & 3, mid: (bytes[2] << 8) | bytes[3] } : null;
    const answers = answersTo(o.input, o.sent);
    const key = header ? `${o.input.from}|${o.input.srcPort}|${header.mid}` : null;
    const earlier = key ? this.seen.get(key) : undefined;
    const reused = earlier !== undefined && o.atMs - earlier.atMs < EXCHANGE_LIFETIME_MS;
    const duplicate = reused && key === this.previousKey && bytesEqual(earlier!.bytes, bytes);
    v.push(...answerRules(o.input, header, answers, reused));

    if (duplicate && o.input.to === "unicast" && header!.type === CoapType.Confirmable) {
      // A GET is answered afresh (its values may have moved: uptime, counters),
      // so only its envelope must repeat; anything else replays byte for byte.
      const seenAs = bytes[1] === GET_CODE ? envelope : (d: Uint8Array) => d;
      const same = earlier!.answers.length === answers.length && earlier!.answers.every((a, i) => bytesEqual(seenAs(a), seenAs(answers[i].payload)));
      if (!same) v.push(`duplicate CON answered differently: first ${earlier!.answers.map(toHex).join(",") || "nothing"}, now ${answers.map((a) => toHex(a.payload)).join(",") || "nothing"}`);
    }
    if (o.stateBefore && o.stateAfter && !bytesEqual(o.stateBefore, o.stateAfter)) {
      // A signed POST may have turned reqSignedPost off; from then on the
      // device rightly applies what is not (validly) signed.
      const unsigned = signingRequired(o.stateBefore) && !this.validlySigned(bytes, o.nowS);
      const why = duplicate ? "a duplicate" : refused(header, answers) ? "a refused message" : unsigned ? "a message without a valid NMS signature" : null;
      if (why) v.push(`state changed by ${why}: ${describeState(o.stateBefore)} -> ${describeState(o.stateAfter)}`);
    }
    if (key) {
      if (!duplicate) this.seen.set(key, { atMs: o.atMs, bytes, answers: answers.map((a) => a.payload) });
      this.previousKey = key;
    } else {
      this.previousKey = null;
    }
    return v;
  }

  /** Whether the payload verifies as FND-signed with the trusted key, inside its window, now. */
  private validlySigned(bytes: Uint8Array, nowS: number): boolean {
    let m: CoapMessage;
    try {
      m = decodeCoap(bytes);
    } catch {
      return false;
    }
    return m.payload.length > 0 && validlySigned(m.payload, this.signer.publicKey, nowS);
  }
}

/** Datagrams the agent sent that the NMS's decoder refuses. */
function malformedSent(sent: readonly SentDatagram[]): string[] {
  const out: string[] = [];
  for (const d of sent) {
    try {
      decodeCoap(d.payload);
    } catch (e) {
      out.push(`agent sent malformed CoAP to [${formatAddress(d.dst)}]:${d.dstPort}: ${(e as Error).message} (${toHex(d.payload)})`);
    }
  }
  return out;
}

/** What went back to the input's source that answers it (not the device's own requests). */
function answersTo(input: FuzzInput, sent: readonly SentDatagram[]): { message: CoapMessage; payload: Uint8Array }[] {
  const src = input.from === "nms" ? NMS_ADDR : OTHER_ADDR;
  const out: { message: CoapMessage; payload: Uint8Array }[] = [];
  for (const d of sent) {
    if (d.dstPort !== input.srcPort || formatAddress(d.dst) !== src || d.srcPort !== DEVICE_PORT) continue;
    try {
      const m = decodeCoap(d.payload);
      if (!isRequestCode(m.code)) out.push({ message: m, payload: d.payload });
    } catch {
      // reported by malformedSent
    }
  }
  return out;
}

function answerRules(input: FuzzInput, header: { type: number; mid: number } | null, answers: { message: CoapMessage }[], reused: boolean): string[] {
  const v: string[] = [];
  const seen = answers.map((a) => `${["CON", "NON", "ACK", "RST"][a.message.type]} ${a.message.code >> 5}.${a.message.code & 31} mid ${a.message.mid}`).join("; ");
  if (!header) {
    if (answers.length) v.push(`answered a datagram that is not CoAP version 1 (${seen})`);
    return v;
  }
  const { type, mid } = header;
  if (type === CoapType.Acknowledgement || type === CoapType.Reset) {
    if (answers.length) v.push(`answered an ${type === CoapType.Reset ? "RST" : "ACK"} (${seen})`);
    return v;
  }
  if (answers.length > 1) v.push(`${answers.length} answers to one message (${seen})`);
  for (const { message: a } of answers) {
    if (type === CoapType.NonConfirmable && a.type === CoapType.Acknowledgement) v.push(`ACK to a NON (${seen})`);
    if (input.to === "multicast" && type === CoapType.NonConfirmable && a.type === CoapType.Reset) v.push("RST to a multicast NON (RFC 7252 8.1)");
    if (a.type === CoapType.Acknowledgement || a.type === CoapType.Reset) {
      if (a.mid !== mid) v.push(`${a.type === CoapType.Reset ? "RST" : "ACK"} with message ID ${a.mid}, request had ${mid}`);
    }
  }
  if (type !== CoapType.Confirmable || input.to !== "unicast") return v;
  // A unicast CON: exactly one ACK or RST (a reused message ID may be a duplicate the device drops).
  if (answers.length === 0 && !reused) v.push("CON got no answer (RFC 7252 4.2: ACK or RST)");
  const a = answers[0]?.message;
  if (!a) return v;
  if (a.type !== CoapType.Acknowledgement && a.type !== CoapType.Reset) v.push(`CON answered by ${["CON", "NON"][a.type]} instead of ACK or RST`);
  let request: CoapMessage | null = null;
  try {
    request = decodeCoap(input.bytes);
  } catch (e) {
    if (e instanceof CoapFormatError && a.type !== CoapType.Reset) v.push(`format error (${e.message}) answered by ${seen}, not RST`);
  }
  if (request && a.type === CoapType.Acknowledgement && a.code !== 0 && !bytesEqual(a.token, request.token)) {
    v.push(`piggybacked answer token ${toHex(a.token)}, request token ${toHex(request.token)}`);
  }
  return v;
}

/** The device said no: RST, or a 4.xx/5.xx answer. */
function refused(header: { type: number } | null, answers: { message: CoapMessage }[]): boolean {
  if (!header) return true;
  return answers.some((a) => a.message.type === CoapType.Reset || a.message.code >> 5 >= 4);
}

/** Whether the device's SignatureSettings in a state snapshot require signed POSTs (default: yes). */
function signingRequired(state: Uint8Array): boolean {
  try {
    const settings = decodeTlvs(state.subarray(1)).find((t) => t.name === "SignatureSettings")?.value as { reqSignedPost?: boolean } | undefined;
    return settings?.reqSignedPost !== false;
  } catch {
    return true;
  }
}

/** A state snapshot for a failure message: code and TLVs. */
export function describeState(s: Uint8Array): string {
  try {
    const tlvs = decodeTlvs(s.subarray(1));
    return `${s[0] >> 5}.${String(s[0] & 31).padStart(2, "0")} ${JSON.stringify(tlvs.map((t) => [t.name, t.value instanceof Uint8Array ? toHex(t.value) : t.value]), (_k, x) => (x instanceof Uint8Array ? toHex(x) : x))}`;
  } catch {
    return toHex(s);
  }
}
