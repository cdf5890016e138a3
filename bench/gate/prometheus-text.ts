/**
 * Samples read from the Prometheus text exposition format of the nodes' /metrics: a counter
 * summed over the label sets that match, and a histogram (`name_bucket{le="0.01"} 12`) added up
 * over several nodes with percentiles estimated from it. A percentile is the upper bound of the
 * bucket where the cumulative count reaches it: an upper estimate, as coarse as the buckets. Pure.
 */

/**
 * The sum of the samples of `name` whose labels include every pair of `labels` (0 when none).
 * Label values are taken as written (the exporter escapes none of the ones Numax uses).
 */
export function sumSamples(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const open = line.indexOf("{");
    const space = line.lastIndexOf(" ");
    const series = open === -1 ? line.slice(0, space) : line.slice(0, open);
    if (series !== name) continue;
    const labelText = open === -1 ? "" : line.slice(open + 1, line.lastIndexOf("}"));
    const pairs = labelText === "" ? [] : labelText.split(",");
    if (!wanted.every((pair) => pairs.includes(pair))) continue;
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

export interface BucketCounts {
  /** Upper bound (seconds, Infinity for +Inf) -> cumulative count. */
  readonly buckets: ReadonlyMap<number, number>;
  readonly count: number;
  readonly sum: number;
}

/** The histogram `name` in `text`, every label set added together; undefined when absent. */
export function parseHistogram(text: string, name: string): BucketCounts | undefined {
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  let found = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (!Number.isFinite(value)) continue;
    if (rest.startsWith("_bucket")) {
      const le = /le="([^"]+)"/.exec(rest)?.[1];
      if (le === undefined) continue;
      const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + value);
      found = true;
    } else if (rest.startsWith("_count")) {
      count += value;
    } else if (rest.startsWith("_sum")) {
      sum += value;
    }
  }
  return found ? { buckets, count, sum } : undefined;
}

export function addHistograms(histograms: readonly BucketCounts[]): BucketCounts | undefined {
  if (histograms.length === 0) return undefined;
  const buckets = new Map<number, number>();
  for (const histogram of histograms) {
    for (const [bound, value] of histogram.buckets) buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return {
    buckets,
    count: histograms.reduce((total, histogram) => total + histogram.count, 0),
    sum: histograms.reduce((total, histogram) => total + histogram.sum, 0),
  };
}

/** Upper bound of the bucket holding the `percentile`-th (0..100) observation; undefined if empty. */
export function bucketPercentile(histogram: BucketCounts, percentile: number): number | undefined {
  if (histogram.count === 0) return undefined;
  const rank = (percentile / 100) * histogram.count;
  const bounds = [...histogram.buckets.keys()].sort((a, b) => a - b);
  return bounds.find((bound) => histogram.buckets.get(bound)! >= rank);
}
