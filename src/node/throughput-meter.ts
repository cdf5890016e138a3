/**
 * Seconds of history the throughput view covers: one bucket per second. A minute shows a trend
 * at a glance and costs 60 small objects.
 */
export const THROUGHPUT_WINDOW_SECS = 60;

/** Seconds the `…PerSecond` rates average over: short enough to follow a burst, long enough not to jitter. */
export const THROUGHPUT_RATE_SECS = 10;

/**
 * Propagation latency samples kept (the newest): percentiles over the window come from these.
 * 4096 doubles and their times, 64 KiB; past that rate the percentiles are those of the latest
 * samples, which is what a live view wants.
 */
export const LATENCY_SAMPLES_MAX = 4096;

/** What the node did over the last THROUGHPUT_WINDOW_SECS (the throughput and latency view). */
export interface ThroughputView {
  readonly windowSeconds: number;
  readonly rateSeconds: number;
  /** Ops applied from peers per second, over the last `rateSeconds`. */
  readonly opsInPerSecond: number;
  /** Ops made here per second, over the last `rateSeconds`. */
  readonly opsOutPerSecond: number;
  /**
   * Propagation latency of the ops applied from peers within the window: the time from the
   * op's stamp (the origin's clock) to its application here, in ms; null without samples.
   */
  readonly propagationMs: {
    readonly samples: number;
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
    readonly max: number | null;
  };
  /** Sync errors within the window (a send that failed, local ops the store could not make durable), by kind. */
  readonly errors: Readonly<Record<string, number>>;
  /** One entry per second of the window, oldest first. */
  readonly perSecond: readonly { readonly opsIn: number; readonly opsOut: number; readonly errors: number }[];
}

interface Bucket {
  second: number;
  opsIn: number;
  opsOut: number;
  errors: Map<string, number>;
}

/** The value at rank `fraction` of `sorted` (nearest rank). */
function percentile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * Counts ops and errors per second and keeps recent latency samples, for the throughput view.
 * Pure: every call is given the time (`nowMs`, wall clock).
 */
export class ThroughputMeter {
  readonly #buckets: Bucket[] = [];
  readonly #latencyMs = new Float64Array(LATENCY_SAMPLES_MAX);
  readonly #latencyAtMs = new Float64Array(LATENCY_SAMPLES_MAX);
  #latencyNext = 0;
  #latencyCount = 0;

  #bucket(nowMs: number): Bucket {
    const second = Math.floor(nowMs / 1000);
    const last = this.#buckets.at(-1);
    if (last !== undefined && last.second === second) return last;
    const bucket = { second, opsIn: 0, opsOut: 0, errors: new Map<string, number>() };
    this.#buckets.push(bucket);
    while (this.#buckets[0]!.second <= second - THROUGHPUT_WINDOW_SECS) this.#buckets.shift();
    return bucket;
  }

  opsOut(count: number, nowMs: number): void {
    this.#bucket(nowMs).opsOut += count;
  }

  opsIn(count: number, nowMs: number): void {
    this.#bucket(nowMs).opsIn += count;
  }

  latency(ms: number, nowMs: number): void {
    this.#latencyMs[this.#latencyNext] = ms;
    this.#latencyAtMs[this.#latencyNext] = nowMs;
    this.#latencyNext = (this.#latencyNext + 1) % LATENCY_SAMPLES_MAX;
    this.#latencyCount = Math.min(this.#latencyCount + 1, LATENCY_SAMPLES_MAX);
  }

  error(kind: string, nowMs: number): void {
    const errors = this.#bucket(nowMs).errors;
    errors.set(kind, (errors.get(kind) ?? 0) + 1);
  }

  view(nowMs: number): ThroughputView {
    const now = Math.floor(nowMs / 1000);
    const bySecond = new Map(this.#buckets.map((bucket) => [bucket.second, bucket]));
    const perSecond = [];
    const errors: Record<string, number> = {};
    let rateIn = 0;
    let rateOut = 0;
    for (let second = now - THROUGHPUT_WINDOW_SECS + 1; second <= now; second++) {
      const bucket = bySecond.get(second);
      const opsIn = bucket?.opsIn ?? 0;
      const opsOut = bucket?.opsOut ?? 0;
      let errorCount = 0;
      for (const [kind, count] of bucket?.errors ?? []) {
        errors[kind] = (errors[kind] ?? 0) + count;
        errorCount += count;
      }
      perSecond.push({ opsIn, opsOut, errors: errorCount });
      // The current second is partial: the rate is over the THROUGHPUT_RATE_SECS before it.
      if (second < now && second >= now - THROUGHPUT_RATE_SECS) {
        rateIn += opsIn;
        rateOut += opsOut;
      }
    }
    const windowStartMs = (now - THROUGHPUT_WINDOW_SECS + 1) * 1000;
    const samples: number[] = [];
    for (let index = 0; index < this.#latencyCount; index++) {
      if (this.#latencyAtMs[index]! >= windowStartMs) samples.push(this.#latencyMs[index]!);
    }
    samples.sort((a, b) => a - b);
    const at = (fraction: number) => {
      const value = percentile(samples, fraction);
      return value === null ? null : round(value);
    };
    return {
      windowSeconds: THROUGHPUT_WINDOW_SECS,
      rateSeconds: THROUGHPUT_RATE_SECS,
      opsInPerSecond: round(rateIn / THROUGHPUT_RATE_SECS),
      opsOutPerSecond: round(rateOut / THROUGHPUT_RATE_SECS),
      propagationMs: {
        samples: samples.length,
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        max: at(1),
      },
      errors,
      perSecond,
    };
  }
}
