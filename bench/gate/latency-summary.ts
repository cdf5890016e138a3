import * as hdr from "hdr-histogram-js";

/**
 * Latency figures from the guests' histograms. A guest records into a log-linear histogram of
 * microseconds (bench/guests/lib/latency-histogram.ts) and sends its non-empty buckets; this
 * file maps each bucket back to its lowest value and records it into an HdrHistogram (3
 * significant digits, the same precision), where the nodes' histograms merge.
 */

/** The guests' layout (bench/guests/lib/latency-histogram.ts SUB_BUCKET_BITS); summaries state it. */
export const GUEST_SUB_BUCKET_BITS = 10;

/** The lowest value (µs) of bucket `index` of the guests' layout with `subBucketBits` (10). */
export function bucketLowestValue(index: number, subBucketBits: number): number {
  const half = 2 ** subBucketBits;
  if (index < 2 * half) return index;
  const exponent = Math.floor(index / half) - 1;
  return ((index % half) + half) * 2 ** exponent;
}

export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2 ** 37,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/** Adds a guest's histogram (its summary's, or an interval's) to `into`. */
export function addGuestHistogram(
  into: hdr.Histogram,
  hist: readonly (readonly [number, number])[],
  subBucketBits: number = GUEST_SUB_BUCKET_BITS,
): void {
  for (const [index, count] of hist) {
    // HdrHistogram cannot record 0: a sub-microsecond latency counts as 1 µs.
    into.recordValueWithCount(Math.max(1, bucketLowestValue(index, subBucketBits)), count);
  }
}

export interface LatencyMs {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function latencyMs(histogram: hdr.Histogram): LatencyMs {
  if (histogram.totalCount === 0) return { p50: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 };
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p95: ms(histogram.getValueAtPercentile(95)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
    count: histogram.totalCount,
  };
}
