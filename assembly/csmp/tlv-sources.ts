// Which TLVs this device serves and where each one's rows come from. A
// source fills row `row` (0-based) of its TLV into a cleared struct and
// returns false when there is no such row; single TLVs have only row 0.
import { PB_MAX_STRUCT, TlvIndex } from "../generated/csmp";
import { pbClear, pbTlvDesc } from "../proto/codec";
import { tlvPutMessage, twPos, twBegin, twEnd } from "../tlv/framing";
import { tlvIdPen, tlvIdType, writeTlvId } from "../tlv/tlvid";
import {
  fillDeviceId, fillHardwareDesc, fillInterfaceDesc, fillIpAddress, fillWpanStatus, fillRplSettings, fillDhcp6Status,
} from "../device/identity";
import { fillCurrentTime, fillUptime } from "./clock";
import { fillSessionId } from "./session";
import { fillGroupInfo } from "./groups";
import { fillReportSubscribe } from "./reporting";
import { fillNmsSettings, fillNmsStatus } from "./registration";
import { fillSignatureSettings } from "./signature-settings";
import { fillEventIndex, fillEventSubscribe, fillEventStats } from "./events";
import { fillSysResetStats } from "./reset-stats";
import { fillPingResponse } from "./ping";
import { fillNetworkRole } from "./host-tlv";
import {
  fillFirmwareImageInfo, fillTransferResponse, fillLoadResponse, fillCancelLoadResponse, fillSetBackupResponse,
} from "../firmware/firmware";

type RowSource = (row: i32, s: usize) => bool;

/** The TLV ids served, in TlvIndex order. */
const SERVED: StaticArray<u32> = [1, 2, 7, 11, 12, 13, 16, 18, 21, 22, 35, 36, 42, 43, 55, 58, 75, 79, 86, 141, 501, 502, 510];

function sourceOf(id: u64): RowSource | null {
  if (tlvIdPen(id) != 0) return null;
  switch (tlvIdType(id)) {
    case 2: return fillDeviceId;
    case 7: return fillSessionId;
    case 11: return fillHardwareDesc;
    case 13: return fillReportSubscribe;
    case 42: return fillNmsSettings;
    case 43: return fillNmsStatus;
    case 55: // GroupAssign: the same rows as GroupInfo (FND GETs both; the structs are alike)
    case 58: return fillGroupInfo;
    case 79: return fillSignatureSettings;
    case 71: return fillTransferResponse;
    case 72: return fillLoadResponse;
    case 73: return fillCancelLoadResponse;
    case 74: return fillSetBackupResponse;
    case 75: return fillFirmwareImageInfo;
    case 31: return fillPingResponse;
    case 86: return fillSysResetStats;
    case 141: return fillNetworkRole;
    case 501: return fillEventIndex;
    case 502: return fillEventSubscribe;
    case 510: return fillEventStats;
    case 12: return fillInterfaceDesc;
    case 16: return fillIpAddress;
    case 18: return fillCurrentTime;
    case 21: return fillRplSettings;
    case 35: return fillWpanStatus;
    case 36: return fillDhcp6Status;
    case 22: return fillUptime;
  }
  return null;
}

const scratch = memory.data(PB_MAX_STRUCT);

/**
 * Appends every row of TLV `id` at the TLV writer. Returns 1 when written,
 * 0 when the device does not serve it, -1 when it did not fit (then nothing
 * of it is kept, unless `first`: an answer that starts with a table too big
 * for one datagram carries the rows that fit rather than nothing).
 */
export function emitTlv(id: u64, first: bool): i32 {
  if (id == <u64>TlvIndex.tlv()) return emitTlvIndex() ? 1 : -1;
  const source = sourceOf(id);
  if (source == null) return 0;
  const type = tlvIdType(id);
  const desc = pbTlvDesc(type);
  const start = twPos;
  let row = 0;
  while (true) {
    pbClear(desc, scratch);
    if (!source(row, scratch)) break;
    if (!tlvPutMessage(type, 0, desc, scratch)) {
      if (!first || row == 0) tlvRewind(start);
      return -1;
    }
    row++;
  }
  return 1;
}

// Text of the ids in TlvIndex: at most 22 bytes each.
const idText = memory.data(32 * 24);

/** Appends TlvIndex listing every served TLV id. */
export function emitTlvIndex(): bool {
  const index = changetype<TlvIndex>(scratch);
  index.clear();
  let p = idText;
  for (let i = 0; i < SERVED.length; i++) {
    const end = writeTlvId(p, SERVED[i]);
    index.addTlvid(p, <i32>(end - p));
    p = end;
  }
  return tlvPutMessage(TlvIndex.tlv(), 0, TlvIndex.desc(), scratch);
}

function tlvRewind(to: usize): void { twBegin(to, <i32>(twEnd - to)); }
