// What a firmware campaign knows about each device, as a snapshot for a
// progress callback, and its rendering as a terminal table with one bar per
// device. Pure data and text: the campaign (campaign.ts) fills it.

/** Firmware response codes (draft "Firmware Management"), shared by TLVs 71..74. */
export const FIRMWARE_RESPONSE = [
  "OK", "INCOMPATIBLE_HW", "IMAGE_INCOMPLETE", "UNKNOWN_HASH", "FILE_SIZE_TOO_BIG",
  "SIGNATURE_FAILED", "INVALID_REQ", "INVALID_BLOCK_SIZE", "PENDING_REBOOT", "IMAGE_RUNNING",
] as const;

export function responseName(code: number): string {
  return FIRMWARE_RESPONSE[code] ?? `code ${code}`;
}

/**
 * Where a device is in the campaign. transferring: no TransferResponse yet;
 * receiving: blocks flowing; complete: every block reported received;
 * scheduled: LoadRequest accepted; running: the device runs the image;
 * failed: given up (see error).
 */
export type DevicePhase = "transferring" | "receiving" | "complete" | "scheduled" | "running" | "failed";

export interface DeviceProgress {
  eui64: string;
  phase: DevicePhase;
  /** Blocks the device's last FirmwareImageInfo reported received. */
  received: number;
  blocks: number;
  /** Last answers per request (TransferResponse 71 .. SetBackupResponse 74). */
  transferCode?: number;
  loadCode?: number;
  cancelCode?: number;
  backupCode?: number;
  /** The UTC load time the device accepted. */
  loadTime?: number;
  /** Version text of the running image, from its FirmwareImageInfo. */
  runningVersion?: string;
  /** SHA-256 of the running image (hex). */
  runningHash?: string;
  error?: string;
}

export interface CampaignProgress {
  /** SHA-256 of the image (hex): its fileHash. */
  fileHash: string;
  fileName: string;
  version: string;
  fileSize: number;
  blockSize: number;
  blocks: number;
  /** Block rounds sent so far (the first sends every block). */
  round: number;
  /** Datagrams sent: multicast (one per group send) and unicast. */
  sent: { multicast: number; unicast: number };
  devices: DeviceProgress[];
}

function bar(fraction: number, width: number): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${"#".repeat(full)}${".".repeat(width - full)}]`;
}

/** The per-device table with bars, and a total line, for a terminal. */
export function formatProgress(p: CampaignProgress, barWidth = 24): string {
  const lines = [
    `firmware ${p.fileName} ${p.version} (${p.fileHash.slice(0, 16)}..), ${p.fileSize} bytes in ${p.blocks} blocks of ${p.blockSize}; round ${p.round}; sent ${p.sent.multicast} multicast, ${p.sent.unicast} unicast`,
    `${"device".padEnd(16)}  ${"phase".padEnd(12)} ${"blocks".padStart(9)}  ${"".padEnd(barWidth + 2)} ${"%".padStart(4)}  note`,
  ];
  const counts = new Map<DevicePhase, number>();
  for (const d of p.devices) {
    counts.set(d.phase, (counts.get(d.phase) ?? 0) + 1);
    const done = d.phase === "complete" || d.phase === "scheduled" || d.phase === "running" ? d.blocks : d.received;
    const fraction = d.blocks ? done / d.blocks : 0;
    const note = d.error ?? (d.phase === "running" ? `runs ${d.runningVersion ?? "?"}` : d.phase === "scheduled" ? `loads at ${new Date((d.loadTime ?? 0) * 1000).toISOString()}` : "");
    lines.push(`${d.eui64.padEnd(16)}  ${d.phase.padEnd(12)} ${`${done}/${d.blocks}`.padStart(9)}  ${bar(fraction, barWidth)} ${String(Math.floor(fraction * 100)).padStart(4)}  ${note}`);
  }
  lines.push(`total ${p.devices.length}: ${[...counts].map(([phase, n]) => `${n} ${phase}`).join(", ")}`);
  return lines.join("\n");
}
