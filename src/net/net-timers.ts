/**
 * Time as the network layer needs it: a monotonic `now` and one-shot timers. Real sockets use
 * `realNetTimers`; tests give the in-memory network a manual clock (test/net/helpers/virtual-timers.ts),
 * so timeouts and keepalives of in-memory connections follow it. (The sync simulator,
 * src/sync/simulator, links SyncEngines without transports and keeps time in its own event queue.)
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
