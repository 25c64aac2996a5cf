// Device configuration: the key=value text a host hands to agent_init (format
// in docs/device-config.md). The text stays in configBuf and the parsed
// values are views into it, so the agent's identity costs no heap.
import { viewEq, viewStarts, viewDecimal, hexDecode } from "../util/text";
import { ipv6Parse } from "../util/ipv6";
import { logBegin, logText, logU, logBytes, logEnd, LOG_ERROR } from "../runtime/log";
import { parseCoapUrl, urlAddr, urlPort } from "../csmp/url";

export const CONFIG_CAP: i32 = 2048;
export const configBuf = memory.data(CONFIG_CAP);

export const CONFIG_BAD_LINE: i32 = -1;
export const CONFIG_MISSING_EUI64: i32 = -2;
export const CONFIG_TOO_LONG: i32 = -3;

// ---- parsed values ----------------------------------------------------------

/** EUI-64 bytes, and as the 16-character uppercase hex text DeviceID carries (as FND expects). */
export const eui64 = memory.data(8);
export const eui64Text = memory.data(16);
export let eui64Set = false;

/** CoAP payload budget for one answer. */
export let mtu: i32 = 1024;

/** NMS address and port (from nms.url). */
export const nmsAddr = memory.data(16);
export let nmsPort: i32 = 61629;
/** NMS public key, 65 bytes uncompressed, when nmsKeySet. */
export const nmsKey = memory.data(65);
export let nmsKeySet = false;

// HardwareDesc text fields, in the order of HW_TEXT_KEYS: (ptr, len) pairs.
export const HW_DESCR = 0;
export const HW_NAME = 1;
export const HW_HWREV = 2;
export const HW_FWREV = 3;
export const HW_SWREV = 4;
export const HW_SERIAL = 5;
export const HW_MFG = 6;
export const HW_MODEL = 7;
export const HW_ASSETID = 8;
export const HW_URIS = 9;
export const HW_OUI = 10;        // bytes
export const HW_VENDORTYPE = 11; // bytes
const HW_VIEWS = 12;
export const hwViews = memory.data(HW_VIEWS * 8);
// HardwareDesc numbers: class, function, mfgdate; -1 = absent.
export let hwClass: i64 = -1;
export let hwFunction: i64 = -1;
export let hwMfgDate: i64 = -1;

// InterfaceDesc rows 1..MAX_IFS: name view, descr view, phys view, type, mtu.
export const MAX_IFS = 4;
const IF_ROW = 40;
export const ifRows = memory.data(MAX_IFS * IF_ROW);
@inline export function ifRow(i: i32): usize { return ifRows + <usize>(i * IF_ROW); }
// Row layout: +0 present u32, +4 name(ptr,len), +12 descr, +20 phys, +28 type i32 (-1 absent), +32 mtu i32 (-1 absent)

// IPAddress rows 1..MAX_IPS: address bytes and fields.
export const MAX_IPS = 8;
const IP_ROW = 40;
export const ipRows = memory.data(MAX_IPS * IP_ROW);
@inline export function ipRow(i: i32): usize { return ipRows + <usize>(i * IP_ROW); }
// Row layout: +0 present u32, +4 addr[16], +20 ifIndex, +24 pfxLen, +28 origin, +32 status, +36 type

// ---- parsing ------------------------------------------------------------------

let lineNo = 0;

function fail(reason: usize, ptr: usize, len: i32): i32 {
  logBegin(); logText(A("config line ")); logU(lineNo); logText(A(": ")); logText(reason);
  if (len > 0) { logText(A(": ")); logBytes(ptr, len < 48 ? len : 48); }
  logEnd(LOG_ERROR);
  return CONFIG_BAD_LINE;
}

function resetConfig(): void {
  eui64Set = false;
  mtu = 1024;
  nmsKeySet = false;
  memory.fill(nmsAddr, 0, 16);
  store<u8>(nmsAddr, 1, 15); // ::1
  nmsPort = 61629;
  memory.fill(hwViews, 0, HW_VIEWS * 8);
  hwClass = -1; hwFunction = -1; hwMfgDate = -1;
  memory.fill(ifRows, 0, MAX_IFS * IF_ROW);
  memory.fill(ipRows, 0, MAX_IPS * IP_ROW);
}

/** Parses len bytes of configuration text in configBuf. Returns 0 or a CONFIG_* code (reason logged). */
export function applyConfig(len: i32): i32 {
  if (len < 0 || len > CONFIG_CAP) {
    logBegin(); logText(A("config: ")); logU(<u64>len); logText(A(" bytes exceed the buffer")); logEnd(LOG_ERROR);
    return CONFIG_TOO_LONG;
  }
  resetConfig();
  let p = configBuf;
  const end = configBuf + len;
  lineNo = 0;
  while (p < end) {
    lineNo++;
    let e = p;
    while (e < end && load<u8>(e) != 0x0a) e++;
    let lineEnd = e;
    if (lineEnd > p && load<u8>(lineEnd - 1) == 0x0d) lineEnd--;
    if (lineEnd > p && load<u8>(p) != 0x23) {
      let eq = p;
      while (eq < lineEnd && load<u8>(eq) != 0x3d) eq++;
      if (eq == lineEnd) return fail(A("expected key=value"), p, <i32>(lineEnd - p));
      const rc = applyLine(p, <i32>(eq - p), eq + 1, <i32>(lineEnd - eq - 1));
      if (rc != 0) return rc;
    }
    p = e + 1;
  }
  if (!eui64Set) {
    logBegin(); logText(A("config: eui64 is required")); logEnd(LOG_ERROR);
    return CONFIG_MISSING_EUI64;
  }
  return 0;
}

function setView(at: usize, ptr: usize, len: i32): void {
  store<u32>(at, <u32>ptr);
  store<i32>(at, len, 4);
}

/** Index from "if.N." / "ip.N." keys (N = 1..max), or -1. */
function rowIndex(key: usize, keyLen: i32, max: i32): i32 {
  if (keyLen < 6 || load<u8>(key + 4) != 0x2e) return -1;
  const n = <i32>load<u8>(key + 3) - 0x30;
  return n >= 1 && n <= max ? n - 1 : -1;
}

function applyLine(k: usize, kl: i32, v: usize, vl: i32): i32 {
  if (viewEq(k, kl, A("eui64"))) {
    if (vl != 16 || hexDecode(v, vl, eui64, 8) != 8) return fail(A("eui64 needs 16 hex digits"), v, vl);
    for (let i = 0; i < 16; i++) {
      let c = load<u8>(v + i);
      if (c >= 0x61) c -= 0x20;
      store<u8>(eui64Text + i, c);
    }
    eui64Set = true;
    return 0;
  }
  if (viewEq(k, kl, A("mtu"))) {
    const n = viewDecimal(v, vl);
    if (n < 128 || n > 1152) return fail(A("mtu must be 128..1152"), v, vl);
    mtu = <i32>n;
    return 0;
  }
  if (viewEq(k, kl, A("nms.url"))) {
    if (!parseCoapUrl(v, vl)) return fail(A("nms.url must be coap://[ipv6]:port"), v, vl);
    memory.copy(nmsAddr, urlAddr, 16);
    nmsPort = urlPort;
    return 0;
  }
  if (viewEq(k, kl, A("nms.key"))) {
    if (vl != 130 || hexDecode(v, vl, nmsKey, 65) != 65 || load<u8>(nmsKey) != 4) {
      return fail(A("nms.key needs 130 hex digits of an uncompressed P-256 point (04...)"), v, vl);
    }
    nmsKeySet = true;
    return 0;
  }
  if (viewStarts(k, kl, A("hw."))) return applyHardware(k + 3, kl - 3, v, vl);
  if (viewStarts(k, kl, A("if."))) return applyInterface(k, kl, v, vl);
  if (viewStarts(k, kl, A("ip."))) return applyAddress(k, kl, v, vl);
  return fail(A("unknown key"), k, kl);
}

function applyHardware(k: usize, kl: i32, v: usize, vl: i32): i32 {
  let slot = -1;
  if (viewEq(k, kl, A("descr"))) slot = HW_DESCR;
  else if (viewEq(k, kl, A("name"))) slot = HW_NAME;
  else if (viewEq(k, kl, A("hwrev"))) slot = HW_HWREV;
  else if (viewEq(k, kl, A("fwrev"))) slot = HW_FWREV;
  else if (viewEq(k, kl, A("swrev"))) slot = HW_SWREV;
  else if (viewEq(k, kl, A("serial"))) slot = HW_SERIAL;
  else if (viewEq(k, kl, A("mfg"))) slot = HW_MFG;
  else if (viewEq(k, kl, A("model"))) slot = HW_MODEL;
  else if (viewEq(k, kl, A("assetid"))) slot = HW_ASSETID;
  else if (viewEq(k, kl, A("uris"))) slot = HW_URIS;
  if (slot >= 0) { setView(hwViews + slot * 8, v, vl); return 0; }
  if (viewEq(k, kl, A("oui")) || viewEq(k, kl, A("vendortype"))) {
    const n = hexDecode(v, vl, v, vl); // in place: bytes never outrun their hex text
    if (n < 0) return fail(A("expected hex bytes"), v, vl);
    setView(hwViews + (viewEq(k, kl, A("oui")) ? HW_OUI : HW_VENDORTYPE) * 8, v, n);
    return 0;
  }
  const n = viewDecimal(v, vl);
  if (n < 0) return fail(A("expected a decimal number"), v, vl);
  if (viewEq(k, kl, A("class"))) hwClass = n;
  else if (viewEq(k, kl, A("function"))) hwFunction = n;
  else if (viewEq(k, kl, A("mfgdate"))) hwMfgDate = n;
  else return fail(A("unknown hardware key"), k, kl);
  return 0;
}

function applyInterface(k: usize, kl: i32, v: usize, vl: i32): i32 {
  const i = rowIndex(k, kl, MAX_IFS);
  if (i < 0) return fail(A("interface index must be 1..4"), k, kl);
  const row = ifRow(i);
  if (load<u32>(row) == 0) { store<u32>(row, 1); store<i32>(row, -1, 28); store<i32>(row, -1, 32); }
  const f = k + 5, fl = kl - 5;
  if (viewEq(f, fl, A("name"))) setView(row + 4, v, vl);
  else if (viewEq(f, fl, A("descr"))) setView(row + 12, v, vl);
  else if (viewEq(f, fl, A("phys"))) {
    const n = hexDecode(v, vl, v, vl);
    if (n < 0) return fail(A("expected hex bytes"), v, vl);
    setView(row + 20, v, n);
  } else {
    const n = viewDecimal(v, vl);
    if (n < 0 || n > 0x7fffffff) return fail(A("expected a decimal number"), v, vl);
    if (viewEq(f, fl, A("type"))) store<i32>(row, <i32>n, 28);
    else if (viewEq(f, fl, A("mtu"))) store<i32>(row, <i32>n, 32);
    else return fail(A("unknown interface key"), k, kl);
  }
  return 0;
}

function applyAddress(k: usize, kl: i32, v: usize, vl: i32): i32 {
  const i = rowIndex(k, kl, MAX_IPS);
  if (i < 0) return fail(A("address index must be 1..8"), k, kl);
  const row = ipRow(i);
  if (load<u32>(row) == 0) {
    // Defaults: interface 1, /64, manual, preferred, unicast.
    store<u32>(row, 1); store<i32>(row, 1, 20); store<i32>(row, 64, 24);
    store<i32>(row, 2, 28); store<i32>(row, 1, 32); store<i32>(row, 1, 36);
  }
  const f = k + 5, fl = kl - 5;
  if (viewEq(f, fl, A("addr"))) {
    if (!ipv6Parse(v, vl, row + 4)) return fail(A("expected an IPv6 address"), v, vl);
    return 0;
  }
  const n = viewDecimal(v, vl);
  if (n < 0 || n > 0x7fffffff) return fail(A("expected a decimal number"), v, vl);
  if (viewEq(f, fl, A("if"))) store<i32>(row, <i32>n, 20);
  else if (viewEq(f, fl, A("pfxlen"))) store<i32>(row, <i32>n, 24);
  else if (viewEq(f, fl, A("origin"))) store<i32>(row, <i32>n, 28);
  else if (viewEq(f, fl, A("status"))) store<i32>(row, <i32>n, 32);
  else if (viewEq(f, fl, A("type"))) store<i32>(row, <i32>n, 36);
  else return fail(A("unknown address key"), k, kl);
  return 0;
}
