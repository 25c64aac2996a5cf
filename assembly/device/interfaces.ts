// InterfaceDesc (TLV 12) and IPAddress (TLV 16) rows from the device
// configuration. Row numbers passed in are 0-based over the configured rows;
// the TLV's index field is the configured N.
import { InterfaceDesc, IPAddress } from "../generated/csmp";
import { ifRow, ipRow, MAX_IFS, MAX_IPS } from "./config";

/** IP-MIB InetAddressType ipv6. */
const ADDR_TYPE_IPV6: u32 = 2;

/** The configured slot of the row-th present row, or -1. */
function nthPresent(rows: usize, stride: usize, max: i32, row: i32): i32 {
  for (let i = 0; i < max; i++) {
    if (load<u32>(rows + <usize>i * stride) != 0 && row-- == 0) return i;
  }
  return -1;
}

export function fillInterfaceDesc(row: i32, s: usize): bool {
  const i = nthPresent(ifRow(0), ifRow(1) - ifRow(0), MAX_IFS, row);
  if (i < 0) return false;
  const r = ifRow(i);
  const d = changetype<InterfaceDesc>(s);
  d.ifIndex = i + 1;
  if (load<u32>(r, 4)) d.setIfName(<usize>load<u32>(r, 4), load<i32>(r, 8));
  if (load<u32>(r, 12)) d.setIfDescr(<usize>load<u32>(r, 12), load<i32>(r, 16));
  if (load<i32>(r, 28) >= 0) d.ifType = load<i32>(r, 28);
  if (load<i32>(r, 32) >= 0) d.ifMtu = load<i32>(r, 32);
  if (load<u32>(r, 20)) d.setIfPhysAddress(<usize>load<u32>(r, 20), load<i32>(r, 24));
  return true;
}

export function fillIpAddress(row: i32, s: usize): bool {
  const i = nthPresent(ipRow(0), ipRow(1) - ipRow(0), MAX_IPS, row);
  if (i < 0) return false;
  const r = ipRow(i);
  const a = changetype<IPAddress>(s);
  a.ipAddressIndex = i + 1;
  a.ipAddressAddrType = ADDR_TYPE_IPV6;
  a.setIpAddressAddr(r + 4, 16);
  a.ipAddressIfIndex = load<i32>(r, 20);
  a.ipAddressType = load<u32>(r, 36);
  a.ipAddressOrigin = load<u32>(r, 28);
  a.ipAddressStatus = load<u32>(r, 32);
  a.ipAddressPfxLen = load<u32>(r, 24);
  return true;
}
