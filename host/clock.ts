// Time for the host: a monotonic clock for protocol timers, a wall clock that
// starts untrusted until the NMS sets it (CSMP CurrentTime), and one-shot
// callbacks. RealClock runs on Node's timers; VirtualClock only moves when a
// test (or the CLI's --virtual mode) advances it, so hours of registration
// back-off and report intervals run in milliseconds, deterministically.

/** Identifies a scheduled callback for cancel(). */
export type TimerHandle = number;

export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin; never goes backwards. */
  nowMs(): number;
  /**
   * Best-effort wall time in milliseconds since the POSIX epoch, whether or
   * not it is trusted (logs and captures need a timestamp either way).
   */
  wallTimeMs(): number;
  /** True once setWallTimeMs() was called (or the clock was built trusted). */
  isWallTimeSynchronised(): boolean;
  /** Sets the wall clock; from then on it is trusted. */
  setWallTimeMs(posixMs: number): void;
  /** Calls fn once, delayMs (>= 0) from now. */
  schedule(delayMs: number, fn: () => void): TimerHandle;
  /** Cancels a pending callback; unknown or already fired handles are ignored. */
  cancel(handle: TimerHandle): void;
}

// setTimeout holds a signed 32-bit delay; anything longer fires at once with a
// warning. The PAL's timer_arm takes a u32, so long delays are chained.
const MAX_TIMEOUT_MS = 0x7fffffff;

export interface RealClockOptions {
  /**
   * Trust the host's system clock from the start (a Linux box with NTP).
   * Default false: the device waits for the NMS to tell it the time, as a
   * mesh node without a battery-backed RTC does.
   */
  trustSystemTime?: boolean;
}

export class RealClock implements Clock {
  private readonly origin = performance.now();
  private synchronised: boolean;
  /** Wall time minus monotonic time, once the wall clock was set. */
  private wallOffsetMs: number | null = null;
  private nextHandle = 1;
  private readonly timers = new Map<TimerHandle, NodeJS.Timeout>();

  constructor(options: RealClockOptions = {}) {
    this.synchronised = options.trustSystemTime ?? false;
  }

  nowMs(): number {
    return Math.floor(performance.now() - this.origin);
  }

  wallTimeMs(): number {
    // After a set we keep our own offset: the OS clock needs privileges, and
    // a monotonic base is immune to someone else stepping the system time.
    // performance.timeOrigin + now() is Date.now() with sub-millisecond precision (pcap wants µs).
    return this.wallOffsetMs === null ? performance.timeOrigin + performance.now() : performance.now() - this.origin + this.wallOffsetMs;
  }

  isWallTimeSynchronised(): boolean {
    return this.synchronised;
  }

  setWallTimeMs(posixMs: number): void {
    this.wallOffsetMs = posixMs - (performance.now() - this.origin);
    this.synchronised = true;
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const handle = this.nextHandle++;
    const due = performance.now() + Math.max(0, delayMs);
    const arm = (): void => {
      const left = due - performance.now();
      const t = setTimeout(() => {
        if (due - performance.now() > 1) { arm(); return; }
        this.timers.delete(handle);
        fn();
      }, Math.min(Math.max(0, Math.ceil(left)), MAX_TIMEOUT_MS));
      this.timers.set(handle, t);
    };
    arm();
    return handle;
  }

  cancel(handle: TimerHandle): void {
    const t = this.timers.get(handle);
    if (t !== undefined) {
      clearTimeout(t);
      this.timers.delete(handle);
    }
  }

  /** Cancels every pending callback (shutdown: lets the event loop drain). */
  cancelAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Number of pending callbacks. */
  pending(): number {
    return this.timers.size;
  }
}

export interface VirtualClockOptions {
  /** Monotonic start value (default 0). */
  startMs?: number;
  /** Wall time at startMs (default 2024-01-01T00:00:00Z). */
  wallStartMs?: number;
  /** Start with a trusted wall clock (default false, as a fresh device). */
  wallSynchronised?: boolean;
}

interface VirtualTimer {
  handle: TimerHandle;
  due: number;
  fn: () => void;
}

const DEFAULT_VIRTUAL_EPOCH_MS = Date.UTC(2024, 0, 1);

/**
 * Time that moves only through advance()/runUntil(). Callbacks fire in order
 * of due time, ties in order of scheduling; a callback scheduled while time
 * advances fires in the same advance if it falls inside the window (so a
 * zero-delay timer armed from a callback runs before time moves on).
 * An exception from a callback propagates out of advance()/runUntil() with
 * the clock left at that callback's time.
 */
export class VirtualClock implements Clock {
  private now: number;
  private wallOffsetMs: number;
  private synchronised: boolean;
  private nextHandle = 1;
  // Kept sorted by (due, handle); handles increase, so ties keep schedule order.
  private queue: VirtualTimer[] = [];

  constructor(options: VirtualClockOptions = {}) {
    this.now = options.startMs ?? 0;
    this.wallOffsetMs = (options.wallStartMs ?? DEFAULT_VIRTUAL_EPOCH_MS) - this.now;
    this.synchronised = options.wallSynchronised ?? false;
  }

  nowMs(): number {
    return this.now;
  }

  wallTimeMs(): number {
    return this.now + this.wallOffsetMs;
  }

  isWallTimeSynchronised(): boolean {
    return this.synchronised;
  }

  setWallTimeMs(posixMs: number): void {
    this.wallOffsetMs = posixMs - this.now;
    this.synchronised = true;
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const timer: VirtualTimer = { handle: this.nextHandle++, due: this.now + Math.max(0, delayMs), fn };
    // Binary search for the first timer due strictly later: insertion after
    // equal due times keeps FIFO order among ties.
    let lo = 0, hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.queue[mid].due <= timer.due) lo = mid + 1; else hi = mid;
    }
    this.queue.splice(lo, 0, timer);
    return timer.handle;
  }

  cancel(handle: TimerHandle): void {
    const i = this.queue.findIndex((t) => t.handle === handle);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** Number of pending callbacks. */
  pending(): number {
    return this.queue.length;
  }

  /** Due time of the earliest pending callback, or undefined. */
  nextDueMs(): number | undefined {
    return this.queue[0]?.due;
  }

  /** Fires the earliest callback if it is due by `limit`; false when none is. */
  private fireNext(limit: number): boolean {
    const next = this.queue[0];
    if (!next || next.due > limit) return false;
    this.queue.shift();
    this.now = Math.max(this.now, next.due);
    next.fn();
    return true;
  }

  /** Moves time forward by ms (>= 0), firing everything that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advance: ms must be >= 0, got ${ms}`);
    const target = this.now + ms;
    while (this.fireNext(target)) { /* keep firing */ }
    this.now = target;
  }

  /** Advances to an absolute monotonic time (no-op when already past it). */
  advanceTo(ms: number): void {
    this.advance(Math.max(0, ms - this.now));
  }

  /**
   * Advances until predicate() holds, checking it before starting and after
   * every callback, for at most maxMs. Returns true when the predicate held;
   * on false the clock stands at start + maxMs.
   */
  runUntil(predicate: () => boolean, maxMs: number): boolean {
    if (!(maxMs >= 0)) throw new RangeError(`VirtualClock.runUntil: maxMs must be >= 0, got ${maxMs}`);
    const limit = this.now + maxMs;
    if (predicate()) return true;
    while (this.fireNext(limit)) {
      if (predicate()) return true;
    }
    this.now = limit;
    return predicate();
  }
}
