// CoAP message parser (RFC 7252 §3), zero-copy in the style of nanocoap.
//
// coapParse() validates one whole datagram where it lies and records what it
// found in the module globals below: pointers into the caller's buffer, no
// copies, no allocation. The results stay valid until the next coapParse()
// or until the caller reuses the buffer. Every read is checked against the
// datagram length first, so no input can make the parser trap.
import {
  COAP_OPT_URI_HOST, COAP_OPT_URI_PORT, COAP_OPT_URI_PATH, COAP_OPT_URI_QUERY,
  COAP_OPT_ACCEPT, COAP_OPT_BLOCK2, COAP_OPT_BLOCK1,
} from "./codes";

// ---- parse results ----------------------------------------------------------

/** The message is well formed and every critical option is understood. */
export const COAP_OK: i32 = 0;
/** Not CoAP version 1, or shorter than the 4-byte header: drop without an answer (§3, §4.2). */
export const COAP_IGNORE: i32 = 1;
/**
 * Message format error (§3, §3.1, §4.1, §12.1): reject it, i.e. answer a CON
 * with RST and silently drop anything else (§4.2, §4.3). Header fields
 * (type, code, message ID) are set whenever the 4-byte header was there.
 */
export const COAP_FORMAT_ERROR: i32 = 2;
/**
 * Well formed, but carries a critical option we do not understand, or one
 * whose length is out of range (§5.4.1, §5.4.3); its number is in
 * coapBadOption. A CON request gets a 4.02 Bad Option response; any other
 * message is rejected like a format error. Options and payload are set.
 */
export const COAP_BAD_OPTION: i32 = 3;

// ---- what the last coapParse() found ---------------------------------------

export let coapVersion: i32 = 0;
export let coapType: i32 = 0;
export let coapCode: i32 = 0;
export let coapMid: i32 = 0;
export let coapTokenPtr: usize = 0;
export let coapTokenLen: i32 = 0;
/** The options region: from the first option header to the payload marker or the end. */
export let coapOptionsPtr: usize = 0;
export let coapOptionsEnd: usize = 0;
export let coapPayloadPtr: usize = 0;
/** 0 when the message has no payload (and then no payload marker either). */
export let coapPayloadLen: i32 = 0;
/** The first unrecognized critical option number when coapParse() returned COAP_BAD_OPTION. */
export let coapBadOption: i32 = 0;

// ---- option iteration state ------------------------------------------------

/** Value of the option the last coapOptionFirst()/coapOptionNext() found. */
export let coapOptPtr: usize = 0;
export let coapOptLen: i32 = 0;
/** Its option number. */
export let coapOptNum: i32 = 0;
/**
 * Set when a value was read that does not fit its format, such as a uint
 * option longer than 4 bytes (§3.2); cleared by coapParse().
 */
export let coapOptionMalformed: bool = false;

let walkAt: usize = 0; // next option header (or the payload marker)
let walkWant: i32 = 0; // the option number coapOptionNext() is looking for

const PAYLOAD_MARKER: i32 = 0xff;

// Resolves one delta or length nibble (§3.1): 0..12 is the value itself, 13
// and 14 take one or two following bytes (big endian) offset by 13 and 269,
// and 15 is reserved. Returns -1 on the reserved nibble or when the extension
// bytes run past end; otherwise advances walkAt over them.
function optionExtend(nibble: i32, end: usize): i32 {
  if (nibble < 13) return nibble;
  const p = walkAt;
  if (nibble == 13) {
    if (p >= end) return -1;
    walkAt = p + 1;
    return <i32>load<u8>(p) + 13;
  }
  if (nibble == 14 && p + 2 <= end) {
    walkAt = p + 2;
    return (<i32>load<u8>(p) << 8 | <i32>load<u8>(p, 1)) + 269;
  }
  return -1;
}

// Decodes the option header at walkAt into coapOptNum/coapOptPtr/coapOptLen
// and moves walkAt past its value. Returns 1 for an option, 0 at the payload
// marker or at end (walkAt stays there), -1 on a format error.
function optionStep(end: usize): i32 {
  if (walkAt >= end) return 0;
  const head = <i32>load<u8>(walkAt);
  if (head == PAYLOAD_MARKER) return 0;
  walkAt++;
  // Either nibble being 15 outside the marker byte is an error (§3.1).
  const delta = optionExtend(head >> 4, end);
  if (delta < 0) return -1;
  const len = optionExtend(head & 15, end);
  if (len < 0 || len > <i32>(end - walkAt)) return -1;
  const num = coapOptNum + delta;
  // Option numbers are 16 bits (§5.4.6, §12.2); a delta past that is no option.
  if (num > 0xffff) return -1;
  coapOptNum = num;
  coapOptPtr = walkAt;
  coapOptLen = len;
  walkAt += len;
  return 1;
}

// Critical options the agent acts on, each with the value length §5.10 (and
// RFC 7959 §2.1 for Block1/2) allows. A critical option outside this list, or
// one with an out-of-range length (§5.4.3), makes the message unprocessable.
function criticalUnderstood(num: i32, len: i32): bool {
  if (num == COAP_OPT_URI_HOST) return len >= 1 && len <= 255;
  if (num == COAP_OPT_URI_PATH || num == COAP_OPT_URI_QUERY) return len <= 255;
  if (num == COAP_OPT_URI_PORT || num == COAP_OPT_ACCEPT) return len <= 2;
  if (num == COAP_OPT_BLOCK2 || num == COAP_OPT_BLOCK1) return len <= 3;
  return false;
}

/**
 * Validates the datagram of len bytes at buf and records its parts in the
 * globals above. Returns COAP_OK, COAP_IGNORE, COAP_FORMAT_ERROR or
 * COAP_BAD_OPTION.
 */
export function coapParse(buf: usize, len: i32): i32 {
  coapVersion = 0; coapType = 0; coapCode = 0; coapMid = 0;
  coapTokenPtr = buf; coapTokenLen = 0;
  coapOptionsPtr = buf; coapOptionsEnd = buf;
  coapPayloadPtr = buf; coapPayloadLen = 0;
  coapBadOption = 0;
  coapOptionMalformed = false;
  if (len < 4) return COAP_IGNORE;

  const b0 = <i32>load<u8>(buf);
  coapVersion = b0 >> 6;
  coapType = (b0 >> 4) & 3;
  coapCode = <i32>load<u8>(buf, 1);
  coapMid = <i32>load<u8>(buf, 2) << 8 | <i32>load<u8>(buf, 3);
  if (coapVersion != 1) return COAP_IGNORE;

  // Token lengths 9..15 are reserved (§3); a token cut short is no message.
  const tkl = b0 & 15;
  if (tkl > 8 || tkl > len - 4) return COAP_FORMAT_ERROR;
  coapTokenPtr = buf + 4;
  coapTokenLen = tkl;

  // §12.1: classes 1, 6 and 7 are reserved.
  const cls = coapCode >> 5;
  if (cls == 1 || cls >= 6) return COAP_FORMAT_ERROR;
  // §4.1: an Empty message is the 4-byte header and nothing else.
  if (coapCode == 0 && len != 4) return COAP_FORMAT_ERROR;

  const end = buf + <usize>len;
  const options = buf + 4 + <usize>tkl;
  walkAt = options;
  coapOptNum = 0;
  let step: i32;
  while ((step = optionStep(end)) > 0) {
    // Odd numbers are critical (§5.4.6); unknown elective ones are skipped (§5.4.1).
    if ((coapOptNum & 1) != 0 && coapBadOption == 0 && !criticalUnderstood(coapOptNum, coapOptLen)) {
      coapBadOption = coapOptNum;
    }
  }
  if (step < 0) return COAP_FORMAT_ERROR;

  if (walkAt < end) {
    // Stopped on the payload marker; a marker with no payload is an error (§3).
    const payload = walkAt + 1;
    if (payload >= end) return COAP_FORMAT_ERROR;
    coapPayloadPtr = payload;
    coapPayloadLen = <i32>(end - payload);
  } else {
    coapPayloadPtr = end;
  }
  coapOptionsPtr = options;
  coapOptionsEnd = walkAt;
  return coapBadOption != 0 ? COAP_BAD_OPTION : COAP_OK;
}

// ---- options of the parsed message ------------------------------------------

/**
 * Finds the first occurrence of option `number`; its value is then at
 * coapOptPtr/coapOptLen. Returns false when the message has none.
 */
export function coapOptionFirst(number: i32): bool {
  walkAt = coapOptionsPtr;
  walkWant = number;
  coapOptNum = 0;
  return coapOptionNext();
}

/**
 * Moves to the next occurrence of the option coapOptionFirst() asked for
 * (repeatable options such as Uri-Path and Uri-Query come in order, §5.4.5).
 */
export function coapOptionNext(): bool {
  // Options are sorted by number (§3.1), so the walk stops once past it.
  while (optionStep(coapOptionsEnd) > 0 && coapOptNum <= walkWant) {
    if (coapOptNum == walkWant) return true;
  }
  coapOptLen = 0;
  return false;
}

/**
 * The value of uint option `number` (§3.2: big endian, leading zeros
 * allowed, 0 bytes = 0), or -1 when absent. Values longer than 4 bytes are
 * more than the agent deals in: -1, and coapOptionMalformed is set.
 */
export function coapOptionUint(number: i32): i64 {
  if (!coapOptionFirst(number)) return -1;
  if (coapOptLen > 4) {
    coapOptionMalformed = true;
    return -1;
  }
  let v: u32 = 0;
  for (let i = 0; i < coapOptLen; i++) v = v << 8 | <u32>load<u8>(coapOptPtr + <usize>i);
  return <i64>v;
}

// ---- what kind of message ----------------------------------------------------

/** A request: class 0 with a method code (§5.8). */
export function coapIsRequest(): bool {
  return coapCode > 0 && coapCode < 0x20;
}

/** A response: classes 2..5 (§12.1). */
export function coapIsResponse(): bool {
  return coapCode >= 0x40;
}

/** An Empty message, code 0.00 (§4.1): a bare ACK, RST or CoAP ping. */
export function coapIsEmpty(): bool {
  return coapCode == 0;
}

// ---- request path ----------------------------------------------------------------

/**
 * Whether the request's Uri-Path options (§5.10.1, one per segment) spell
 * exactly `path`, an ASCII literal with segments separated by '/', e.g.
 * coapPathIs("c") or coapPathIs("r/123"). A leading '/' is allowed; "" and
 * "/" match only a request without Uri-Path (the root, §6.5). Literals live
 * in static memory, so this allocates nothing.
 */
export function coapPathIs(path: string): bool {
  return coapPathMatches(changetype<usize>(path), path.length, true);
}

/**
 * coapPathIs() over len characters at ptr: UTF-16 code units when wide
 * (an AssemblyScript string), otherwise bytes.
 */
export function coapPathMatches(ptr: usize, len: i32, wide: bool): bool {
  let i = 0;
  if (len > 0 && pathChar(ptr, 0, wide) == 0x2f) i = 1; // a leading '/'
  let more = coapOptionFirst(COAP_OPT_URI_PATH);
  if (i >= len) return !more;
  // One segment per pass: compare up to the next '/' or the literal's end.
  while (more) {
    let k = 0;
    for (; i < len; i++, k++) {
      const c = pathChar(ptr, i, wide);
      if (c == 0x2f) break;
      if (k >= coapOptLen || c != <i32>load<u8>(coapOptPtr + <usize>k)) return false;
    }
    if (k != coapOptLen) return false;
    more = coapOptionNext();
    if (i >= len) return !more; // the literal is used up: so must the options be
    i++; // past the '/'
  }
  return false; // the literal has segments the request does not
}

@inline function pathChar(ptr: usize, i: i32, wide: bool): i32 {
  return wide ? <i32>load<u16>(ptr + (<usize>i << 1)) : <i32>load<u8>(ptr + <usize>i);
}
