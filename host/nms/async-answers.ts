// Requests answered later: with the `a` option (and for multicast) a device
// answers by a NON POST <nms>/c of its own, which carries no token and so
// cannot be matched like a CoAP response. A pending request waits here for
// a POST /c that answers it (answersRequest: requested TLVs plus SessionID
// and CurrentTime): unicast takes the first from its device, multicast
// collects every device's until its window closes.
import { CoapTimeoutError, type NmsTimers } from "./client.ts";
import { answersRequest, type Peer } from "./requests.ts";
import type { DeviceAnswer } from "./sim-types.ts";
import type { Tlv } from "./tlv.ts";

interface Waiter {
  expected: ReadonlySet<string>;
  /** Only answers from this address count (null: any device, for multicast). */
  address: string | null;
  answers: DeviceAnswer[];
  /** Resolve at the first answer (unicast) or collect until the window closes (multicast). */
  single: boolean;
  finish: () => void;
  fail: (e: Error) => void;
}

export interface PendingAnswers {
  promise: Promise<DeviceAnswer[]>;
  /** Stops waiting without settling the promise (the request could not be sent). */
  cancel: () => void;
}

export class AsyncAnswers {
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly timers: NmsTimers) {}

  /**
   * Starts waiting, before the request goes out (on a fast network the
   * answer could otherwise arrive first). Unicast (single) rejects with
   * CoapTimeoutError when nothing came within windowMs; multicast resolves
   * with what came.
   */
  wait(expected: ReadonlySet<string>, address: string | null, windowMs: number, single: boolean): PendingAnswers {
    let cancel: () => void = () => {};
    const promise = new Promise<DeviceAnswer[]>((resolve, reject) => {
      let timer: unknown;
      const done = (w: Waiter) => {
        this.timers.cancel(timer);
        this.waiters.delete(w);
      };
      const w: Waiter = {
        expected, address, answers: [], single,
        finish: () => { done(w); resolve(w.answers); },
        fail: (e) => { done(w); reject(e); },
      };
      timer = this.timers.schedule(windowMs, () => {
        if (single) w.fail(new CoapTimeoutError(`no asynchronous answer from [${address}] within ${windowMs} ms`));
        else w.finish();
      });
      this.waiters.add(w);
      cancel = () => done(w);
    });
    return { promise, cancel };
  }

  /** A POST /c arrived: hands it to every request it answers; true when it answered one. */
  deliver(eui64: string | null, from: Peer, tlvs: Tlv[]): boolean {
    let taken = false;
    for (const w of [...this.waiters]) {
      if (w.address !== null && w.address !== from.address) continue;
      if (!answersRequest(tlvs, w.expected)) continue;
      w.answers.push({ eui64, from, code: null, tlvs });
      taken = true;
      if (w.single) w.finish();
    }
    return taken;
  }

  /** Rejects everything still waiting. */
  failAll(error: Error): void {
    for (const w of [...this.waiters]) w.fail(error);
  }
}
