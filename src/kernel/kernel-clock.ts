import { monotonicMs } from "../clock/monotonic-clock.ts";
/**
 * The time seam of the kernel: receive timeouts, `sendAfter`, supervisor shutdown timeouts and
 * restart-intensity windows all go through it. `systemClock` is the real one; tests and the
 * simulator pass a `VirtualClock` (virtual-clock.ts) and advance it by hand.
 */
export interface KernelClock {
  /** Monotonic milliseconds (any origin). */
  nowMs(): number;
  /** Calls `callback` once after `delayMs`; the handle is only for `clearTimer`. */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer that has not fired yet; a no-op otherwise. */
  clearTimer(handle: TimerHandle): void;
}

/** Opaque timer handle of a KernelClock. */
export type TimerHandle = unknown;

/** The process's monotonic clock and the event loop's timers. Pending timers keep Node running, as they should. */
export const systemClock: KernelClock = {
  nowMs: monotonicMs,
  setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
