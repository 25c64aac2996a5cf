// Identity and status TLVs the host describes in its configuration:
// DeviceID (TLV 2), HardwareDesc (11), InterfaceDesc (12) and IPAddress (16)
// rows, WPANStatus (35), RPLSettings (21), DHCP6ClientStatus (36). The
// configuration already holds them as structs; a source copies them out.
import {
  DeviceID, HardwareDesc_SIZE, InterfaceDesc, InterfaceDesc_SIZE, IPAddress, IPAddress_SIZE,
  WPANStatus_SIZE, RPLSettings_SIZE, DHCP6ClientStatus_SIZE,
} from "../generated/csmp";
import {
  eui64Text, hardwareDesc, interfaceDescs, ipAddresses, wpanStatus, rplSettings, dhcp6Status, MAX_IFS, MAX_IPS,
} from "./config";

/** DeviceID type 1: the id is the EUI-64 as 16 hex characters. */
export const DEVICE_ID_EUI64: u32 = 1;

export function fillDeviceId(row: i32, s: usize): bool {
  if (row != 0) return false;
  const d = changetype<DeviceID>(s);
  d.type = DEVICE_ID_EUI64;
  d.setId(eui64Text, 16);
  return true;
}

/** Copies a configured struct as row 0 when any of its fields is set (its presence bits are not all 0). */
function single(row: i32, s: usize, from: usize, size: i32): bool {
  if (row != 0 || load<u32>(from) == 0) return false;
  memory.copy(s, from, <usize>size);
  return true;
}

export function fillHardwareDesc(row: i32, s: usize): bool { return single(row, s, hardwareDesc, HardwareDesc_SIZE); }
export function fillWpanStatus(row: i32, s: usize): bool { return single(row, s, wpanStatus, WPANStatus_SIZE); }
export function fillRplSettings(row: i32, s: usize): bool { return single(row, s, rplSettings, RPLSettings_SIZE); }
export function fillDhcp6Status(row: i32, s: usize): bool { return single(row, s, dhcp6Status, DHCP6ClientStatus_SIZE); }

/** Copies the row-th configured row (one whose index field is set) of a table. */
function nthRow(row: i32, s: usize, table: usize, size: i32, count: i32): bool {
  for (let i = 0; i < count; i++) {
    const r = table + <usize>(i * size);
    if (load<u8>(r) & 1 && row-- == 0) { // bit 0: the index field, set for every configured row
      memory.copy(s, r, <usize>size);
      return true;
    }
  }
  return false;
}

export function fillInterfaceDesc(row: i32, s: usize): bool { return nthRow(row, s, interfaceDescs, InterfaceDesc_SIZE, MAX_IFS); }
export function fillIpAddress(row: i32, s: usize): bool { return nthRow(row, s, ipAddresses, IPAddress_SIZE, MAX_IPS); }
