import type { NodeId } from "../../identity/node-id.ts";
import { SortedSeqs } from "./sorted-seqs.ts";

/** What `add` returns when it evicts nothing (most calls): no array per logged op. */
const NOTHING_EVICTED: readonly [NodeId, number][] = Object.freeze([]);

interface Page {
  /** Ops of the page still in the log. */
  live: number;
  /** Ops stored in the page record. */
  readonly total: number;
  /** Their estimated bytes. */
  readonly totalBytes: number;
}

/**
 * Which ops the op-log holds and where: per origin, the sorted sequences and the store page
 * holding each op, and the floor — the highest sequence ever evicted — at or below which this
 * replica no longer serves that origin's ops.
 *
 * Storage: each group commit writes its new ops as one page record, so logging costs a share of
 * one write rather than a write per op. A page is deleted once none of its ops is live; when dead
 * ops in partly live pages exceed either limit (their count, or their estimated bytes), the
 * emptiest page is rewritten (`pageToCompact`), so what is stored stays within about twice both.
 *
 * Bound: at most `limit` live ops (`op_log_limit`) and `bytesLimit` bytes of them, estimated
 * (`op_log_size_limit`). Past either, the lowest-sequence op of the origin
 * holding the most ops is evicted. Its effect stays in the CRDT state: the log serves peers, it
 * is not needed to rebuild. Evicting per origin keeps each origin's retained ops a suffix above
 * its floor and shares the log fairly: one busy origin cannot push out every other origin's
 * history. A peer whose version vector is below a floor needs a state snapshot instead of ops.
 */
export class OpLogIndex {
  readonly #seqs = new Map<NodeId, SortedSeqs>();
  /** origin → seq → page; page -1 while the op waits for the next group commit. */
  readonly #pageOf = new Map<NodeId, Map<number, number>>();
  /** origin → seq → estimated bytes of the op. */
  readonly #bytesOf = new Map<NodeId, Map<number, number>>();
  readonly #pages = new Map<number, Page>();
  readonly #floors = new Map<NodeId, number>();
  /**
   * origin → the sequences of its held ops that some peers cannot decode (`markUnreadable`: the
   * node's `lww_map_batch` ops), a subset of `#seqs`: evicted with them, lowest first.
   */
  readonly #unreadable = new Map<NodeId, SortedSeqs>();
  readonly #limit: number;
  readonly #bytesLimit: number;
  #size = 0;
  #bytes = 0;
  #storedOps = 0;
  #storedBytes = 0;
  #nextPage = 0;
  #floorChanges = new Set<NodeId>();
  #emptiedPages: number[] = [];

  constructor(limit: number, bytesLimit = Number.POSITIVE_INFINITY) {
    this.#limit = Math.max(1, limit);
    this.#bytesLimit = bytesLimit;
  }

  /** Live ops. */
  get size(): number {
    return this.#size;
  }

  /** Estimated bytes of the live ops. */
  get bytes(): number {
    return this.#bytes;
  }

  floor(origin: NodeId): number {
    return this.#floors.get(origin) ?? 0;
  }

  origins(): IterableIterator<NodeId> {
    return this.#seqs.keys();
  }

  floors(): IterableIterator<[NodeId, number]> {
    return this.#floors.entries();
  }

  /** The page of a live op (-1: not yet written), undefined when the log does not hold it. */
  pageOf(origin: NodeId, seq: number): number | undefined {
    return this.#pageOf.get(origin)?.get(seq);
  }

  /**
   * Sequences held for `origin` that are greater than `after`, ascending, the first `limit` of
   * them; with `bytesMax`, only those whose estimated bytes fit it (one at least).
   */
  seqsAfter(origin: NodeId, after: number, limit = Number.POSITIVE_INFINITY, bytesMax?: number): number[] {
    const seqs = this.#seqs.get(origin)?.after(after, limit) ?? [];
    if (bytesMax === undefined) return seqs;
    const sizes = this.#bytesOf.get(origin)!;
    let bytes = 0;
    for (let index = 0; index < seqs.length; index++) {
      bytes += sizes.get(seqs[index]!)!;
      if (bytes > bytesMax && index > 0) return seqs.slice(0, index);
    }
    return seqs;
  }

  /**
   * The held op of `origin` at `seq` is one that peers without a wire feature cannot decode (an
   * `lww_map_batch` op): see `holdsUnreadableBeyond`. Nothing when it is not held; marking it
   * again changes nothing.
   */
  markUnreadable(origin: NodeId, seq: number): void {
    if (this.#pageOf.get(origin)?.has(seq) !== true) return;
    let seqs = this.#unreadable.get(origin);
    if (seqs === undefined) {
      seqs = new SortedSeqs();
      this.#unreadable.set(origin, seqs);
    }
    if (!seqs.has(seq)) seqs.insert(seq);
  }

  /**
   * Whether the log holds an op marked `markUnreadable` that `vector` lacks: what a peer without
   * the feature, at that vector, would be sent and cannot decode. Costs one look per origin that
   * has such ops (each origin's highest is the one to check: a vector is contiguous).
   */
  holdsUnreadableBeyond(vector: ReadonlyMap<NodeId, number>): boolean {
    for (const [origin, seqs] of this.#unreadable) if (seqs.last! > (vector.get(origin) ?? 0)) return true;
    return false;
  }

  /** Raises the floor (eviction; a snapshot merge covers ops this log never held). */
  raiseFloor(origin: NodeId, floor: number): void {
    if (floor <= this.floor(origin)) return;
    this.#floors.set(origin, floor);
    this.#floorChanges.add(origin);
  }

  /** Origins whose floor rose since the last call. */
  drainFloorChanges(): Set<NodeId> {
    const changed = this.#floorChanges;
    this.#floorChanges = new Set();
    return changed;
  }

  /** Pages whose last live op was evicted since the last call: delete their records. */
  drainEmptiedPages(): number[] {
    const emptied = this.#emptiedPages;
    this.#emptiedPages = [];
    return emptied;
  }

  /**
   * Adds a new op, waiting for a page. Returns the ops evicted to stay within the bound — the new
   * op itself when it is the one to go (a late op below its origin's retained suffix).
   */
  add(origin: NodeId, seq: number, bytes: number): readonly [NodeId, number][] {
    if (!this.#insert(origin, seq, -1, bytes)) return NOTHING_EVICTED;
    this.#size++;
    if (!this.#overBudget()) return NOTHING_EVICTED;
    const evicted: [NodeId, number][] = [];
    while (this.#overBudget()) evicted.push(this.#evictOne());
    return evicted;
  }

  /**
   * The op's estimated bytes are now `bytes` (an op amended while staged grew: a map batch).
   * Nothing when it is not held; evicts as `add` does when the log is over a bound now.
   */
  resize(origin: NodeId, seq: number, bytes: number): void {
    const sizes = this.#bytesOf.get(origin);
    const before = sizes?.get(seq);
    if (before === undefined) return;
    sizes!.set(seq, bytes);
    this.#bytes += bytes - before;
    while (this.#overBudget()) this.#evictOne();
  }

  /** The next page number, for `total` ops of `totalBytes` estimated; `assignPage` them. */
  newPage(total: number, totalBytes: number): number {
    const page = this.#nextPage++;
    this.#addPage(page, total, totalBytes);
    return page;
  }

  assignPage(origin: NodeId, seq: number, page: number): void {
    this.#pageOf.get(origin)!.set(seq, page);
    this.#pages.get(page)!.live++;
  }

  /**
   * Hydration: re-indexes one op of a stored page (`newPage`/`restorePage` first). Ops at or below
   * their origin's floor were evicted before the restart and stay dead.
   */
  restore(origin: NodeId, seq: number, page: number, bytes: number): void {
    if (seq <= this.floor(origin) || !this.#insert(origin, seq, page, bytes)) return;
    this.#pages.get(page)!.live++;
    this.#size++;
  }

  /** Hydration: registers a stored page of `total` ops of `totalBytes` estimated. */
  restorePage(page: number, total: number, totalBytes: number): void {
    this.#addPage(page, total, totalBytes);
    if (page >= this.#nextPage) this.#nextPage = page + 1;
  }

  /** Hydration done: evicts down to the limit (it may have been lowered) and drops empty pages. */
  finishRestore(): void {
    while (this.#overBudget()) this.#evictOne();
    for (const [page, state] of this.#pages) if (state.live === 0) this.#dropPage(page);
  }

  /** Over either bound; the last op left stays, however large (the byte bound never empties the log). */
  #overBudget(): boolean {
    return this.#size > this.#limit || (this.#bytes > this.#bytesLimit && this.#size > 1);
  }

  /**
   * A page worth rewriting with only its live ops, when dead ops kept in partly live pages
   * outnumber the limit or outweigh the bytes limit; undefined otherwise. The caller re-stages
   * the live ops (`unassign`) and deletes the page record.
   */
  pageToCompact(): number | undefined {
    if (this.#storedOps - this.#size <= this.#limit && this.#storedBytes - this.#bytes <= this.#bytesLimit)
      return undefined;
    let best: number | undefined;
    let bestRatio = 2;
    for (const [page, state] of this.#pages) {
      const ratio = state.live / state.total;
      if (ratio < bestRatio) {
        best = page;
        bestRatio = ratio;
      }
    }
    return best;
  }

  /** Forgets every op (a replacing snapshot); returns the pages to delete. Floors stay. */
  clear(): number[] {
    const pages = [...this.#pages.keys(), ...this.#emptiedPages];
    this.#seqs.clear();
    this.#unreadable.clear();
    this.#pageOf.clear();
    this.#bytesOf.clear();
    this.#pages.clear();
    this.#emptiedPages = [];
    this.#size = 0;
    this.#bytes = 0;
    this.#storedOps = 0;
    this.#storedBytes = 0;
    return pages;
  }

  /** Compaction: `page`'s live ops wait for a new page; the page is forgotten. */
  releasePage(page: number, liveOps: readonly [NodeId, number][]): void {
    for (const [origin, seq] of liveOps) this.#pageOf.get(origin)!.set(seq, -1);
    const state = this.#pages.get(page)!;
    this.#pages.delete(page);
    this.#storedOps -= state.total;
    this.#storedBytes -= state.totalBytes;
  }

  /** Indexes the `origin` op at `seq` in `page`; false when already held. */
  #insert(origin: NodeId, seq: number, page: number, bytes: number): boolean {
    let seqs = this.#seqs.get(origin);
    let pages = this.#pageOf.get(origin);
    let sizes = this.#bytesOf.get(origin);
    if (seqs === undefined || pages === undefined || sizes === undefined) {
      seqs = new SortedSeqs();
      pages = new Map();
      sizes = new Map();
      this.#seqs.set(origin, seqs);
      this.#pageOf.set(origin, pages);
      this.#bytesOf.set(origin, sizes);
    }
    if (pages.has(seq)) return false;
    sizes.set(seq, bytes);
    this.#bytes += bytes;
    seqs.insert(seq);
    pages.set(seq, page);
    return true;
  }

  /** Evicts the lowest op of the fullest origin. */
  #evictOne(): [NodeId, number] {
    let victim: NodeId | undefined;
    let victimSeqs: SortedSeqs | undefined;
    for (const [origin, seqs] of this.#seqs) {
      if (
        victimSeqs === undefined ||
        seqs.length > victimSeqs.length ||
        (seqs.length === victimSeqs.length && origin < victim!)
      ) {
        victim = origin;
        victimSeqs = seqs;
      }
    }
    const origin = victim!;
    const seq = victimSeqs!.shift()!;
    const pages = this.#pageOf.get(origin)!;
    const page = pages.get(seq)!;
    pages.delete(seq);
    const sizes = this.#bytesOf.get(origin)!;
    this.#bytes -= sizes.get(seq)!;
    sizes.delete(seq);
    if (victimSeqs!.length === 0) {
      this.#seqs.delete(origin);
      this.#pageOf.delete(origin);
      this.#bytesOf.delete(origin);
    }
    // Marked ops are held ones, so the lowest held is the lowest marked whenever it is marked.
    const unreadable = this.#unreadable.get(origin);
    if (unreadable?.first === seq) {
      unreadable.shift();
      if (unreadable.length === 0) this.#unreadable.delete(origin);
    }
    this.#size--;
    this.raiseFloor(origin, seq);
    if (page !== -1) {
      const state = this.#pages.get(page)!;
      if (--state.live === 0) this.#dropPage(page);
    }
    return [origin, seq];
  }

  #dropPage(page: number): void {
    const state = this.#pages.get(page);
    if (state === undefined) return;
    this.#pages.delete(page);
    this.#storedOps -= state.total;
    this.#storedBytes -= state.totalBytes;
    this.#emptiedPages.push(page);
  }

  #addPage(page: number, total: number, totalBytes: number): void {
    this.#pages.set(page, { live: 0, total, totalBytes });
    this.#storedOps += total;
    this.#storedBytes += totalBytes;
  }
}
