// TLVs the platform applies: NetworkRole (141), which belongs to the mesh
// stack, and vendor TLVs (127), which belong to the vendor's firmware. The
// agent accepts them in a checked POST and hands their value to pal.host_tlv;
// the last NetworkRole the platform accepted is kept durably and served.
import { pal_host_tlv } from "../pal";
import { NetworkRole } from "../generated/csmp";
import { pbDecode, PB_OK } from "../proto/codec";
import { recordRead, recordWrite } from "../runtime/durable";
import { logBegin, logText, logU, logI, logEnd, LOG_WARN } from "../runtime/log";

const role = memory.data(16);
let roleLen: i32 = -1;

export function hostTlvLoad(): void { roleLen = recordRead(A("netrole"), role, 16); }

export function applyHostTlv(type: u32, pen: u32, subtype: u32, value: usize, len: i32): void {
  const rc = pal_host_tlv(<i32>type, <i32>pen, <i32>subtype, value, len);
  if (rc < 0) {
    logBegin(); logText(A("platform refused TLV ")); logU(type); logText(A(": ")); logI(rc); logEnd(LOG_WARN);
    return;
  }
  if (type == NetworkRole.tlv() && len <= 16) {
    memory.copy(role, value, <usize>len);
    roleLen = len;
    recordWrite(A("netrole"), role, len);
  }
}

export function fillNetworkRole(row: i32, s: usize): bool {
  return row == 0 && roleLen >= 0 && pbDecode(NetworkRole.desc(), s, role, roleLen) == PB_OK;
}
