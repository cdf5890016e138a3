// Reads the wall clock and measures elapsed time with the monotonic clock.

import { crypto, log, time, toHex } from "../../../sdk/assemblyscript/assembly";

export function run(): void {
  const nowMs = time.now();
  log.info(`wall clock: ${new Date(<i64>nowMs).toISOString()} (${nowMs} ms since the Unix epoch)`);

  const started = time.monotonic();
  // Work to measure: a chain of 20000 SHA-256 digests, each over the previous one.
  let digest = crypto.sha256("time_clock");
  for (let i = 1; i < 20_000; i++) digest = crypto.sha256(digest);
  const elapsed = time.monotonic() - started;
  log.info(`20000 chained SHA-256 digests (last ${toHex(digest).substring(0, 16)}...) took ${elapsed} ms of monotonic time`);
  log.info(`monotonic clock never goes back: ${time.monotonic() >= started}`);
}
