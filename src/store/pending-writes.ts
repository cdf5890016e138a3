import { compareBytes } from "./key-bytes.ts";
import { isInSpan, type KeySpan } from "./key-span.ts";
import { newPack, PACK_HEADER_BYTES } from "./packed-writes.ts";
import { hashKey, SlabKeyIndex } from "./slab-key-index.ts";
import { WriteSlab } from "./write-slab.ts";

/** A pending write as reads and listings see it: `value` null for a delete. */
export interface PendingEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/** Writes handed to one commit: the newest value of every key written since the last group. */
interface CommitGroup {
  readonly id: number;
  /** The writes, packed (`packed-writes.ts`), for the commit worker. */
  readonly packed: ArrayBuffer;
  /** Writes in `packed`. */
  readonly count: number;
  /** Every write with a sequence number up to this one is durable once the group's commit ends. */
  readonly lastSeq: number;
}

/**
 * The commit scheduler's state, pure (no I/O, no clock): which writes are not durable yet, which
 * of them the commit in flight carries, and what is durable. The LMDB backend keeps every write
 * here until its commit has ended, so reads see it at once and a failed commit loses nothing: its
 * writes simply join the next group.
 *
 * Writes are numbered 1, 2, 3... At most one group is in flight. A group holds every key written
 * since the previous group was taken (failed groups' keys included), with the newest value, and
 * covers every write numbered up to its `lastSeq`: a write not in it either was superseded by a
 * newer write of the same key that is in it, or was made durable by an earlier group. So when its
 * commit ends, everything up to `lastSeq` is durable, and nothing is reported durable before the
 * commit that holds it has ended (`pending-writes.test.ts` checks this against a model).
 *
 * The bytes live in a WriteSlab and the keys in a SlabKeyIndex: a write allocates no object of
 * its own. Each write is in exactly one of two lists, the unsent one or the group in flight, as a
 * (slot, sequence number) pair; a newer write of its key frees its slot at once (a group already
 * packed holds its own copy), which leaves a stale pair behind, told apart by its sequence number.
 *
 * @example
 * const pending = new PendingWrites();
 * pending.write(key, value);                 // seq 1
 * const group = pending.takeGroup()!;        // hand group.packed to the commit
 * pending.committed(group.id);               // durableSeq() === 1
 */
export class PendingWrites {
  readonly #slab = new WriteSlab();
  readonly #index = new SlabKeyIndex(this.#slab);
  /** Written (or whose commit failed) since the last group was taken; stale pairs included. */
  #unsent = new SlotList();
  /** Slots in #unsent that are not stale. */
  #unsentLive = 0;
  #inFlight: { group: CommitGroup; slots: SlotList } | undefined;
  /** The list of the group before, kept to be reused. */
  #spareList: SlotList | undefined;
  #nextGroupId = 1;
  #writeSeq = 0;
  #durableSeq = 0;
  #bytes = 0;

  /** Records a copy of a write (`value` null: a delete). Returns its number. */
  write(key: Uint8Array, value: Uint8Array | null): number {
    const seq = ++this.#writeSeq;
    const hash = hashKey(key);
    const previous = this.#index.find(key, hash);
    const slot = this.#slab.add(key, value, seq, hash);
    if (previous === -1) {
      this.#index.insert(slot);
    } else {
      this.#index.replace(previous, slot);
      if (this.#isUnsent(previous)) this.#unsentLive--;
      this.#release(previous);
    }
    this.#bytes += entryBytes(this.#slab, slot);
    this.#unsent.push(slot, seq, this.#slab);
    this.#unsentLive++;
    return seq;
  }

  /** The pending write of `key`, if any; its views are valid until the next write or commit result. */
  lookup(key: Uint8Array): PendingEntry | undefined {
    const slot = this.#index.find(key, hashKey(key));
    if (slot === -1) return undefined;
    return { key: this.#slab.key(slot), value: this.#slab.value(slot) };
  }

  /** Keys with a pending write. */
  get size(): number {
    return this.#index.size;
  }

  /** Approximate bytes of the pending keys and values. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of the newest write (0 before the first). */
  writeSeq(): number {
    return this.#writeSeq;
  }

  /** Every write numbered up to this is durable. */
  durableSeq(): number {
    return this.#durableSeq;
  }

  inFlight(): CommitGroup | undefined {
    return this.#inFlight?.group;
  }

  /** True when some write is waiting for a group (none may be taken while one is in flight). */
  hasUnsent(): boolean {
    return this.#unsentLive > 0;
  }

  /** The next group to commit, packed, now in flight; undefined while one is in flight or nothing waits. */
  takeGroup(): CommitGroup | undefined {
    if (this.#inFlight !== undefined || this.#unsentLive === 0) return undefined;
    const slots = this.#unsent;
    this.#unsent = this.#spareList ?? new SlotList();
    this.#spareList = undefined;
    this.#unsentLive = 0;
    let count = 0;
    let writeBytes = 0;
    slots.forEachLive(this.#slab, (slot) => {
      count++;
      writeBytes += this.#slab.packedBytes(slot);
    });
    const packed = newPack(count, writeBytes);
    const copier = this.#slab.copier(packed, PACK_HEADER_BYTES);
    slots.forEachLive(this.#slab, copier.add);
    copier.finish();
    const group: CommitGroup = {
      id: this.#nextGroupId++,
      packed: packed.buffer,
      count,
      lastSeq: this.#writeSeq,
    };
    this.#inFlight = { group, slots };
    return group;
  }

  /** The commit of group `id` ended: its writes are durable. Returns the new durable number. */
  committed(id: number): number {
    const { group, slots } = this.#takeInFlight(id);
    // A newer write of a key freed the slot of the group's write: that pair is stale, skipped.
    slots.forEachLive(this.#slab, (slot) => {
      this.#index.remove(slot);
      this.#release(slot);
    });
    this.#recycle(slots);
    this.#durableSeq = Math.max(this.#durableSeq, group.lastSeq);
    return this.#durableSeq;
  }

  /** The commit of group `id` failed: its writes stay pending and join the next group. */
  failed(id: number): void {
    const { slots } = this.#takeInFlight(id);
    slots.forEachLive(this.#slab, (slot) => {
      this.#unsent.push(slot, this.#slab.seq(slot), this.#slab);
      this.#unsentLive++;
    });
    this.#recycle(slots);
  }

  /** Calls `visit` with every pending write, newest value per key, in no particular order (the exit commit). */
  forEach(visit: (key: Uint8Array, value: Uint8Array | null) => void): void {
    this.#index.forEach((slot) => {
      visit(this.#slab.key(slot), this.#slab.value(slot));
    });
  }

  /** Copies of the pending writes whose keys lie in `span`, in key order. O(pending keys). */
  inSpan(span: KeySpan): PendingEntry[] {
    const found: PendingEntry[] = [];
    this.#index.forEach((slot) => {
      const key = this.#slab.key(slot);
      if (isInSpan(key, span))
        found.push({ key: key.slice(), value: this.#slab.value(slot)?.slice() ?? null });
    });
    return found.sort((a, b) => compareBytes(a.key, b.key));
  }

  /**
   * Whether the live write in `slot` waits in the unsent list rather than in the group in flight:
   * a group takes every live write up to its `lastSeq`, and a failed group hands them all back.
   */
  #isUnsent(slot: number): boolean {
    return this.#inFlight === undefined || this.#slab.seq(slot) > this.#inFlight.group.lastSeq;
  }

  #release(slot: number): void {
    this.#bytes -= entryBytes(this.#slab, slot);
    this.#slab.free(slot);
  }

  #recycle(list: SlotList): void {
    list.clear();
    this.#spareList = list;
  }

  #takeInFlight(id: number): { group: CommitGroup; slots: SlotList } {
    const inFlight = this.#inFlight;
    if (inFlight === undefined || inFlight.group.id !== id) {
      throw new Error(`commit group ${id} is not the one in flight (${inFlight?.group.id ?? "none"})`);
    }
    this.#inFlight = undefined;
    return inFlight;
  }
}

/** Per-write overhead counted on top of the packed key and value bytes (slot columns, index cells). */
const ENTRY_OVERHEAD_BYTES = 64;

function entryBytes(slab: WriteSlab, slot: number): number {
  return ENTRY_OVERHEAD_BYTES + slab.packedBytes(slot);
}

const FIRST_LIST_CAPACITY = 1024;

/**
 * A list of (slot, sequence number) pairs in typed arrays. A pair is stale once its slot no
 * longer holds that write; stale pairs are dropped when the list would otherwise grow.
 */
class SlotList {
  #slots = new Int32Array(FIRST_LIST_CAPACITY);
  #seqs = new Float64Array(FIRST_LIST_CAPACITY);
  #length = 0;

  push(slot: number, seq: number, slab: WriteSlab): void {
    if (this.#length === this.#slots.length) this.#compactOrGrow(slab);
    this.#slots[this.#length] = slot;
    this.#seqs[this.#length++] = seq;
  }

  forEachLive(slab: WriteSlab, visit: (slot: number) => void): void {
    for (let i = 0; i < this.#length; i++) {
      const slot = this.#slots[i]!;
      if (slab.seq(slot) === this.#seqs[i]) visit(slot);
    }
  }

  clear(): void {
    this.#length = 0;
  }

  #compactOrGrow(slab: WriteSlab): void {
    let kept = 0;
    for (let i = 0; i < this.#length; i++) {
      const slot = this.#slots[i]!;
      if (slab.seq(slot) !== this.#seqs[i]) continue;
      this.#slots[kept] = slot;
      this.#seqs[kept++] = this.#seqs[i]!;
    }
    this.#length = kept;
    if (kept * 2 <= this.#slots.length) return;
    const slots = new Int32Array(this.#slots.length * 2);
    slots.set(this.#slots);
    const seqs = new Float64Array(this.#seqs.length * 2);
    seqs.set(this.#seqs);
    this.#slots = slots;
    this.#seqs = seqs;
  }
}
