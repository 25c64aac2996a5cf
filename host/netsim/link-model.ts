// Hostile links for the LoopNetwork: loss (independent, or in bursts with a
// two-state Gilbert-Elliott channel, which is how a Wi-SUN mesh loses frames:
// a parent switch or interference takes out a run of them), duplication
// (link-layer retries whose ACK got lost), reordering (a copy takes a longer
// path) and latency of seconds (a multi-hop mesh under load). Every model is
// seeded, so a test that fails names a reproducible network.
import type { LinkModel, LoopNetwork } from "../loop-network.ts";
import type { Datagram } from "../network.ts";
import { formatAddress, type Ipv6Bytes } from "../ipv6.ts";
import { Rng } from "../fuzz/rng.ts";

export interface BurstLoss {
  /** Chance per datagram that a good channel turns bad. */
  enterBad: number;
  /** Chance per datagram that a bad channel recovers. */
  leaveBad: number;
  /** Loss while bad (default 1: everything). */
  lossWhileBad?: number;
}

export interface HostileLinkOptions {
  /** Independent loss per datagram, 0..1 (in the good state when bursts are on). */
  loss?: number;
  burst?: BurstLoss;
  /** Chance that a datagram arrives twice (the copy a little later). */
  duplicate?: number;
  /** Chance that a datagram is held back (so later ones overtake it). */
  reorder?: number;
  /** Extra delay of a held-back or duplicated copy, seconds [min, max] (default [1, 5]). */
  extraDelayS?: readonly [number, number];
  /** One-way latency in seconds: fixed or uniform [min, max] (default 0.005). */
  delayS?: number | readonly [number, number];
}

export interface LinkStats {
  offered: number;
  lost: number;
  duplicated: number;
  reordered: number;
}

export interface HostileLink {
  model: LinkModel;
  stats: LinkStats;
}

/** A link model with its own seeded randomness and channel state. */
export function hostileLink(o: HostileLinkOptions, seed: number): HostileLink {
  const rng = new Rng(seed);
  const stats: LinkStats = { offered: 0, lost: 0, duplicated: 0, reordered: 0 };
  const [dMin, dMax] = typeof o.delayS === "number" ? [o.delayS, o.delayS] : o.delayS ?? [0.005, 0.005];
  const [xMin, xMax] = o.extraDelayS ?? [1, 5];
  const between = (lo: number, hi: number): number => Math.round((lo + rng.next() * (hi - lo)) * 1000);
  let bad = false;
  const model: LinkModel = () => {
    stats.offered++;
    if (o.burst) bad = bad ? !rng.chance(o.burst.leaveBad) : rng.chance(o.burst.enterBad);
    const loss = bad ? o.burst!.lossWhileBad ?? 1 : o.loss ?? 0;
    if (rng.chance(loss)) {
      stats.lost++;
      return [];
    }
    let delay = between(dMin, dMax);
    if (o.reorder && rng.chance(o.reorder)) {
      stats.reordered++;
      delay += between(xMin, xMax);
    }
    if (o.duplicate && rng.chance(o.duplicate)) {
      stats.duplicated++;
      return [delay, delay + between(xMin, xMax)];
    }
    return [delay];
  };
  return { model, stats };
}

/** Sums the stats of several links (a whole network's view). */
export function totalStats(links: readonly HostileLink[]): LinkStats {
  return links.reduce((t, l) => ({
    offered: t.offered + l.stats.offered, lost: t.lost + l.stats.lost,
    duplicated: t.duplicated + l.stats.duplicated, reordered: t.reordered + l.stats.reordered,
  }), { offered: 0, lost: 0, duplicated: 0, reordered: 0 });
}

export interface HostileNetworkOptions {
  /** Every directed link without its own settings gets these (each its own channel state). */
  defaults: HostileLinkOptions;
  /** Per-link settings: `from` and `to` as address text in canonical form ("2001:db8::2"). */
  links?: readonly { from: string; to: string; options: HostileLinkOptions }[];
  seed: number;
}

/**
 * Makes a LoopNetwork hostile: each directed link (sender address ->
 * receiver address) gets its own model, created on first use from the
 * defaults, so bursts on one link do not hit another. Returns the links
 * for their stats.
 */
export function makeHostile(net: LoopNetwork, o: HostileNetworkOptions): Map<string, HostileLink> {
  const rng = new Rng(o.seed);
  const links = new Map<string, HostileLink>();
  for (const l of o.links ?? []) {
    const link = hostileLink(l.options, rng.u32());
    links.set(`${l.from}>${l.to}`, link);
    net.setLink(l.from, l.to, link.model);
  }
  const key = (d: Datagram, receiver: Ipv6Bytes): string => `${formatAddress(d.src)}>${formatAddress(receiver)}`;
  net.defaultLink = (d, receiver) => {
    const k = key(d, receiver);
    let link = links.get(k);
    if (!link) {
      link = hostileLink(o.defaults, rng.u32());
      links.set(k, link);
    }
    return link.model(d, receiver);
  };
  return links;
}
