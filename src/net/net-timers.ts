/**
 * Time as the network layer needs it: a monotonic `now` and one-shot timers. Real sockets use
 * `realNetTimers`; the simulator passes its virtual clock, so timeouts and keepalives of in-memory
 * connections follow simulated time.
 */
export interface NetTimers {
  /** Milliseconds on a monotonic clock (any origin). */
  now(): number;
  /** Calls `callback` once after `delayMs`; the returned function cancels it. */
  setTimeout(callback: () => void, delayMs: number): () => void;
}

export const realNetTimers: NetTimers = {
  now: () => performance.now(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    // A pending timeout never keeps the process alive: the socket it guards does, while it is open.
    timer.unref();
    return () => clearTimeout(timer);
  },
};
