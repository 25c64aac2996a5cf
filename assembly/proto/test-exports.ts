// Codec entry points for the tests (compiled only into build/agent-test.wasm):
// decode TLV `tlv`'s value into a scratch struct and encode it back, so an
// independent protobuf implementation can check both directions.
import { pbDecode, pbEncode, pbTlvDesc, pbStructSize, pbHas } from "./codec";
import { PB_MAX_STRUCT } from "../generated/csmp";

const scratch = memory.data(PB_MAX_STRUCT);
const ioCap: i32 = 4096;
const io = memory.data(4096);

/** Scratch input/output buffer for tests. */
export function test_pb_io(): usize { return io; }
export function test_pb_io_cap(): i32 { return ioCap; }
export function test_pb_struct(): usize { return scratch; }

/** Decodes len bytes at the io buffer as TLV `tlv`; returns PB_* or -2 for an unknown TLV. */
export function test_pb_decode(tlv: u32, len: i32): i32 {
  const desc = pbTlvDesc(tlv);
  if (desc == 0) return -2;
  return pbDecode(desc, scratch, io, len);
}

/** Encodes the scratch struct as TLV `tlv` into out; returns the length or -1. */
export function test_pb_encode(tlv: u32, out: usize, cap: i32): i32 {
  const desc = pbTlvDesc(tlv);
  if (desc == 0) return -2;
  return pbEncode(desc, scratch, out, cap);
}

export function test_pb_struct_size(tlv: u32): i32 { return pbStructSize(pbTlvDesc(tlv)); }
export function test_pb_has(bit: i32): i32 { return pbHas(scratch, bit) ? 1 : 0; }
