// The NMS side of downloading the 6.9 sample image onto a csmp-agent
// device running 6.8, as steps of a power-cut sequence
// (power-cut-sequence.ts), and the NMS carrying on after a cut: it asks the
// device what it holds (FirmwareImageInfo) and sends only what is missing,
// as a campaign does (host/nms/campaign.ts), until the device runs 6.9.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { codeText } from "../../host/nms/coap.ts";
import { blockCount, blockData, receivedBlocks } from "../../host/nms/campaign-bitmap.ts";
import { IMAGE_69 } from "../scenario/device.ts";
import { responseOf, type ScenarioNms } from "../scenario/scenario.ts";
import type { Row } from "./firmware-flash.ts";
import { until } from "./power-cut-run.ts";
import { registrations, type Restarted, type Step, type Target, type World } from "./power-cut-sequence.ts";

export const IMAGE = readFileSync(IMAGE_69);
const HASH = createHash("sha256").update(IMAGE).digest();
/** The largest block the agent takes: the fewest blocks (and cuts) for the image. */
export const BLOCK = 1024;
export const BLOCKS = blockCount(IMAGE.length, BLOCK);
export const VERSION = "6.9.99";

export const transferRequest: Step = {
  name: "TransferRequest",
  send: (s, t) => s.nms.post(t, [{ type: "TransferRequest", value: {
    hwInfo: { hwId: "OPENCSMP" }, fileHash: HASH, fileName: "opencsmp-node", version: VERSION, fileSize: IMAGE.length, blockSize: BLOCK,
  } }]),
};

export const imageBlock = (n: number): Step => ({
  name: `ImageBlock ${n}`,
  // ImageBlock is exempt from signing (draft), as in the scenario.
  send: (s, t) => s.nms.post(t, [{ type: "ImageBlock", value: { fileHash: HASH, blockNum: n, blockData: blockData(IMAGE, BLOCK, n) } }], { signed: false }),
});

/** LoadRequest for now (loadTime 1, so FirmwareImageInfo shows the load pending); over once the agent rebooted and registered. */
export const loadRequest: Step = {
  name: "LoadRequest and the reboot into 6.9",
  send: (s, t) => s.nms.post(t, [{ type: "LoadRequest", value: { fileHash: HASH, loadTime: 1 } }]),
  settled: (w, before) => registrations(w) > before,
};

/** FirmwareImageInfo (75): one row per slot holding an image. */
export async function images(s: ScenarioNms, t: Target): Promise<Row[]> {
  const r = await s.nms.get(t, [75], { timeoutMs: 5_000 });
  expect(codeText(r.code!), "GET FirmwareImageInfo").toBe("2.05");
  return r.tlvs.map((x) => x.value as Row);
}

const isFile = (r: Row | undefined) => r?.fileHash instanceof Uint8Array && Buffer.from(r.fileHash).equals(HASH);
export const runningRow = (rows: readonly Row[]) => rows.find((r) => r.isRunning === true);

/**
 * After a cut and the restart: a load the device has pending is waited out
 * (it reboots by itself), a device holding no part of the file gets the
 * TransferRequest again, then the blocks its bitmap misses, then a
 * LoadRequest, and the reboot's registration is waited for. Returns the
 * rows once slot 0 runs the file.
 */
export async function finishDownload(w: World, r: Restarted): Promise<Row[]> {
  const rebooted = (before: number) => until(r, "the reboot into 6.9 and its registration", () => registrations(w) > before);
  for (let pass = 0; pass < 4; pass++) {
    // Taken before the question: a reboot that answers it may come any time after.
    const regs = registrations(w);
    const rows = await images(w.s, r.target);
    if (isFile(runningRow(rows))) return rows;
    const upload = rows.find((x) => x.isRunning !== true && isFile(x));
    if (upload && Number(upload.loadTime ?? 0) > 0) {
      await rebooted(regs);
      continue;
    }
    if (!upload) {
      expect(responseOf((await transferRequest.send(w.s, r.target)).tlvs, 71), "TransferResponse").toBe(0);
      continue;
    }
    const have = receivedBlocks(upload as { bitmap?: Uint8Array; bitmapOffset?: number }, BLOCKS);
    for (let n = 0; n < BLOCKS; n++) {
      if (have[n]) continue;
      const b = await imageBlock(n).send(w.s, r.target);
      expect(codeText(b.code!).startsWith("2."), `block ${n} answered ${codeText(b.code!)}`).toBe(true);
    }
    expect(responseOf((await loadRequest.send(w.s, r.target)).tlvs, 72), "LoadResponse").toBe(0);
    await rebooted(regs);
  }
  throw new Error("the device does not run 6.9 after 4 passes");
}
