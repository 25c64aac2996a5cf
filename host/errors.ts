// The negative results the Node host hands to the agent, one numbering for
// every PAL function so a logged code means the same thing everywhere.
// (assembly/pal.ts fixes only the sign, and -1 = "no such record" for
// store_read.)
export const HostError = {
  /** Generic failure; for store_read: no such record. */
  Failed: -1,
  /** Malformed argument: bad record key, pointer outside agent memory, bad address or port. */
  BadArgument: -2,
  /** The medium failed (I/O error, disk full). */
  Io: -3,
  /** Offset/length outside a slot, or a record over the size limit. */
  OutOfRange: -4,
  /** No such firmware slot. */
  NoSlot: -5,
  /** Not allowed on the running image (slot 0). */
  RunningSlot: -6,
  /** The payload exceeds what one datagram carries. */
  TooLarge: -7,
  /** The platform cannot do it (e.g. no multicast). */
  Unsupported: -8,
} as const;
export type HostErrorCode = (typeof HostError)[keyof typeof HostError];
