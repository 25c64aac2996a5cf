// Where the device's own requests go: the configured NMS, or the one an
// NMSRedirectRequest named (one-shot: a reboot returns to the configured NMS).
import { nmsAddr as configuredAddr, nmsPort as configuredPort } from "../device/config";

export const nmsAddr = memory.data(16);
export let nmsPort: i32 = 0;
export let nmsRedirected = false;

export function nmsUseConfigured(): void {
  memory.copy(nmsAddr, configuredAddr, 16);
  nmsPort = configuredPort;
  nmsRedirected = false;
}

export function nmsRedirect(addr: usize, port: i32): void {
  memory.copy(nmsAddr, addr, 16);
  nmsPort = port;
  nmsRedirected = true;
}
