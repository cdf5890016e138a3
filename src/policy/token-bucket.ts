/**
 * A token bucket without a clock of its own (the caller passes the time): `ratePerSec` tokens
 * come back per second, up to one second's worth (the burst). A take may leave the bucket in
 * debt: the taker then waits until the debt is paid back, so calls of any size pass in their
 * turn and the long-run rate is exactly `ratePerSec`. A call larger than the burst passes at once
 * when the bucket is full (the calls after it pay its debt); otherwise it could never pass.
 *
 * @example
 * const bucket = new TokenBucket(100, monotonicMs());
 * const waitMs = bucket.take(1, monotonicMs(), 2_000); // 0: at once; undefined: refused
 */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #atMs: number;

  constructor(ratePerSec: number, nowMs: number) {
    this.#ratePerMs = ratePerSec / 1000;
    this.#burst = ratePerSec;
    this.#tokens = ratePerSec;
    this.#atMs = nowMs;
  }

  /**
   * Takes `cost` tokens at `nowMs` and answers how many ms the taker must wait before it goes on
   * (0: at once), or undefined, taking nothing, when that wait would pass `waitMsMax`.
   */
  take(cost: number, nowMs: number, waitMsMax: number): number | undefined {
    if (nowMs > this.#atMs) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (nowMs - this.#atMs) * this.#ratePerMs);
      this.#atMs = nowMs;
    }
    const left = this.#tokens - cost;
    if (left >= 0 || this.#tokens >= this.#burst) {
      this.#tokens = left;
      return 0;
    }
    const waitMs = -left / this.#ratePerMs;
    if (waitMs > waitMsMax) return undefined;
    this.#tokens = left;
    return waitMs;
  }

  /** Gives back `cost` tokens a take took for a call that then did nothing (up to the burst). */
  refund(cost: number): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + cost);
  }
}
