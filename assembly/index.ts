// The agent's exported entry points: everything a host calls.
//
// Data moves through agent-owned static buffers (WAMR's host-managed heap is
// 0 for an AssemblyScript module, so the host never allocates in our memory):
// the host writes into the buffer an export points at, then calls the entry
// point with the length. Each entry point runs to completion.
//
// The agent never allocates: all its state is static memory (memory.data)
// and structs viewed in place. That is why it builds with the `stub` runtime
// (no allocator worth the name, no collector), and test/module.test.ts fails
// the build if any allocation creeps in.
import { CONFIG_CAP, configBuf, applyConfig } from "./device/config";
import { RX_CAP, rxBuf, addrBuf, onDatagram } from "./csmp/transport";
import { startAgent, onTimer, onHostEvent, onConfigUpdate } from "./csmp/agent";
import { configUsed } from "./device/config";
import { onPingDone } from "./csmp/ping";
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
}

/** Timer `id`, armed with pal.timer_arm, has expired. */
export function agent_timer(id: i32): void {
  onTimer(id);
}

/** Where the host writes configuration lines for agent_config_update (room: agent_config_cap() - used). */
export function agent_config_tail(): usize { return configBuf + <usize>configUsed; }

/**
 * Applies len bytes of configuration lines written at agent_config_tail()
 * (later lines override earlier ones). New addresses or NMS restart
 * registration. Returns 0, or negative (reason logged); -3 when the
 * configuration buffer is full: restart the agent with the whole text.
 */
export function agent_config_update(len: i32): i32 {
  const rc = onConfigUpdate(len);
  return rc;
}

/**
 * The host raises device event `code` (assembly/csmp/events.ts: 1 power
 * outage, 2 power restored, 3 tamper, 4 join lost, 5 join regained, 6 IP
 * address changed, 7 storage failure, 11 parent changed), optionally naming
 * a related TLV id. Returns 0, or -1 for an unknown code.
 */
export function agent_event(code: i32, relatedTlv: i32): i32 {
  const ok = onHostEvent(<u32>code, <u32>relatedTlv);
  return ok ? 0 : -1;
}

/** The ping pal.ping started is over (times in ms; 0 when nothing came back). */
export function agent_ping_done(sent: i32, received: i32, minMs: i32, meanMs: i32, maxMs: i32, stdevMs: i32): void {
  onPingDone(<u32>sent, <u32>received, <u32>minMs, <u32>meanMs, <u32>maxMs, <u32>stdevMs);
}
