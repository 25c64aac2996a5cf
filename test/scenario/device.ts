// What the scenario (scenario.ts) needs from a device, whichever host runs
// the agent: where it listens, how to restart and stop it, and its log for
// failure messages. Both hosts get the same configuration text and the same
// prepared state directory, so the scenario's assertions are the same too.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDeviceConfig } from "../../host/device-config.ts";

export interface DeviceHandle {
  /** "WAMR POSIX host", "Node host": for messages. */
  readonly hostName: string;
  readonly eui64: string;
  /** Where the agent's CoAP server listens (stays the same across restarts). */
  readonly address: string;
  readonly port: number;
  /** Completed boots so far: 1 after start, +1 per restart or agent reboot. */
  boots(): number;
  /** Raises host event `code` (assembly/csmp/events.ts) with a related TLV id (0: none), as the platform would. */
  raiseEvent(code: number, relatedTlv: number): Promise<void>;
  /** Hands the agent more configuration lines (docs/device-config.md), as the platform would on a change. */
  updateConfig(lines: string): Promise<void>;
  /** Stops the device and starts it again over the same state directory. */
  restart(): Promise<void>;
  /** Stops the device; its state directory stays (the caller removes it). */
  stop(): Promise<void>;
  /** Everything the host and the agent logged, for failure messages. */
  log(): string;
}

/** Builds a device of one host kind from a prepared setup. */
export type DeviceFactory = (setup: DeviceSetup) => Promise<DeviceHandle>;

export interface DeviceSetup {
  eui64: string;
  /** The device configuration text (docs/device-config.md), same for every host. */
  config: string;
  /** A scratch directory of this device (configuration files and the like). */
  root: string;
  stateDir: string;
}

export interface ScenarioNmsInfo {
  address: string;
  port: number;
  publicKeyHex: string;
}

export const VECTORS = new URL("../../../shared/vectors/", import.meta.url).pathname;
export const IMAGE_68 = `${VECTORS}opencsmp-node-6.8-sample-image.bin`;
export const IMAGE_69 = `${VECTORS}opencsmp-node-6.9-sample-image.bin`;

/**
 * The configuration both hosts get: the NMS and its key, fast factory
 * registration (reg.min 1 s, reg.max 4 s instead of 300/3600, so a real-time
 * test registers within seconds), the firmware hardware id of the sample
 * images, and an honest loopback interface.
 */
export function scenarioConfig(eui64: string, nms: ScenarioNmsInfo): string {
  return buildDeviceConfig({
    eui64,
    nmsUrl: `coap://[${nms.address}]:${nms.port}`,
    nmsKey: nms.publicKeyHex,
    hardware: { descr: "OpenCSMP scenario device", name: "scenario", model: "SC-1", mfg: "OpenCSMP", fwrev: "1.0" },
    interfaces: [{ name: "lo", descr: "loopback", type: 24, mtu: 65536 }],
    addresses: [{ addr: "::1", if: 1, pfxlen: 128 }],
    extra: { "reg.min": 1, "reg.max": 4, "fw.hwid": "OPENCSMP" },
  });
}

/**
 * A fresh directory holding `state/` with the 6.8 sample image as the
 * running image: slot 0 is partition file slot-0.bin while boot.json is
 * absent (identity map), the layout pal/posix/slots.c and
 * host/file-storage.ts share. The caller removes `root`.
 */
export function prepareDeviceDir(image: Uint8Array): { root: string; stateDir: string } {
  const root = mkdtempSync(join(tmpdir(), "csmp-scenario-"));
  const stateDir = join(root, "state");
  mkdirSync(stateDir);
  writeFileSync(join(stateDir, "slot-0.bin"), image);
  return { root, stateDir };
}
