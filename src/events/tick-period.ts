/**
 * The bounds of a reactive module's tick period, whoever sets it (`tick_every`, or
 * `[modules.<id>] tick` in numax.toml). A leaf module: the config imports it without the ABI.
 */

/** Shortest tick period. */
export const TICK_INTERVAL_MIN_MS = 10;
/** Longest tick period (a timer longer than about 24.8 days would fire at once in Node). */
export const TICK_INTERVAL_MAX_MS = 24 * 60 * 60 * 1000;

/** Whether `ms` is a tick period a module may have. */
export function isTickPeriod(ms: number): boolean {
  return Number.isInteger(ms) && ms >= TICK_INTERVAL_MIN_MS && ms <= TICK_INTERVAL_MAX_MS;
}
