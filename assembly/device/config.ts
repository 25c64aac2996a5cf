// Device configuration: the key=value text a host hands to agent_init (and
// later updates through agent_config_update), format in
// docs/device-config.md. Identity and status keys fill the TLV structs they
// describe directly (HardwareDesc, InterfaceDesc rows, IPAddress rows,
// WPANStatus, RPLSettings, DHCP6ClientStatus): text values are views into
// configBuf, which the agent keeps, so nothing is copied.
import {
  HardwareDesc, HardwareDesc_SIZE, InterfaceDesc, InterfaceDesc_SIZE, IPAddress, IPAddress_SIZE,
  WPANStatus, WPANStatus_SIZE, RPLSettings, RPLSettings_SIZE, DHCP6ClientStatus, DHCP6ClientStatus_SIZE,
} from "../generated/csmp";
import { pbFindField, pbFieldSlot, pbSetHas, pbFieldIndex } from "../proto/codec";
import { viewEq, viewStarts, viewDecimal, hexDecode, parseDecimal, decimalEnd, bytesEqual } from "../util/text";
import { ipv6Parse } from "../util/ipv6";
import { logBegin, logText, logU, logBytes, logEnd, LOG_ERROR } from "../runtime/log";
import { parseCoapUrl, urlAddr, urlPort, urlPathLen } from "../csmp/url";
import { setEventPen } from "../csmp/events";

export const CONFIG_CAP: i32 = 2048;
export const configBuf = memory.data(CONFIG_CAP);

export const CONFIG_BAD_LINE: i32 = -1;
export const CONFIG_MISSING_EUI64: i32 = -2;
export const CONFIG_TOO_LONG: i32 = -3;

/** Bytes of configBuf in use: updates are written after them. */
export let configUsed: i32 = 0;
export function setConfigUsed(n: i32): void { configUsed = n; }
/** What the last applied text changed (registration triggers). */
export let changedIp = false;
export let changedNms = false;

/** EUI-64 bytes, and as the 16-character uppercase hex text DeviceID carries (as FND expects). */
export const eui64 = memory.data(8);
export const eui64Text = memory.data(16);
export let eui64Set = false;

/** Factory registration intervals (s), used until NMSSettings sets them: reg.min, reg.max. */
export let regMinDefault: u32 = 300;
export let regMaxDefault: u32 = 3600;

/** Why this boot happened, as the host knows it (reset.cause; csmp/reset-stats.ts), default power-on. */
export let resetCause: u32 = 1;

/** CoAP payload budget for one answer. */
export let mtu: i32 = 1024;

/** NMS address and port (from nms.url). */
export const nmsAddr = memory.data(16);
export let nmsPort: i32 = 61629;
/** Firmware hardware id (TransferRequest.hwInfo.hwId and image header hwid must equal it). */
export let fwHwid: usize = 0;
export let fwHwidLen: i32 = 0;
/** Vendor firmware signing key (65 bytes), when fwKeySet: images must carry a valid signature. */
export const fwKey = memory.data(65);
export let fwKeySet = false;

/** IPv6 multicast groups the agent joins (mcast.1, mcast.2); all-zero = none. */
export const MAX_MCAST: i32 = 2;
export const mcastGroups = memory.data(16 * MAX_MCAST);

/** NMS public key, 65 bytes uncompressed, when nmsKeySet. */
export const nmsKey = memory.data(65);
export let nmsKeySet = false;

export const MAX_IFS: i32 = 4;
export const MAX_IPS: i32 = 8;
export const hardwareDesc = memory.data(HardwareDesc_SIZE);
export const interfaceDescs = memory.data(InterfaceDesc_SIZE * MAX_IFS);
export const ipAddresses = memory.data(IPAddress_SIZE * MAX_IPS);
export const wpanStatus = memory.data(WPANStatus_SIZE);
export const rplSettings = memory.data(RPLSettings_SIZE);
export const dhcp6Status = memory.data(DHCP6ClientStatus_SIZE);
// IPv6 text is often shorter than its 16 bytes, so addresses get their own room.
const addrRoom = memory.data(16 * MAX_IPS);

// Key tables: "<key>:<field number><form>," with form t = text, h = hex
// bytes, d = decimal, a = IPv6 address. One table per TLV keeps the parser
// generic: adding a key is one entry, not code.
function hardwareKeys(): usize {
  return A("descr:2t,vendortype:3h,class:5d,name:7t,hwrev:8t,fwrev:9t,swrev:10t,serial:11t,mfg:12t,model:13t,assetid:14t,mfgdate:15d,uris:16t,function:17d,oui:18h,");
}
function interfaceKeys(): usize { return A("name:2t,descr:3t,type:4d,mtu:5d,phys:6h,"); }
function addressKeys(): usize { return A("addr:3a,if:4d,type:5d,origin:6d,status:7d,pfxlen:10d,"); }
function wpanKeys(): usize {
  return A("if:1d,ssid:2h,panid:3d,dot1x:5d,seclevel:6d,rank:7d,beaconvalid:8d,beaconversion:9d,beaconage:10d,txpower:11d,dagsize:12d,metric:13d,lastchanged:14d,lastchangedreason:15d,phymode:18d,");
}
function rplKeys(): usize { return A("if:1d,enabled:2d,diomin:3d,diomax:4d,daomin:5d,daomax:6d,mop:7d,"); }
function dhcp6Keys(): usize { return A("if:1d,iaid:2d,t1:3d,t2:4d,"); }

// ---- parsing ------------------------------------------------------------------

let lineNo = 0;

function fail(reason: usize, ptr: usize, len: i32): i32 {
  logBegin(); logText(A("config line ")); logU(lineNo); logText(A(": ")); logText(reason);
  if (len > 0) { logText(A(": ")); logBytes(ptr, len < 48 ? len : 48); }
  logEnd(LOG_ERROR);
  return CONFIG_BAD_LINE;
}

/** Forgets everything a previous configuration set (agent_init starts from scratch). */
function resetConfig(): void {
  eui64Set = false;
  mtu = 1024;
  resetCause = 1;
  regMinDefault = 300;
  regMaxDefault = 3600;
  nmsKeySet = false;
  fwKeySet = false;
  fwHwid = 0; fwHwidLen = 0;
  memory.fill(mcastGroups, 0, 16 * MAX_MCAST);
  memory.fill(nmsAddr, 0, 16);
  store<u8>(nmsAddr, 1, 15); // ::1
  nmsPort = 61629;
  memory.fill(hardwareDesc, 0, HardwareDesc_SIZE);
  changetype<HardwareDesc>(hardwareDesc).entPhysicalIndex = 1;
  memory.fill(interfaceDescs, 0, InterfaceDesc_SIZE * MAX_IFS);
  memory.fill(ipAddresses, 0, IPAddress_SIZE * MAX_IPS);
  memory.fill(wpanStatus, 0, WPANStatus_SIZE);
  memory.fill(rplSettings, 0, RPLSettings_SIZE);
  memory.fill(dhcp6Status, 0, DHCP6ClientStatus_SIZE);
}

/**
 * Applies len bytes of configuration text at text (in configBuf: values are
 * kept as views). Returns 0 or CONFIG_BAD_LINE (reason logged; lines before
 * the bad one stay applied, which is why agent_init resets first).
 */
export function applyConfigText(text: usize, len: i32): i32 {
  let p = text;
  const end = text + <usize>len;
  lineNo = 0;
  changedIp = false;
  changedNms = false;
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
  return 0;
}

/** agent_init: the whole configuration, from scratch. */
export function applyConfig(len: i32): i32 {
  if (len < 0 || len > CONFIG_CAP) {
    logBegin(); logText(A("config: ")); logU(<u64>len); logText(A(" bytes exceed the buffer")); logEnd(LOG_ERROR);
    return CONFIG_TOO_LONG;
  }
  resetConfig();
  configUsed = len;
  const rc = applyConfigText(configBuf, len);
  if (rc != 0) return rc;
  if (!eui64Set) {
    logBegin(); logText(A("config: eui64 is required")); logEnd(LOG_ERROR);
    return CONFIG_MISSING_EUI64;
  }
  return 0;
}

function applyLine(k: usize, kl: i32, v: usize, vl: i32): i32 {
  if (viewEq(k, kl, A("eui64"))) {
    if (vl != 16 || hexDecode(v, vl, eui64, 8) != 8) return fail(A("eui64 needs 16 hex digits"), v, vl);
    for (let i = 0; i < 16; i++) {
      const c = load<u8>(v + i);
      store<u8>(eui64Text + i, c >= 0x61 ? c - 0x20 : c);
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
    if (!parseCoapUrl(v, vl) || urlPathLen > 1) return fail(A("nms.url must be coap://[ipv6]:port with no path"), v, vl);
    memory.copy(nmsAddr, urlAddr, 16);
    nmsPort = urlPort;
    changedNms = true;
    return 0;
  }
  if (viewEq(k, kl, A("reg.min")) || viewEq(k, kl, A("reg.max"))) {
    const n = viewDecimal(v, vl);
    if (n < 1) return fail(A("reg.min/reg.max are seconds, at least 1"), v, vl);
    if (load<u8>(k + 4) == 0x6d && load<u8>(k + 5) == 0x69) regMinDefault = <u32>n; else regMaxDefault = <u32>n;
    return 0;
  }
  if (viewEq(k, kl, A("reset.cause"))) {
    const n = viewDecimal(v, vl);
    if (n < 1 || n > 5) return fail(A("reset.cause is 1 power-on, 2 external, 3 watchdog, 4 stack overflow, 5 exception"), v, vl);
    resetCause = <u32>n;
    return 0;
  }
  if (viewEq(k, kl, A("event.pen"))) {
    const n = viewDecimal(v, vl);
    if (n < 0) return fail(A("event.pen must be a decimal enterprise number"), v, vl);
    setEventPen(<u32>n);
    return 0;
  }
  if (viewStarts(k, kl, A("mcast.")) && kl == 7) {
    const n = <i32>load<u8>(k + 6) - 0x31;
    const g = mcastGroups + <usize>(n * 16);
    if (n < 0 || n >= MAX_MCAST || !ipv6Parse(v, vl, g) || load<u8>(g) != 0xff) return fail(A("mcast.1/mcast.2 take an IPv6 multicast address"), v, vl);
    return 0;
  }
  if (viewEq(k, kl, A("fw.hwid"))) {
    if (vl > 32) return fail(A("fw.hwid is at most 32 characters"), v, vl);
    fwHwid = v; fwHwidLen = vl;
    return 0;
  }
  if (viewEq(k, kl, A("fw.key"))) {
    if (vl != 130 || hexDecode(v, vl, fwKey, 65) != 65 || load<u8>(fwKey) != 4) {
      return fail(A("fw.key needs 130 hex digits of an uncompressed P-256 point (04...)"), v, vl);
    }
    fwKeySet = true;
    return 0;
  }
  if (viewEq(k, kl, A("nms.key"))) {
    if (vl != 130 || hexDecode(v, vl, nmsKey, 65) != 65 || load<u8>(nmsKey) != 4) {
      return fail(A("nms.key needs 130 hex digits of an uncompressed P-256 point (04...)"), v, vl);
    }
    nmsKeySet = true;
    return 0;
  }
  if (viewStarts(k, kl, A("hw."))) return applyField(HardwareDesc.desc(), hardwareDesc, hardwareKeys(), k + 3, kl - 3, v, vl, 0);
  if (viewStarts(k, kl, A("wpan."))) return applyField(WPANStatus.desc(), wpanStatus, wpanKeys(), k + 5, kl - 5, v, vl, 0);
  if (viewStarts(k, kl, A("rpl."))) return applyField(RPLSettings.desc(), rplSettings, rplKeys(), k + 4, kl - 4, v, vl, 0);
  if (viewStarts(k, kl, A("dhcp6."))) return applyField(DHCP6ClientStatus.desc(), dhcp6Status, dhcp6Keys(), k + 6, kl - 6, v, vl, 0);
  const isIf = viewStarts(k, kl, A("if."));
  if (isIf || viewStarts(k, kl, A("ip."))) {
    // if.N.key / ip.N.key: row N (1-based) of the table.
    const n = parseDecimal(k + 3, k + <usize>kl);
    const max = isIf ? MAX_IFS : MAX_IPS;
    if (n < 1 || n > max || decimalEnd >= k + <usize>kl || load<u8>(decimalEnd) != 0x2e) {
      return fail(isIf ? A("interface row must be 1..4") : A("address row must be 1..8"), k, kl);
    }
    const f = decimalEnd + 1;
    const fl = kl - <i32>(f - k);
    const row = <i32>n - 1;
    if (isIf) {
      const d = changetype<InterfaceDesc>(interfaceDescs + <usize>(row * InterfaceDesc_SIZE));
      d.ifIndex = <i32>n;
      return applyField(InterfaceDesc.desc(), changetype<usize>(d), interfaceKeys(), f, fl, v, vl, 0);
    }
    changedIp = true;
    const a = changetype<IPAddress>(ipAddresses + <usize>(row * IPAddress_SIZE));
    if (!a.hasIpAddressIndex) {
      // Defaults for a new row: ipv6, interface 1, unicast, manual, preferred, /64.
      a.ipAddressIndex = <i32>n; a.ipAddressAddrType = 2; a.ipAddressIfIndex = 1;
      a.ipAddressType = 1; a.ipAddressOrigin = 2; a.ipAddressStatus = 1; a.ipAddressPfxLen = 64;
    }
    return applyField(IPAddress.desc(), changetype<usize>(a), addressKeys(), f, fl, v, vl, addrRoom + <usize>(row * 16));
  }
  return fail(A("unknown key"), k, kl);
}

/**
 * Sets the field the key names (per `keys`, a table as above) in the struct
 * obj described by desc. addr: where an IPv6 value's 16 bytes go.
 */
function applyField(desc: usize, obj: usize, keys: usize, k: usize, kl: i32, v: usize, vl: i32, addr: usize): i32 {
  // Find "<key>:" in the table.
  let p = keys + 1;
  const end = p + <usize>load<u8>(keys);
  while (p < end) {
    let colon = p;
    while (load<u8>(colon) != 0x3a) colon++;
    const number = parseDecimal(colon + 1, end);
    const form = load<u8>(decimalEnd);
    if (<i32>(colon - p) == kl && bytesEqual(p, k, kl)) {
      return setField(desc, obj, <u32>number, form, v, vl, addr);
    }
    p = decimalEnd + 2;
  }
  return fail(A("unknown key"), k, kl);
}

function setField(desc: usize, obj: usize, number: u32, form: u8, v: usize, vl: i32, addr: usize): i32 {
  const field = pbFindField(desc, number);
  const slot = obj + pbFieldSlot(field);
  if (form == 0x64) { // d
    const n = viewDecimal(v, vl);
    if (n < 0) return fail(A("expected a decimal number"), v, vl);
    store<u32>(slot, <u32>n);
  } else if (form == 0x61) { // a
    if (!ipv6Parse(v, vl, addr)) return fail(A("expected an IPv6 address"), v, vl);
    store<u32>(slot, <u32>addr);
    store<i32>(slot, 16, 4);
  } else {
    let n = vl;
    if (form == 0x68) { // h: decoded in place, bytes never outrun their hex text
      n = hexDecode(v, vl, v, vl);
      if (n < 0) return fail(A("expected hex bytes"), v, vl);
    }
    store<u32>(slot, <u32>v);
    store<i32>(slot, n, 4);
  }
  pbSetHas(obj, pbFieldIndex(desc, field));
  return 0;
}
