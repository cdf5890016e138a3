/**
 * Milliseconds (fractional) since this module was loaded, from the monotonic clock. Used instead
 * of `performance.now()`, whose first use loads perf_hooks (a few milliseconds of every
 * `nx run`'s startup).
 */
const ORIGIN_NS = process.hrtime.bigint();

export function monotonicMs(): number {
  return Number(process.hrtime.bigint() - ORIGIN_NS) / 1e6;
}
