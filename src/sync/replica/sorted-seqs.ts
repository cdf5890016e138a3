/**
 * Compacting the array once this many leading slots are dead (and they are more than half of it):
 * each compaction copies the live part, so the copies add up to less than one per removal.
 */
const DEAD_SLOTS_BEFORE_COMPACTION = 1024;

/**
 * One origin's sequence numbers in the op-log, ascending: new ones arrive at the end (out of order
 * ones near it), eviction takes the lowest. Removing the lowest moves a start index instead of
 * shifting the array: `Array.prototype.shift` copies an array once it is large, so with a plain
 * array eviction cost grew with `op_log_limit` (about 4 µs per logged op at 100 000, 25 µs at
 * 1 000 000, against 0.5 µs at 10 000).
 */
export class SortedSeqs {
  #seqs: number[] = [];
  /** Slots before it are evicted. */
  #head = 0;

  get length(): number {
    return this.#seqs.length - this.#head;
  }

  /** Adds `seq`, keeping the order (the caller never adds one it holds). */
  insert(seq: number): void {
    const seqs = this.#seqs;
    if (seqs.length === this.#head || seqs[seqs.length - 1]! < seq) {
      seqs.push(seq);
      return;
    }
    let at = seqs.length;
    while (at > this.#head && seqs[at - 1]! > seq) at--;
    seqs.splice(at, 0, seq);
  }

  /** Removes and returns the lowest sequence; undefined when empty. */
  shift(): number | undefined {
    if (this.length === 0) return undefined;
    const seq = this.#seqs[this.#head++]!;
    if (this.#head >= DEAD_SLOTS_BEFORE_COMPACTION && this.#head * 2 >= this.#seqs.length) {
      this.#seqs = this.#seqs.slice(this.#head);
      this.#head = 0;
    }
    return seq;
  }

  /** The sequences greater than `after`, ascending, the first `limit` of them. */
  after(after: number, limit: number): number[] {
    const seqs = this.#seqs;
    let lo = this.#head;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqs[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    return seqs.slice(lo, lo + limit);
  }
}
