// DeviceID (TLV 2) and HardwareDesc (TLV 11) from the device configuration.
import { DeviceID, HardwareDesc } from "../generated/csmp";
import {
  eui64Text, hwViews, hwClass, hwFunction, hwMfgDate,
  HW_DESCR, HW_NAME, HW_HWREV, HW_FWREV, HW_SWREV, HW_SERIAL, HW_MFG, HW_MODEL,
  HW_ASSETID, HW_URIS, HW_OUI, HW_VENDORTYPE,
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

@inline function viewPtr(slot: i32): usize { return <usize>load<u32>(hwViews + <usize>(slot * 8)); }
@inline function viewLen(slot: i32): i32 { return load<i32>(hwViews + <usize>(slot * 8), 4); }

/** The device is one physical entity, index 1; only configured fields are present. */
export function fillHardwareDesc(row: i32, s: usize): bool {
  if (row != 0) return false;
  const h = changetype<HardwareDesc>(s);
  h.entPhysicalIndex = 1;
  if (viewPtr(HW_DESCR)) h.setEntPhysicalDescr(viewPtr(HW_DESCR), viewLen(HW_DESCR));
  if (viewPtr(HW_VENDORTYPE)) h.setEntPhysicalVendorType(viewPtr(HW_VENDORTYPE), viewLen(HW_VENDORTYPE));
  if (hwClass >= 0) h.entPhysicalClass = <i32>hwClass;
  if (viewPtr(HW_NAME)) h.setEntPhysicalName(viewPtr(HW_NAME), viewLen(HW_NAME));
  if (viewPtr(HW_HWREV)) h.setEntPhysicalHardwareRev(viewPtr(HW_HWREV), viewLen(HW_HWREV));
  if (viewPtr(HW_FWREV)) h.setEntPhysicalFirmwareRev(viewPtr(HW_FWREV), viewLen(HW_FWREV));
  if (viewPtr(HW_SWREV)) h.setEntPhysicalSoftwareRev(viewPtr(HW_SWREV), viewLen(HW_SWREV));
  if (viewPtr(HW_SERIAL)) h.setEntPhysicalSerialNum(viewPtr(HW_SERIAL), viewLen(HW_SERIAL));
  if (viewPtr(HW_MFG)) h.setEntPhysicalMfgName(viewPtr(HW_MFG), viewLen(HW_MFG));
  if (viewPtr(HW_MODEL)) h.setEntPhysicalModelName(viewPtr(HW_MODEL), viewLen(HW_MODEL));
  if (viewPtr(HW_ASSETID)) h.setEntPhysicalAssetID(viewPtr(HW_ASSETID), viewLen(HW_ASSETID));
  if (hwMfgDate >= 0) h.entPhysicalMfgDate = <u32>hwMfgDate;
  if (viewPtr(HW_URIS)) h.setEntPhysicalURIs(viewPtr(HW_URIS), viewLen(HW_URIS));
  if (hwFunction >= 0) h.entPhysicalFunction = <u32>hwFunction;
  if (viewPtr(HW_OUI)) h.setEntPhysicalOUI(viewPtr(HW_OUI), viewLen(HW_OUI));
  return true;
}
