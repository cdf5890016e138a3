import type { KernelClock, TimerHandle } from "./kernel-clock.ts";

/**
 * A deterministic KernelClock: time moves only when `advance` is called, and due timers fire in
 * (due time, creation order). For tests and the simulator.
 *
 * @example
 * const clock = createVirtualClock();
 * const kernel = createKernel({ clock });
 * clock.advance(5_000); // fires every timer due within the next 5 s, in order
 */
export interface VirtualClock extends KernelClock {
  /** Moves time forward by `ms`, firing due timers one by one (a callback may add timers). */
  advance(ms: number): void;
  /** Timers not yet fired or cleared. */
  pendingTimers(): number;
}

interface VirtualTimer {
  readonly dueMs: number;
  readonly seq: number;
  readonly callback: () => void;
}

export function createVirtualClock(startMs = 0): VirtualClock {
  let nowMs = startMs;
  let seq = 0;
  const timers = new Set<VirtualTimer>();

  function nextDue(limitMs: number): VirtualTimer | undefined {
    let next: VirtualTimer | undefined;
    for (const timer of timers) {
      if (timer.dueMs > limitMs) continue;
      if (
        next === undefined ||
        timer.dueMs < next.dueMs ||
        (timer.dueMs === next.dueMs && timer.seq < next.seq)
      ) {
        next = timer;
      }
    }
    return next;
  }

  return {
    nowMs: () => nowMs,
    setTimer(callback, delayMs): TimerHandle {
      const timer: VirtualTimer = { dueMs: nowMs + Math.max(0, delayMs), seq: seq++, callback };
      timers.add(timer);
      return timer;
    },
    clearTimer(handle) {
      timers.delete(handle as VirtualTimer);
    },
    advance(ms) {
      const targetMs = nowMs + ms;
      for (let timer = nextDue(targetMs); timer !== undefined; timer = nextDue(targetMs)) {
        timers.delete(timer);
        nowMs = timer.dueMs;
        timer.callback();
      }
      nowMs = targetMs;
    },
    pendingTimers: () => timers.size,
  };
}
