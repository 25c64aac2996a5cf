// CoAP URLs as CSMP uses them for the NMS (configuration, NMSRedirectRequest,
// the `r` query option): coap://[ipv6]:port/path (RFC 7252 section 6.1).
// Host names are refused: a device has no resolver to give them to.
import { ipv6Parse } from "../util/ipv6";
import { parseDecimal, decimalEnd, viewStarts } from "../util/text";

export const COAP_DEFAULT_PORT: i32 = 5683;
export const CSMP_PORT: i32 = 61628;

export const urlAddr = memory.data(16);
export let urlPort: i32 = CSMP_PORT;
/** The path after the authority ("" or "/..."), a view into the parsed text. */
export let urlPathPtr: usize = 0;
export let urlPathLen: i32 = 0;

/** Parses a coap:// URL; the port defaults to CSMP's 61628. */
export function parseCoapUrl(ptr: usize, len: i32): bool {
  if (!viewStarts(ptr, len, A("coap://["))) return false;
  const end = ptr + len;
  let p = ptr + 8;
  const host = p;
  while (p < end && load<u8>(p) != 0x5d) p++;
  if (p == end || !ipv6Parse(host, <i32>(p - host), urlAddr)) return false;
  p++;
  urlPort = CSMP_PORT;
  if (p < end && load<u8>(p) == 0x3a) {
    const port = parseDecimal(p + 1, end);
    if (port < 1 || port > 65535) return false;
    urlPort = <i32>port;
    p = decimalEnd;
  }
  if (p < end && load<u8>(p) != 0x2f) return false;
  urlPathPtr = p;
  urlPathLen = <i32>(end - p);
  return true;
}
