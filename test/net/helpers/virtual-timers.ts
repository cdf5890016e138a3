import type { NetTimers } from "../../../src/net/net-timers.ts";

/** A manual clock for deterministic tests: time moves only through `advance`. */
export interface VirtualTimers extends NetTimers {
  /** Moves time forward by `ms`, firing due timers in order and letting promise callbacks run between them. */
  advance(ms: number): Promise<void>;
}

export function virtualTimers(): VirtualTimers {
  let now = 0;
  let sequence = 0;
  const pending: Array<{ at: number; order: number; callback: () => void }> = [];
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => now,
    setTimeout(callback, delayMs) {
      const entry = { at: now + Math.max(0, delayMs), order: sequence++, callback };
      pending.push(entry);
      return () => {
        const index = pending.indexOf(entry);
        if (index >= 0) pending.splice(index, 1);
      };
    },
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (;;) {
        pending.sort((a, b) => a.at - b.at || a.order - b.order);
        const next = pending[0];
        if (next === undefined || next.at > target) break;
        pending.shift();
        now = next.at;
        next.callback();
        await settle();
      }
      now = target;
      await settle();
    },
  };
}
