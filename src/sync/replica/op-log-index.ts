import type { NodeId } from "../../identity/node-id.ts";

/**
 * Which ops the op-log holds: per origin, the sorted sequences, and the floor — the highest
 * sequence ever evicted — below which this replica can no longer serve that origin's ops.
 *
 * Bound: at most `limit` ops (`op_log_limit`). Past it, the lowest-sequence op of the origin
 * holding the most ops is evicted (its effect stays in the CRDT state: the log is for serving
 * peers, not for rebuilding). Evicting by origin keeps each origin's retained ops a contiguous
 * suffix and shares the log fairly: one busy origin cannot push out every other origin's history.
 * A peer whose version vector is below a floor needs a state snapshot instead of ops.
 */
export class OpLogIndex {
  readonly #seqs = new Map<NodeId, number[]>();
  readonly #floors = new Map<NodeId, number>();
  readonly #limit: number;
  #size = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#size;
  }

  floor(origin: NodeId): number {
    return this.#floors.get(origin) ?? 0;
  }

  origins(): IterableIterator<NodeId> {
    return this.#seqs.keys();
  }

  /** Origins with a floor, and their floors. */
  floors(): IterableIterator<[NodeId, number]> {
    return this.#floors.entries();
  }

  /** Sequences held for `origin` that are greater than `after`, ascending. */
  seqsAfter(origin: NodeId, after: number): number[] {
    const seqs = this.#seqs.get(origin);
    if (seqs === undefined) return [];
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqs[mid] <= after) lo = mid + 1;
      else hi = mid;
    }
    return seqs.slice(lo);
  }

  /** Raises the floor (hydration; a snapshot merge covers ops this log never held). */
  raiseFloor(origin: NodeId, floor: number): void {
    if (floor > this.floor(origin)) this.#floors.set(origin, floor);
  }

  /** Adds an op; returns the ops evicted to stay within the bound (origin, seq). */
  add(origin: NodeId, seq: number): [NodeId, number][] {
    let seqs = this.#seqs.get(origin);
    if (seqs === undefined) {
      seqs = [];
      this.#seqs.set(origin, seqs);
    }
    if (seqs.length === 0 || seqs[seqs.length - 1] < seq) seqs.push(seq);
    else {
      let at = seqs.length;
      while (at > 0 && seqs[at - 1] > seq) at--;
      if (seqs[at - 1] === seq) return [];
      seqs.splice(at, 0, seq);
    }
    this.#size++;
    const evicted: [NodeId, number][] = [];
    while (this.#size > this.#limit) evicted.push(this.#evictOne());
    return evicted;
  }

  #evictOne(): [NodeId, number] {
    let victim: NodeId | undefined;
    let victimSeqs: number[] = [];
    for (const [origin, seqs] of this.#seqs) {
      if (
        seqs.length > victimSeqs.length ||
        (seqs.length === victimSeqs.length && victim !== undefined && origin < victim)
      ) {
        victim = origin;
        victimSeqs = seqs;
      }
    }
    const seq = victimSeqs.shift()!;
    if (victimSeqs.length === 0) this.#seqs.delete(victim!);
    this.#size--;
    this.raiseFloor(victim!, seq);
    return [victim!, seq];
  }
}
