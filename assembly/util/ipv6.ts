// IPv6 text (RFC 4291 section 2.2 forms 1 and 2: hex groups with one optional
// "::") to 16 bytes. Used for configuration and NMS URLs; dotted IPv4 tails
// are refused rather than guessed at.
import { hexVal } from "./text";

/** Parses the view into out (16 bytes). Returns false, leaving out unspecified, when it is not an IPv6 address. */
export function ipv6Parse(ptr: usize, len: i32, out: usize): bool {
  memory.fill(out, 0, 16);
  let groups = 0;        // groups written
  let gap = -1;          // group index where "::" stands
  let i = 0;
  if (len >= 2 && load<u8>(ptr) == 0x3a && load<u8>(ptr + 1) == 0x3a) { gap = 0; i = 2; }
  else if (len > 0 && load<u8>(ptr) == 0x3a) return false;
  while (i < len) {
    if (groups == 8) return false;
    let v = 0, digits = 0;
    while (i < len && digits < 5) {
      const d = hexVal(load<u8>(ptr + i));
      if (d < 0) break;
      v = v << 4 | d; digits++; i++;
    }
    if (digits == 0 || digits > 4) return false;
    store<u8>(out + groups * 2, <u8>(v >> 8));
    store<u8>(out + groups * 2 + 1, <u8>v);
    groups++;
    if (i == len) break;
    if (load<u8>(ptr + i) != 0x3a) return false;
    i++;
    if (i < len && load<u8>(ptr + i) == 0x3a) {
      if (gap >= 0) return false;
      gap = groups; i++;
    } else if (i == len) return false; // trailing single ':'
  }
  if (gap < 0) return groups == 8;
  if (groups == 8) return false;
  // Move the groups after the gap to the end.
  const tail = (groups - gap) * 2;
  memory.copy(out + 16 - tail, out + gap * 2, tail);
  memory.fill(out + gap * 2, 0, 16 - tail - gap * 2);
  return true;
}

/** True for ff00::/8. */
export function ipv6IsMulticast(addr: usize): bool { return load<u8>(addr) == 0xff; }
