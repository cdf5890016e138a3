/**
 * Compacting the range arrays once this many leading ranges are dead (and they are more than half
 * of them): each compaction copies the live part, so the copies add up to less than one per removal.
 */
const DEAD_SLOTS_BEFORE_COMPACTION = 1024;

/**
 * One origin's sequence numbers in the op-log, ascending, held as runs of consecutive sequences
 * (`[start, end]`, in order, never touching): new ones arrive at the end, eviction takes the
 * lowest, and ops that arrive out of order (a burst shed by a busy sender and repaired later from
 * its op-log) fill a gap, growing the run below or above it. A few runs hold an origin's whole
 * log, so an insert anywhere costs a binary search over them: with one array slot per sequence,
 * an op inserted below the tail was a scan and a copy of every slot above it (in the distinct-key
 * gate at 20 000 ops/s per node, 16-19 % of each node's thread, repairs filling gaps tens of
 * thousands of ops wide). Removing the lowest moves a start index instead of shifting the arrays:
 * `Array.prototype.shift` copies an array once it is large.
 */
export class SortedSeqs {
  /** First and last sequence of each run, in ascending order; runs before `#head` are evicted. */
  #starts: number[] = [];
  #ends: number[] = [];
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** The lowest sequence; undefined when empty. */
  get first(): number | undefined {
    return this.#length === 0 ? undefined : this.#starts[this.#head];
  }

  /** The highest sequence; undefined when empty. */
  get last(): number | undefined {
    return this.#length === 0 ? undefined : this.#ends[this.#ends.length - 1];
  }

  /** Whether `seq` is held. */
  has(seq: number): boolean {
    const run = this.#firstAtOrAbove(this.#ends, seq);
    return run < this.#ends.length && this.#starts[run]! <= seq;
  }

  /** Adds `seq`, keeping the order (the caller never adds one it holds). */
  insert(seq: number): void {
    const starts = this.#starts;
    const ends = this.#ends;
    this.#length++;
    const last = ends.length - 1;
    if (last < this.#head || ends[last]! + 1 < seq) {
      starts.push(seq);
      ends.push(seq);
      return;
    }
    if (ends[last]! + 1 === seq) {
      ends[last] = seq;
      return;
    }
    // The first run starting above `seq`; the run before it (if any) ends below it.
    const lo = this.#firstAtOrAbove(starts, seq);
    const joinsBelow = lo > this.#head && ends[lo - 1]! + 1 === seq;
    const joinsAbove = lo < starts.length && starts[lo]! - 1 === seq;
    if (joinsBelow && joinsAbove) {
      ends[lo - 1] = ends[lo]!;
      starts.splice(lo, 1);
      ends.splice(lo, 1);
    } else if (joinsBelow) ends[lo - 1] = seq;
    else if (joinsAbove) starts[lo] = seq;
    else {
      starts.splice(lo, 0, seq);
      ends.splice(lo, 0, seq);
    }
  }

  /** Removes and returns the lowest sequence; undefined when empty. */
  shift(): number | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const head = this.#head;
    const seq = this.#starts[head]!;
    if (seq < this.#ends[head]!) {
      this.#starts[head] = seq + 1;
      return seq;
    }
    this.#head++;
    if (this.#head >= DEAD_SLOTS_BEFORE_COMPACTION && this.#head * 2 >= this.#starts.length) {
      this.#starts = this.#starts.slice(this.#head);
      this.#ends = this.#ends.slice(this.#head);
      this.#head = 0;
    }
    return seq;
  }

  /** The sequences greater than `after`, ascending, the first `limit` of them. */
  after(after: number, limit: number): number[] {
    const starts = this.#starts;
    const ends = this.#ends;
    const seqs: number[] = [];
    // From the first run ending above `after`.
    for (let run = this.#firstAtOrAbove(ends, after + 1); run < ends.length && seqs.length < limit; run++) {
      const end = ends[run]!;
      for (let seq = Math.max(starts[run]!, after + 1); seq <= end && seqs.length < limit; seq++)
        seqs.push(seq);
    }
    return seqs;
  }

  /** The first live run whose entry in `bounds` (`#starts` or `#ends`) is at least `seq`: a binary search. */
  #firstAtOrAbove(bounds: readonly number[], seq: number): number {
    let lo = this.#head;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bounds[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
