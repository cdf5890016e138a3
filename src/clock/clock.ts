import { monotonicMs } from "./monotonic-clock.ts";

/**
 * The one time seam of the codebase: the kernel (receive timeouts, `sendAfter`, supervisor
 * shutdown timeouts, restart-intensity windows), the network (handshake, read and write
 * timeouts, keepalives, in-memory delivery delays), peer management (ticks, redials, dial
 * timeouts), peer exchange, discovery, membership and a guest's rate-quota waits all wait
 * through a `Clock`. `systemClock` and
 * `backgroundClock` are the real ones; tests and the simulator pass a `VirtualClock`
 * (virtual-clock.ts) and move time by hand, so one seed replays a whole node.
 *
 * @example
 * const timer = clock.setTimeout(() => redial(peer), 500);
 * clock.clearTimeout(timer); // the peer came back first
 */
export interface Clock {
  /** Monotonic milliseconds (any origin; fractional on the real clocks). */
  now(): number;
  /** Calls `callback` once after `delayMs`; the handle is only for `clearTimeout`. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Calls `callback` every `intervalMs` until `clearTimeout` is called with the handle. */
  setInterval(callback: () => void, intervalMs: number): TimerHandle;
  /** Cancels a timer or interval of this clock; a no-op for one that fired already, was cleared, or is undefined. */
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque timer handle of a Clock. */
export type TimerHandle = unknown;

function realClock(keepsProcessAlive: boolean): Clock {
  const hold = (timer: NodeJS.Timeout): NodeJS.Timeout => (keepsProcessAlive ? timer : timer.unref());
  return {
    now: monotonicMs,
    setTimeout: (callback, delayMs) => hold(setTimeout(callback, delayMs)),
    setInterval: (callback, intervalMs) => hold(setInterval(callback, intervalMs)),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  };
}

/**
 * The process's monotonic clock and the event loop's timers; a pending timer keeps Node running,
 * as the kernel's must (a guest waiting in `receive` with a timeout is work still to do).
 */
export const systemClock: Clock = realClock(true);

/**
 * The same clock, whose timers never keep the process alive: the network's, peer management's
 * and discovery's. What they guard (a socket, a listener, a running node) does while it is open.
 */
export const backgroundClock: Clock = realClock(false);
