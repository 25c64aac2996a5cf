// What the simulated NMS does, as lines a person reads in a log: one headline
// per registration, report and device event, with the TLVs underneath in
// describe.ts's form. Signing TLVs are summarised (who cares about r and s).
import { codeText } from "./coap.ts";
import { describeTlv } from "./describe.ts";
import type { EventRecord } from "./inventory.ts";
import type { DeviceEventEvent, RegistrationEvent, ReportEvent } from "./sim.ts";
import type { Tlv } from "./tlv.ts";

const REG_REASONS: Readonly<Record<number, string>> = {
  1: "coldstart", 2: "administrative", 3: "IP address changed", 4: "NMS changed", 5: "redirect", 6: "NMS error",
  7: "certificate changed", 8: "outage recovery",
};

/**
 * Event codes of the OpenCSMP agent (assembly/csmp/events.ts), under the
 * enterprise number it is configured with; other vendors' codes print as
 * numbers.
 */
const OPENCSMP_EVENTS: Readonly<Record<number, string>> = {
  1: "power outage", 2: "power restored", 3: "tamper", 4: "join lost", 5: "join regained", 6: "IP address changed",
  7: "storage failure", 8: "signature rejected", 9: "registration refused", 10: "firmware result", 11: "parent changed",
};

function iso(posix: number): string {
  return new Date(posix * 1000).toISOString().replace(".000Z", "Z");
}

/** TLV lines, indented, with the signing TLVs folded into one. */
export function tlvLines(tlvs: readonly Tlv[], indent = "  "): string[] {
  const out: string[] = [];
  for (const t of tlvs) {
    if (t.type === 77) continue;
    if (t.type === 76 && !(t.value instanceof Uint8Array)) {
      const v = t.value as { notBefore?: number; notAfter?: number };
      const signed = tlvs.some((x) => x.type === 77);
      out.push(`${indent}(${signed ? "signed" : "SignatureValidity"}${v.notBefore !== undefined ? `, valid ${iso(v.notBefore)}` : ""}${v.notAfter !== undefined ? ` .. ${iso(v.notAfter)}` : ""})`);
      continue;
    }
    out.push(`${indent}${describeTlv(t)}`);
  }
  return out;
}

function who(eui64: string | null, from: { address: string; port: number }): string {
  return `${eui64 ?? "unknown device"} at [${from.address}]:${from.port}`;
}

export function registrationLines(e: RegistrationEvent): string[] {
  const reason = e.lastRegReason === undefined ? "" : `, reason ${REG_REASONS[e.lastRegReason] ?? e.lastRegReason}`;
  const attempt = e.device ? ` (attempt ${e.device.registrationAttempts}${reason})` : reason ? ` (${reason.slice(2)})` : "";
  const head = `registration from ${who(e.eui64, e.from)}${attempt}`;
  switch (e.outcome) {
    case "registered": {
      const what = e.answer.filter((t) => t.type !== 76 && t.type !== 77).length ? "" : ", nothing to change";
      return [`${head}: 2.03 Valid, session ${e.device!.sessionId}${what}`, ...tlvLines(e.answer)];
    }
    case "redirected":
      return [`${head}: 2.03 Valid with a redirect`, ...tlvLines(e.answer)];
    case "dropped":
      return [`${head}: dropped on purpose (no answer)`];
    case "malformed":
      return [`${head}: malformed${e.code === null ? "" : `, answered ${codeText(e.code)}`}`];
    default:
      return [`${head}: refused ${codeText(e.code!)} (${e.outcome})`];
  }
}

export function reportLines(e: ReportEvent): string[] {
  const kind = e.answered ? "asynchronous answer" : "report";
  const count = e.device ? ` #${e.device.reports}` : "";
  return [`${kind}${count} from ${who(e.device?.eui64 ?? null, e.from)}, ${e.tlvs.length} TLVs`, ...tlvLines(e.tlvs)];
}

export function eventText(ev: EventRecord): string {
  const code = ev.id.code;
  const name = code !== undefined && OPENCSMP_EVENTS[code] ? ` ${OPENCSMP_EVENTS[code]}` : "";
  const parts = [`code ${code ?? "?"}${name}`];
  if (ev.id.ianaen) parts.push(`enterprise ${ev.id.ianaen}`);
  if (ev.seqIndex !== undefined) parts.push(`seq ${ev.seqIndex}`);
  if (ev.timestamp !== undefined) parts.push(`at ${iso(ev.timestamp)}`);
  if (ev.relatedTlvIds.length) parts.push(`related TLVs ${ev.relatedTlvIds.join(",")}`);
  return parts.join(", ");
}

export function deviceEventLine(e: DeviceEventEvent): string {
  return `event from ${e.device.eui64}: ${eventText(e.event)}`;
}
