import { monitorEventLoopDelay } from "node:perf_hooks";

/**
 * How late this process's event loop runs: Lifeguard's local health takes it as evidence that a
 * missed ack may be this node's fault (the ack sat unread while the loop was busy). The real one
 * samples `perf_hooks.monitorEventLoopDelay`; the simulator drives SwimMembership's `tick` with
 * the lag it models instead.
 *
 * @example
 * const lag = monitorEventLoopLag();
 * setInterval(() => console.log(`stalled ${lag.takeStalledMs()} ms in the last second`), 1000);
 */
export interface EventLoopLag {
  /** How long the event loop stood still since the previous call (or since it started), in ms. */
  takeStalledMs(): number;
  stop(): void;
}

/**
 * The sampling timer's period: a delay shorter than this is not seen. 20 ms is far below the
 * lag that matters (SWIM_LOOP_LAG_MAX_MS) and costs 50 timer wake-ups a second.
 */
export const EVENT_LOOP_LAG_RESOLUTION_MS = 20;

/**
 * An EventLoopLag over `perf_hooks.monitorEventLoopDelay`: what its samples took beyond the
 * sampling period, summed over the samples since the previous call. The histogram is never
 * reset: a reset drops the sample under way, and with it a stall that begins within one period.
 */
export function monitorEventLoopLag(): EventLoopLag {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_LAG_RESOLUTION_MS });
  histogram.enable();
  let totalMs = 0;
  let samples = 0;
  return {
    takeStalledMs() {
      const count = histogram.count;
      const nowTotalMs = count === 0 ? 0 : (histogram.mean * count) / 1e6;
      const stalledMs = nowTotalMs - totalMs - (count - samples) * EVENT_LOOP_LAG_RESOLUTION_MS;
      totalMs = nowTotalMs;
      samples = count;
      return Math.max(0, stalledMs);
    },
    stop() {
      histogram.disable();
    },
  };
}
