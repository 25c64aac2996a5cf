// Every NMS request FND sent in the real capture csmp_get.pcap, replayed
// into the agent: each answer is a well-formed 2.05 ACK with the request's
// message ID and token, carrying the asked TLV type where the device has it.
import { describe, it, expect } from "vitest";
import { readUdpDatagrams } from "../host/pcap.ts";
import { decodeCoap, codeText, CoapType, queryValue } from "../host/nms/coap.ts";
import { decodeTlvs } from "../host/nms/tlv.ts";
import { createWorld, addDevice } from "./support/testbed.ts";
import { requireAddress } from "../host/ipv6.ts";

const VECTORS = new URL("../../shared/vectors/", import.meta.url).pathname;

describe("replay of FND's GETs from csmp_get.pcap", () => {
  const requests = readUdpDatagrams(`${VECTORS}csmp_get.pcap`)
    .filter((d) => d.dstPort === 61628)
    .map((d) => ({ bytes: d.payload, msg: decodeCoap(d.payload) }))
    .filter((r) => r.msg.code === 1);

  it("the capture holds FND's walk: q = 1, 2, 7, 11, 12, 13, 16, 17, 18, 22, 23, 25, 35, 53, 55, 58, 75", () => {
    const qs = requests.map((r) => queryValue(r.msg, "q"));
    expect(qs).toEqual(["1", "2", "7", "11", "12", "13", "16", "17", "18", "22", "23", "25", "35", "53", "55", "58", "75"]);
  });

  it("each answer is a 2.05 ACK echoing message ID and token, with the TLV where the device has it", () => {
    const world = createWorld();
    const device = addDevice(world, {
      extra: { "wpan.panid": 28, "wpan.rank": 256, "rpl.enabled": 1 },
    });
    const served = new Set([1, 2, 11, 12, 16, 18, 22, 35]);
    for (const r of requests) {
      const answers: Uint8Array[] = [];
      const untap = world.net.tap((d) => { if (d.srcPort === device.port) answers.push(d.payload); });
      world.nmsEndpoint.send(requireAddress(device.address), device.port, r.bytes);
      world.clock.runUntil(() => false, 20);
      untap();
      const q = Number(queryValue(r.msg, "q"));
      expect(answers, `q=${q}`).toHaveLength(1);
      const a = decodeCoap(answers[0]);
      expect(a.type).toBe(CoapType.Acknowledgement);
      expect(codeText(a.code)).toBe("2.05");
      expect(a.mid).toBe(r.msg.mid);
      expect([...a.token]).toEqual([...r.msg.token]);
      expect(a.options).toEqual([]); // like the reference device: no options in answers
      const types = decodeTlvs(a.payload).map((t) => t.type);
      if (served.has(q)) expect(types[0], `q=${q}`).toBe(q);
      expect(types.every((t) => t === q), `q=${q}`).toBe(true);
    }
  });
});
