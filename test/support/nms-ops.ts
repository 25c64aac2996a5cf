// NMS operations for end-to-end tests, built on host/nms (protobufjs codec,
// FND-style signing): signed POSTs, GETs, and helpers to run the virtual
// clock until an answer is in.
import { get, post, codeText, CoapType, type CoapMessage } from "../../host/nms/coap.ts";
import { decodeTlvs, encodeTlvs, type Tlv, type TlvInput } from "../../host/nms/tlv.ts";
import { generateNmsKeyPair, publicKeyHex, signPayload, type NmsKeyPair } from "../../host/nms/sign.ts";
import type { World, Device } from "./testbed.ts";

export const nmsKeys: NmsKeyPair = generateNmsKeyPair();
export const nmsKeyHex = publicKeyHex(nmsKeys);

export interface Answer { code: string; tlvs: Tlv[]; message: CoapMessage }

/** Sends a request and runs virtual time until the answer is in. */
export async function exchange(world: World, device: Device, msg: CoapMessage, address = device.address): Promise<Answer> {
  const pending = world.nms.request(msg, address, device.port);
  let done = false;
  pending.then(() => { done = true; }, () => { done = true; });
  for (let i = 0; i < 200 && !done; i++) { world.clock.advance(100); await Promise.resolve(); }
  const r = await pending;
  return { code: codeText(r.message.code), tlvs: r.message.payload.length ? decodeTlvs(r.message.payload) : [], message: r.message };
}

/** Wall-clock seconds of the virtual world. */
export function nowS(world: World): number { return Math.floor(world.clock.wallTimeMs() / 1000); }

/** A payload signed as FND signs it, valid from a minute ago for an hour unless told otherwise. */
export function signed(world: World, tlvs: TlvInput[], window?: { notBefore: number; notAfter: number }, keys = nmsKeys): Uint8Array {
  const now = nowS(world);
  return signPayload(encodeTlvs(tlvs), keys, window ?? { notBefore: now - 60, notAfter: now + 3600 });
}

export function postTo(payload: Uint8Array, confirmable = true): CoapMessage {
  return post("/c", payload, { confirmable });
}

export function getTlvs(ids: (number | string)[], nonConfirmable = false): CoapMessage {
  const m = get("/c", [`q=${ids.join("+")}`], Uint8Array.of(9));
  return nonConfirmable ? { ...m, type: CoapType.NonConfirmable } : m;
}
