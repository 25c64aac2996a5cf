// IPv6 addresses as the PAL carries them: 16 bytes in network order. IPv4
// peers travel as IPv4-mapped addresses (::ffff:a.b.c.d) so the agent only
// ever sees one address family.

export type Ipv6Bytes = Uint8Array;

export const IPV6_LEN = 16;

/** The unspecified address "::". */
export const UNSPECIFIED: Ipv6Bytes = new Uint8Array(IPV6_LEN);

function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out.push(v);
  }
  return out;
}

/**
 * Parses IPv6 text ("2001:db8::1", "::ffff:192.0.2.1", "[::1]", "fe80::1%eth0")
 * or a plain IPv4 dotted quad (returned IPv4-mapped). A zone ("%eth0") is
 * dropped: the agent has no notion of scope. Returns null when malformed.
 */
export function parseAddress(input: string): Ipv6Bytes | null {
  let text = input.trim();
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const v4 = parseIpv4(text);
  if (v4) return mapIpv4(v4);

  // An embedded dotted quad stands for the last two groups: rewrite it as hex.
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.includes(".", lastColon)) {
    const quad = parseIpv4(text.slice(lastColon + 1));
    if (!quad) return null;
    const hi = ((quad[0] << 8) | quad[1]).toString(16);
    const lo = ((quad[2] << 8) | quad[3]).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }

  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !rest) return null;
  const explicit = head.length + rest.length;
  let groups: number[];
  if (halves.length === 2) {
    if (explicit > 7) return null;
    groups = [...head, ...new Array<number>(8 - explicit).fill(0), ...rest];
  } else {
    if (explicit !== 8) return null;
    groups = head;
  }
  const out = new Uint8Array(IPV6_LEN);
  groups.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff; });
  return out;
}

/** Like parseAddress but throws a descriptive Error (for options and configuration). */
export function requireAddress(text: string): Ipv6Bytes {
  const a = parseAddress(text);
  if (!a) throw new Error(`not an IPv6 or IPv4 address: ${JSON.stringify(text)}`);
  return a;
}

function mapIpv4(q: readonly number[]): Ipv6Bytes {
  const out = new Uint8Array(IPV6_LEN);
  out[10] = 0xff; out[11] = 0xff;
  out.set(q, 12);
  return out;
}

/** True for ::ffff:a.b.c.d. */
export function isIpv4Mapped(a: Ipv6Bytes): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

/** IPv4 address bytes as an IPv4-mapped IPv6 address. */
export function ipv4Mapped(v4: Uint8Array): Ipv6Bytes {
  return mapIpv4(Array.from(v4.subarray(0, 4)));
}

export function isMulticast(a: Ipv6Bytes): boolean {
  return a[0] === 0xff;
}

export function isUnspecified(a: Ipv6Bytes): boolean {
  return a.every((b) => b === 0);
}

export function sameAddress(a: Ipv6Bytes, b: Ipv6Bytes): boolean {
  if (a.length !== IPV6_LEN || b.length !== IPV6_LEN) return false;
  for (let i = 0; i < IPV6_LEN; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * RFC 5952 text: lower case, longest run (>= 2) of zero groups as "::",
 * IPv4-mapped addresses with a dotted quad.
 */
export function formatAddress(a: Ipv6Bytes): string {
  if (isIpv4Mapped(a)) return `::ffff:${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((a[2 * i] << 8) | a[2 * i + 1]);
  let bestAt = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** "[addr]:port", the form used in URLs and log lines. */
export function formatEndpoint(a: Ipv6Bytes, port: number): string {
  return `[${formatAddress(a)}]:${port}`;
}
