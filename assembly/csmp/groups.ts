// Groups (draft section on groups): a group is (type, id); type 1 is
// configuration, type 2 firmware. One id per type, assignments durable.
// GroupAssign replaces the id of its type, GroupEvict removes it, GroupMatch
// gates a request (multicast requests must carry one that matches).
import { GroupInfo } from "../generated/csmp";
import { recordRead, recordWrite } from "../runtime/durable";

/** Group types the device keeps (types 1..MAX_GROUP_TYPE). */
export const MAX_GROUP_TYPE: u32 = 4;
// ids[type - 1]; a separate presence mask because 0 is a valid id.
const ids = memory.data(<i32>MAX_GROUP_TYPE * 4 + 4);
const PRESENT_AT: usize = <usize>MAX_GROUP_TYPE * 4;
const RECORD_LEN: i32 = <i32>MAX_GROUP_TYPE * 4 + 4;

export function groupsLoad(): void {
  if (recordRead(A("groups"), ids, RECORD_LEN) != RECORD_LEN) memory.fill(ids, 0, RECORD_LEN);
}

function present(type: u32): bool {
  return type >= 1 && type <= MAX_GROUP_TYPE && (load<u32>(ids + PRESENT_AT) & (1 << (type - 1))) != 0;
}

@inline function idOf(type: u32): u32 { return load<u32>(ids + <usize>(type - 1) * 4); }

/** Assigns (type, id), replacing the type's previous id. False for an unsupported type. */
export function groupAssign(type: u32, id: u32): bool {
  if (type < 1 || type > MAX_GROUP_TYPE) return false;
  if (present(type) && idOf(type) == id) return true;
  store<u32>(ids + <usize>(type - 1) * 4, id);
  store<u32>(ids + PRESENT_AT, load<u32>(ids + PRESENT_AT) | (1 << (type - 1)));
  recordWrite(A("groups"), ids, RECORD_LEN);
  return true;
}

/**
 * Removes the device from group (type, id), or from its group of that type
 * whatever the id when the NMS gave none; evicting a group it is not in
 * changes nothing.
 */
export function groupEvict(type: u32, id: u32, anyId: bool): void {
  if (!present(type) || !anyId && idOf(type) != id) return;
  store<u32>(ids + PRESENT_AT, load<u32>(ids + PRESENT_AT) & ~(1 << (type - 1)));
  recordWrite(A("groups"), ids, RECORD_LEN);
}

export function groupMatches(type: u32, id: u32): bool { return present(type) && idOf(type) == id; }

/** GroupInfo rows as a TLV source (row-th present group). */
export function fillGroupInfo(row: i32, s: usize): bool {
  for (let t: u32 = 1; t <= MAX_GROUP_TYPE; t++) {
    if (present(t) && row-- == 0) {
      const g = changetype<GroupInfo>(s);
      g.type = t;
      g.id = idOf(t);
      return true;
    }
  }
  return false;
}
