import type { VersionVector } from "../../crdt/version-vector.ts";
import type { NodeId } from "../../identity/node-id.ts";

/** What changed since the last `drainChanges`, for the store. */
export interface SeenChanges {
  /** Origins whose contiguous sequence (or highest applied sequence) moved. */
  readonly contiguous: Set<NodeId>;
  /** Sparse entries by `origin:seq`: true added, false dropped (absorbed or evicted). */
  readonly sparse: Map<string, { origin: NodeId; seq: number; present: boolean }>;
}

/**
 * Which ops this replica has applied: the version vector (per origin, everything up to the
 * contiguous sequence) plus the sparse set of ops above it that arrived out of order.
 *
 * Bound: the sparse set holds at most `sparseLimit` entries (`seen_ops_limit`). Past it, the
 * highest entry of the origin with the most sparse entries is forgotten. A forgotten op that
 * arrives again is applied again — harmless, every family's apply is idempotent — and reported
 * new once more (so relayed once more); its origin's contiguous sequence waits for it to come
 * back, which anti-entropy makes happen since the gap stays visible in the version vector.
 */
export class SeenOps {
  readonly #contiguous = new Map<NodeId, number>();
  readonly #sparse = new Map<NodeId, Set<number>>();
  /** Per origin, the highest sequence ever applied: outlives forgotten sparse entries. */
  readonly #maxApplied = new Map<NodeId, number>();
  readonly #sparseLimit: number;
  #sparseCount = 0;
  #changes: SeenChanges = { contiguous: new Set(), sparse: new Map() };

  constructor(sparseLimit: number) {
    this.#sparseLimit = sparseLimit;
  }

  get sparseCount(): number {
    return this.#sparseCount;
  }

  vector(): VersionVector {
    return this.#contiguous;
  }

  /**
   * Per origin, the highest sequence applied: the state holds effects of no op above it (a
   * snapshot merge counts as applying up to its vector).
   */
  maxApplied(): VersionVector {
    return this.#maxApplied;
  }

  /** A peer's state merged in holds effects of `origin`'s ops up to `seq` (see `maxApplied`). */
  noteApplied(origin: NodeId, seq: number): void {
    if (seq <= (this.#maxApplied.get(origin) ?? 0)) return;
    this.#maxApplied.set(origin, seq);
    this.#changes.contiguous.add(origin);
  }

  contiguous(origin: NodeId): number {
    return this.#contiguous.get(origin) ?? 0;
  }

  has(origin: NodeId, seq: number): boolean {
    if (seq <= (this.#contiguous.get(origin) ?? 0)) return true;
    return this.#sparse.get(origin)?.has(seq) ?? false;
  }

  /** Hydration: restores one origin's contiguous sequence. */
  restoreContiguous(origin: NodeId, seq: number, maxApplied = seq): void {
    this.#contiguous.set(origin, seq);
    this.#raiseMaxApplied(origin, Math.max(seq, maxApplied));
  }

  /** Hydration: restores one sparse entry. */
  restoreSparse(origin: NodeId, seq: number): void {
    let set = this.#sparse.get(origin);
    if (set === undefined) {
      set = new Set();
      this.#sparse.set(origin, set);
    }
    if (!set.has(seq)) {
      set.add(seq);
      this.#sparseCount++;
    }
    this.#raiseMaxApplied(origin, seq);
  }

  /** Records an op as applied (the caller checked `has` first). */
  markSeen(origin: NodeId, seq: number): void {
    const contiguous = this.#contiguous.get(origin) ?? 0;
    if (seq !== contiguous + 1) {
      this.restoreSparse(origin, seq);
      this.#sparseChange(origin, seq, true);
      if (this.#sparseCount > this.#sparseLimit) this.#evict();
      return;
    }
    let next = seq;
    const sparse = this.#sparse.get(origin);
    if (sparse !== undefined) {
      while (sparse.delete(next + 1)) {
        next++;
        this.#sparseCount--;
        this.#sparseChange(origin, next, false);
      }
      if (sparse.size === 0) this.#sparse.delete(origin);
    }
    this.#contiguous.set(origin, next);
    this.#raiseMaxApplied(origin, next);
    this.#changes.contiguous.add(origin);
  }

  /** Snapshot merge: every op of `origin` up to `seq` is now included in the state. */
  advanceTo(origin: NodeId, seq: number): void {
    if (seq <= (this.#contiguous.get(origin) ?? 0)) return;
    const sparse = this.#sparse.get(origin);
    if (sparse !== undefined) {
      for (const s of [...sparse]) {
        if (s > seq) continue;
        sparse.delete(s);
        this.#sparseCount--;
        this.#sparseChange(origin, s, false);
      }
      if (sparse.size === 0) this.#sparse.delete(origin);
    }
    this.#contiguous.set(origin, seq - 1);
    this.markSeen(origin, seq);
  }

  /**
   * A replacing snapshot: forgets everything applied but `keep`'s own contiguous sequence (the
   * origins' records are rewritten at the next drain).
   */
  forgetAllBut(keep: NodeId): void {
    for (const origin of this.#maxApplied.keys()) this.#changes.contiguous.add(origin);
    for (const [origin, seqs] of this.#sparse) for (const seq of seqs) this.#sparseChange(origin, seq, false);
    const own = this.#contiguous.get(keep) ?? 0;
    this.#contiguous.clear();
    this.#sparse.clear();
    this.#sparseCount = 0;
    this.#maxApplied.clear();
    if (own > 0) {
      this.#contiguous.set(keep, own);
      this.#maxApplied.set(keep, own);
    }
  }

  /** The changes since the last call (and starts a new set). */
  drainChanges(): SeenChanges {
    const changes = this.#changes;
    this.#changes = { contiguous: new Set(), sparse: new Map() };
    return changes;
  }

  #raiseMaxApplied(origin: NodeId, seq: number): void {
    if (seq > (this.#maxApplied.get(origin) ?? 0)) this.#maxApplied.set(origin, seq);
  }

  #sparseChange(origin: NodeId, seq: number, present: boolean): void {
    this.#changes.sparse.set(`${origin}:${seq}`, { origin, seq, present });
  }

  #evict(): void {
    let victim: NodeId | undefined;
    let victimSize = 0;
    for (const [origin, set] of this.#sparse) {
      if (set.size > victimSize || (set.size === victimSize && victim !== undefined && origin < victim)) {
        victim = origin;
        victimSize = set.size;
      }
    }
    if (victim === undefined) return;
    const set = this.#sparse.get(victim)!;
    let highest = 0;
    for (const seq of set) if (seq > highest) highest = seq;
    set.delete(highest);
    if (set.size === 0) this.#sparse.delete(victim);
    this.#sparseCount--;
    this.#sparseChange(victim, highest, false);
    // The forgotten entry's effect stays in the state: its origin's record keeps `maxApplied`.
    this.#changes.contiguous.add(victim);
  }
}
