// Test-build-only handles on the CoAP codec (test/coap.test.ts). Exports take
// numbers only, so a test drives everything through two scratch buffers.
import * as msg from "./message";
import * as bld from "./builder";

export {
  COAP_OK, COAP_IGNORE, COAP_FORMAT_ERROR, COAP_BAD_OPTION,
  coapParse, coapOptionFirst, coapOptionNext, coapOptionUint,
  coapIsRequest, coapIsResponse, coapIsEmpty,
} from "./message";
export { coapBegin, coapAddOption, coapPayloadStart, coapPayloadRoom, coapFinish, coapEmpty } from "./builder";

const SCRATCH_CAP: i32 = 1024;
const scratchIn = memory.data(SCRATCH_CAP);
const scratchOut = memory.data(SCRATCH_CAP);

export function coapTestCap(): i32 { return SCRATCH_CAP; }
export function coapTestIn(): usize { return scratchIn; }
export function coapTestOut(): usize { return scratchOut; }

// The parser's globals, one getter each.
export function coapTestVersion(): i32 { return msg.coapVersion; }
export function coapTestType(): i32 { return msg.coapType; }
export function coapTestCode(): i32 { return msg.coapCode; }
export function coapTestMid(): i32 { return msg.coapMid; }
export function coapTestTokenPtr(): usize { return msg.coapTokenPtr; }
export function coapTestTokenLen(): i32 { return msg.coapTokenLen; }
export function coapTestOptionsPtr(): usize { return msg.coapOptionsPtr; }
export function coapTestOptionsEnd(): usize { return msg.coapOptionsEnd; }
export function coapTestPayloadPtr(): usize { return msg.coapPayloadPtr; }
export function coapTestPayloadLen(): i32 { return msg.coapPayloadLen; }
export function coapTestBadOption(): i32 { return msg.coapBadOption; }
export function coapTestOptPtr(): usize { return msg.coapOptPtr; }
export function coapTestOptLen(): i32 { return msg.coapOptLen; }
export function coapTestOptNum(): i32 { return msg.coapOptNum; }
export function coapTestOptionMalformed(): i32 { return msg.coapOptionMalformed ? 1 : 0; }

/** coapPathIs over len ASCII bytes at ptr. */
export function coapTestPathBytes(ptr: usize, len: i32): i32 {
  return msg.coapPathMatches(ptr, len, false) ? 1 : 0;
}

/** coapPathIs with a string literal, as agent code calls it. */
export function coapTestPathLiteral(which: i32): i32 {
  let r = false;
  if (which == 0) r = msg.coapPathIs("");
  else if (which == 1) r = msg.coapPathIs("c");
  else if (which == 2) r = msg.coapPathIs("/c");
  else if (which == 3) r = msg.coapPathIs("r/123");
  else if (which == 4) r = msg.coapPathIs("/");
  return r ? 1 : 0;
}

export function coapTestAddOptionUint(number: i32, value: i32): i32 {
  return bld.coapAddOptionUint(number, <u32>value) ? 1 : 0;
}
