// Wall-clock and monotonic time from the host.
//
//   const started = time.monotonic();
//   log.info(new Date(<i64>time.now()).toISOString());

import { time_monotonic, time_now } from "./abi";

/** Milliseconds since the Unix epoch (wall clock: may jump). */
export function now(): u64 {
  return time_now();
}

/** Milliseconds since the runtime started; never decreases: use it to measure durations. */
export function monotonic(): u64 {
  return time_monotonic();
}
