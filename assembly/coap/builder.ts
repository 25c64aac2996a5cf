// CoAP message builder (RFC 7252 §3): writes one message straight into
// caller memory (the transmit buffer), never past the capacity it was given.
//
//   coapBegin(tx, cap, COAP_TYPE_ACK, COAP_CODE_CONTENT, mid, tok, tokLen);
//   coapAddOptionUint(COAP_OPT_CONTENT_FORMAT, 60);
//   const p = coapPayloadStart(); ...write up to coapPayloadRoom() bytes at p...
//   const n = coapFinish(written);   // -1 if anything did not fit
//
// One message at a time (module state, no allocation). Any failed step
// poisons the message so coapFinish() reports it: a caller cannot send a
// message that silently lost an option.

let outBase: usize = 0;
let outCap: i32 = 0;
let outAt: i32 = 0; // bytes written so far
let lastOption: i32 = 0; // options go in non-decreasing number order (§3.1)
let payloadOpen = false; // after coapPayloadStart() no option may follow
let failed = true;

const uintScratch = memory.data(4);

/**
 * Starts a message in the cap bytes at out: the 4-byte header and the token
 * (0..8 bytes, §3). type and mid are taken modulo their field widths.
 * Returns false (and poisons the message) when the token is too long or the
 * header and token do not fit.
 */
export function coapBegin(out: usize, cap: i32, type: i32, code: i32, mid: i32, token: usize, tokenLen: i32): bool {
  outBase = out;
  outCap = cap;
  outAt = 0;
  lastOption = 0;
  payloadOpen = false;
  failed = tokenLen < 0 || tokenLen > 8 || cap < 4 + tokenLen;
  if (failed) return false;
  store<u8>(out, 0x40 | (type & 3) << 4 | tokenLen); // version 1
  store<u8>(out, code, 1);
  store<u8>(out, mid >> 8, 2);
  store<u8>(out, mid, 3);
  memory.copy(out + 4, token, <usize>tokenLen);
  outAt = 4 + tokenLen;
  return true;
}

// Bytes that follow an option header nibble for v (§3.1).
@inline function extensionSize(v: i32): i32 {
  return v < 13 ? 0 : v < 269 ? 1 : 2;
}

// Writes the nibble's extension bytes for v at p; returns the nibble.
function putExtension(p: usize, v: i32): i32 {
  if (v < 13) return v;
  if (v < 269) {
    store<u8>(p, v - 13);
    return 13;
  }
  v -= 269;
  store<u8>(p, v >> 8);
  store<u8>(p, v, 1);
  return 14;
}

/**
 * Appends option `number` with the len-byte value at ptr. Returns false (and
 * poisons the message) when it would not fit, when number is below the
 * previous option's, or when the payload has already been started.
 */
export function coapAddOption(number: i32, ptr: usize, len: i32): bool {
  const delta = number - lastOption;
  // The largest length the 14-nibble can carry is 65535 + 269 (§3.1).
  if (failed || payloadOpen || delta < 0 || number > 0xffff || len < 0 || len > 0xffff + 269) {
    failed = true;
    return false;
  }
  const dext = extensionSize(delta);
  const need = 1 + dext + extensionSize(len) + len;
  if (need > outCap - outAt) {
    failed = true;
    return false;
  }
  const head = outBase + <usize>outAt;
  const dn = putExtension(head + 1, delta);
  const ln = putExtension(head + 1 + <usize>dext, len);
  store<u8>(head, dn << 4 | ln);
  memory.copy(head + <usize>(need - len), ptr, <usize>len);
  outAt += need;
  lastOption = number;
  return true;
}

/** Appends uint option `number` (§3.2) in as few bytes as it takes; 0 is empty. */
export function coapAddOptionUint(number: i32, value: u32): bool {
  const n = value == 0 ? 0 : value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 0x1000000 ? 3 : 4;
  store<u32>(uintScratch, bswap<u32>(value));
  return coapAddOption(number, uintScratch + 4 - <usize>n, n);
}

/**
 * Where the payload goes: just past the payload marker's place. Options can
 * no longer be added. The marker itself is written by coapFinish(), and only
 * when there is a payload (§3: no marker before an empty payload).
 */
export function coapPayloadStart(): usize {
  payloadOpen = true;
  return outBase + <usize>outAt + 1;
}

/** How many payload bytes fit after the marker (0 when not even the marker does). */
export function coapPayloadRoom(): i32 {
  const room = outCap - outAt - 1;
  return failed || room < 0 ? 0 : room;
}

/**
 * Ends the message with payloadLen bytes of payload already written at
 * coapPayloadStart(). Returns the message length, or -1 when any step
 * failed or the payload does not fit.
 */
export function coapFinish(payloadLen: i32): i32 {
  if (failed || payloadLen < 0 || payloadLen > coapPayloadRoom()) return -1;
  if (payloadLen == 0) return outAt;
  store<u8>(outBase + <usize>outAt, 0xff);
  return outAt + 1 + payloadLen;
}

/**
 * Writes an Empty message (code 0.00, no token, §4.1) of the given type for
 * message ID mid: the RST that rejects a message (§4.2, §4.3) or the empty
 * ACK that defers a response (§5.2.2). Returns 4, or -1 when cap < 4.
 */
export function coapEmpty(out: usize, cap: i32, type: i32, mid: i32): i32 {
  return coapBegin(out, cap, type, 0, mid, 0, 0) ? coapFinish(0) : -1;
}
