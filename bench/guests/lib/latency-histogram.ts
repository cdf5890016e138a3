// An HDR-style (log-linear) histogram of latencies in microseconds, recorded without allocation.
//
// Layout (the runner decodes it, bench/gate/guest-histogram.ts): values below 2048 µs have a
// bucket each; above, every power of two is split into 1024 equal buckets, so a recorded value
// is known to within 1/1024 (0.1 %), HdrHistogram's precision with 3 significant digits.
// Bucket index i holds values in [lowest(i), lowest(i + 1)):
//   i < 2048: lowest(i) = i;  else e = (i >> 10) - 1, lowest(i) = ((i & 1023) | 1024) << e.

export const SUB_BUCKET_BITS: u32 = 10;
const SUB_BUCKET_HALF: u32 = 1 << SUB_BUCKET_BITS;
/** Values are clamped to 2^36 µs (about 19 hours). */
const VALUE_MAX: u64 = (<u64>1 << 36) - 1;
const BUCKETS: i32 = <i32>((36 - SUB_BUCKET_BITS + 1) * SUB_BUCKET_HALF);

export function bucketOf(value: u64): i32 {
  const v = value > VALUE_MAX ? VALUE_MAX : value;
  if (v < <u64>(SUB_BUCKET_HALF << 1)) return <i32>v;
  const exponent = <u32>(63 - clz(v)) - SUB_BUCKET_BITS;
  return <i32>((exponent + 1) * SUB_BUCKET_HALF + <u32>(v >> exponent) - SUB_BUCKET_HALF);
}

export function lowestOf(index: i32): u64 {
  if (index < <i32>(SUB_BUCKET_HALF << 1)) return <u64>index;
  const exponent = <u32>(index >> SUB_BUCKET_BITS) - 1;
  return <u64>((<u32>index & (SUB_BUCKET_HALF - 1)) | SUB_BUCKET_HALF) << exponent;
}

export class LatencyHistogram {
  counts: StaticArray<u64> = new StaticArray<u64>(BUCKETS);
  total: u64 = 0;
  maxValue: u64 = 0;
  /** Range of touched buckets, so reset and scans skip the empty ends. */
  lowIndex: i32 = BUCKETS;
  highIndex: i32 = -1;

  record(value: u64): void {
    const index = bucketOf(value);
    unchecked((this.counts[index] += 1));
    this.total++;
    if (value > this.maxValue) this.maxValue = value;
    if (index < this.lowIndex) this.lowIndex = index;
    if (index > this.highIndex) this.highIndex = index;
  }

  /** The lowest value of the bucket holding the `percentile`-th (0..100) recorded value. */
  percentile(percentile: f64): u64 {
    if (this.total == 0) return 0;
    let rank = <u64>Math.ceil((percentile / 100) * <f64>this.total);
    if (rank < 1) rank = 1;
    let seen: u64 = 0;
    for (let i = this.lowIndex; i <= this.highIndex; i++) {
      seen += unchecked(this.counts[i]);
      if (seen >= rank) return lowestOf(i);
    }
    return this.maxValue;
  }

  reset(): void {
    for (let i = this.lowIndex; i <= this.highIndex; i++) unchecked((this.counts[i] = 0));
    this.total = 0;
    this.maxValue = 0;
    this.lowIndex = BUCKETS;
    this.highIndex = -1;
  }
}
