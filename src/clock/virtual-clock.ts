import type { Clock, TimerHandle } from "./clock.ts";

/**
 * A deterministic Clock: time moves only when `advance` (or `fireNext`) is called, and due timers
 * fire in (due time, creation order). The kernel's tests, the in-memory network's tests and the
 * simulators use it; a seed and a VirtualClock replay the same run.
 *
 * @example
 * const clock = createVirtualClock();
 * const kernel = createKernel({ clock });
 * clock.advance(5_000); // fires every timer due within the next 5 s, in order
 */
export interface VirtualClock extends Clock {
  /** Moves time forward by `ms`, firing due timers one by one (a callback may add timers). */
  advance(ms: number): void;
  /**
   * Fires the earliest timer if it is due by `limitMs`, moving time to its due time first; false
   * (time unchanged) when none is. For drivers that let promise callbacks run between timers.
   */
  fireNext(limitMs: number): boolean;
  /** When the earliest pending timer is due; undefined when none is pending. */
  nextDueMs(): number | undefined;
  /** Timers and intervals not yet fired or cleared. */
  pendingTimers(): number;
}

interface VirtualTimer {
  dueMs: number;
  seq: number;
  readonly callback: () => void;
  /** Set for an interval: it is scheduled again this much later each time it fires. */
  readonly intervalMs: number | undefined;
  cleared: boolean;
}

export function createVirtualClock(startMs = 0): VirtualClock {
  let nowMs = startMs;
  let seq = 0;
  let live = 0;
  // A binary min-heap on (dueMs, seq); cleared timers stay in it until they reach the top.
  const heap: VirtualTimer[] = [];

  const push = (timer: VirtualTimer): void => {
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const pop = (): VirtualTimer => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  };
  const head = (): VirtualTimer | undefined => {
    while (heap.length > 0 && heap[0].cleared) pop();
    return heap[0];
  };
  const schedule = (callback: () => void, delayMs: number, intervalMs: number | undefined): TimerHandle => {
    const timer: VirtualTimer = {
      dueMs: nowMs + Math.max(0, delayMs),
      seq: seq++,
      callback,
      intervalMs,
      cleared: false,
    };
    live++;
    push(timer);
    return timer;
  };
  const fireNext = (limitMs: number): boolean => {
    const timer = head();
    if (timer === undefined || timer.dueMs > limitMs) return false;
    pop();
    nowMs = Math.max(nowMs, timer.dueMs);
    if (timer.intervalMs === undefined) {
      timer.cleared = true;
      live--;
    } else {
      timer.dueMs = nowMs + timer.intervalMs;
      timer.seq = seq++;
      push(timer);
    }
    timer.callback();
    return true;
  };

  return {
    now: () => nowMs,
    setTimeout: (callback, delayMs) => schedule(callback, delayMs, undefined),
    // An interval of 0 would fire forever without time moving.
    setInterval: (callback, intervalMs) =>
      schedule(callback, Math.max(1, intervalMs), Math.max(1, intervalMs)),
    clearTimeout(handle) {
      const timer = handle as VirtualTimer | undefined;
      if (timer === undefined || timer.cleared) return;
      timer.cleared = true;
      live--;
    },
    advance(ms) {
      const targetMs = nowMs + ms;
      while (fireNext(targetMs));
      nowMs = Math.max(nowMs, targetMs);
    },
    fireNext,
    nextDueMs: () => head()?.dueMs,
    pendingTimers: () => live,
  };
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
}
