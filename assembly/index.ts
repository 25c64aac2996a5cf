// The agent's exported entry points: everything a host calls.
//
// Data moves through agent-owned static buffers (WAMR's host-managed heap is
// 0 for an AssemblyScript module, so the host never allocates in our memory):
// the host writes into the buffer an export points at, then calls the entry
// point with the length. Each entry point runs to completion and ends with a
// garbage collection, so nothing allocated while handling it outlives it.
import { CONFIG_CAP, configBuf, applyConfig } from "./device/config";
import { RX_CAP, rxBuf, addrBuf, onDatagram } from "./csmp/transport";
import { startAgent, onTimer } from "./csmp/agent";
import "./runtime/fatal";

/** Where the host writes the device configuration text (see device/config.ts). */
export function agent_config_buf(): usize { return configBuf; }
export function agent_config_cap(): i32 { return CONFIG_CAP; }

/**
 * Parses the configuration the host wrote (cfgLen bytes) and starts the
 * agent. Returns 0, or a negative code after logging the reason; an agent that
 * failed to initialise ignores every other call.
 */
export function agent_init(cfgLen: i32): i32 {
  let rc = applyConfig(cfgLen);
  if (rc == 0) rc = startAgent();
  __collect();
  return rc;
}

/** Where the host writes a received datagram (capacity agent_rx_cap()). */
export function agent_rx_buf(): usize { return rxBuf; }
export function agent_rx_cap(): i32 { return RX_CAP; }

/** 32 bytes: the datagram's source IPv6 address, then its destination address. */
export function agent_addr_buf(): usize { return addrBuf; }

/** A datagram of len bytes sits in the rx buffer, addresses in the addr buffer. */
export function agent_datagram(len: i32, srcPort: i32, dstPort: i32): void {
  onDatagram(len, srcPort, dstPort);
  __collect();
}

/** Timer `id`, armed with pal.timer_arm, has expired. */
export function agent_timer(id: i32): void {
  onTimer(id);
  __collect();
}
