import { PACKED_DELETE, packedWriteBytes, putPackedWrite } from "./packed-writes.ts";

/**
 * Bytes of one slab chunk. Records are appended to the current chunk; a full one is left to its
 * records and a new one begun. At 20 000 writes/s of 256-byte values a chunk lasts about 50 ms,
 * about one commit: a chunk is freed soon after, when the commits holding its records end.
 */
export const SLAB_CHUNK_BYTES = 256 * 1024;
/** Freed chunks of SLAB_CHUNK_BYTES kept for reuse, so a steady writer allocates none. */
const SPARE_CHUNKS_MAX = 4;
const FIRST_SLOTS = 1024;

/**
 * The bytes of the pending writes, off the JavaScript heap: each write is one record (key, then
 * value or a delete mark, laid out as in a commit pack, see `packed-writes.ts`) appended to an
 * ArrayBuffer chunk, and named by a slot number whose columns (chunk, offset, lengths, sequence
 * number, key hash) are typed arrays. A write thus allocates no object the garbage collector
 * traces or copies, however long it waits for its commit: the young generation's scavenges stay
 * short while thousands of writes are pending (docs/design/durability.md has the figures).
 *
 * Pure (no I/O). Views it returns (`key`, `value`) are valid until their slot is freed.
 *
 * @example
 * const slab = new WriteSlab();
 * const slot = slab.add(key, value, seq, hashKey(key));
 * slab.value(slot);   // a view of the stored copy
 * slab.free(slot);
 */
export class WriteSlab {
  #chunks: (Uint8Array | undefined)[] = [];
  /** Live records per chunk. */
  #chunkLive: number[] = [];
  #spareChunks: Uint8Array[] = [];
  #current = -1;
  #fill = 0;

  #slotChunk = new Int32Array(FIRST_SLOTS);
  #slotOffset = new Int32Array(FIRST_SLOTS);
  #slotKeyLength = new Int32Array(FIRST_SLOTS);
  /** PACKED_DELETE for a delete. */
  #slotValueLength = new Int32Array(FIRST_SLOTS);
  /** The write's sequence number; 0 while the slot is free. */
  #slotSeq = new Float64Array(FIRST_SLOTS);
  #slotHash = new Int32Array(FIRST_SLOTS);
  #freeSlots = new Int32Array(FIRST_SLOTS);
  #freeCount = 0;
  /** Slots ever handed out (the next new one). */
  #slotsUsed = 0;
  #live = 0;

  /** Records stored (slots in use). */
  get live(): number {
    return this.#live;
  }

  /** Stores a copy of `key` and `value` (null: a delete) under a new slot and returns it. */
  add(key: Uint8Array, value: Uint8Array | null, seq: number, hash: number): number {
    const size = packedWriteBytes(key.length, value === null ? PACKED_DELETE : value.length);
    const chunk = this.#chunkFor(size);
    const bytes = this.#chunks[chunk]!;
    const offset = chunk === this.#current ? this.#fill : 0;
    putPackedWrite(bytes, offset, key, value);
    if (chunk === this.#current) this.#fill += size;
    this.#chunkLive[chunk]!++;
    const slot = this.#newSlot();
    this.#slotChunk[slot] = chunk;
    this.#slotOffset[slot] = offset;
    this.#slotKeyLength[slot] = key.length;
    this.#slotValueLength[slot] = value === null ? PACKED_DELETE : value.length;
    this.#slotSeq[slot] = seq;
    this.#slotHash[slot] = hash;
    this.#live++;
    return slot;
  }

  /** Releases `slot`; its chunk is reused once none of its records is live. */
  free(slot: number): void {
    const chunk = this.#slotChunk[slot]!;
    this.#slotSeq[slot] = 0;
    this.#freeSlots[this.#freeCount++] = slot;
    this.#live--;
    if (--this.#chunkLive[chunk]! > 0) return;
    if (chunk === this.#current) this.#fill = 0;
    else this.#releaseChunk(chunk);
  }

  /** The sequence number of the write in `slot`, 0 when the slot is free. */
  seq(slot: number): number {
    return this.#slotSeq[slot]!;
  }

  hash(slot: number): number {
    return this.#slotHash[slot]!;
  }

  key(slot: number): Uint8Array {
    const bytes = this.#chunks[this.#slotChunk[slot]!]!;
    return bytes.subarray(
      this.#slotOffset[slot]! + 4,
      this.#slotOffset[slot]! + 4 + this.#slotKeyLength[slot]!,
    );
  }

  /** The value written, or null for a delete. */
  value(slot: number): Uint8Array | null {
    const length = this.#slotValueLength[slot]!;
    if (length === PACKED_DELETE) return null;
    const start = this.#slotOffset[slot]! + 8 + this.#slotKeyLength[slot]!;
    return this.#chunks[this.#slotChunk[slot]!]!.subarray(start, start + length);
  }

  /** True when the key stored in `slot` is `key`. */
  keyEquals(slot: number, key: Uint8Array): boolean {
    const length = this.#slotKeyLength[slot]!;
    if (length !== key.length) return false;
    const bytes = this.#chunks[this.#slotChunk[slot]!]!;
    const start = this.#slotOffset[slot]! + 4;
    for (let i = 0; i < length; i++) if (bytes[start + i] !== key[i]) return false;
    return true;
  }

  /** Bytes of the record in `slot` as packed (`packed-writes.ts`). */
  packedBytes(slot: number): number {
    return packedWriteBytes(this.#slotKeyLength[slot]!, this.#slotValueLength[slot]!);
  }

  /**
   * Copies the records of the slots given to `add`, in that order, to `target` from `at`, as in a
   * commit pack. Records that lie end to end in a chunk (writes made one after the other) are
   * copied together: one copy per run rather than per write.
   */
  copier(target: Uint8Array, at: number): { add(slot: number): void; finish(): number } {
    let runChunk = -1;
    let runStart = 0;
    let runEnd = 0;
    const flush = (): void => {
      if (runChunk === -1) return;
      target.set(this.#chunks[runChunk]!.subarray(runStart, runEnd), at);
      at += runEnd - runStart;
    };
    return {
      add: (slot) => {
        const chunk = this.#slotChunk[slot]!;
        const start = this.#slotOffset[slot]!;
        if (chunk === runChunk && start === runEnd) {
          runEnd += this.packedBytes(slot);
          return;
        }
        flush();
        runChunk = chunk;
        runStart = start;
        runEnd = start + this.packedBytes(slot);
      },
      finish: () => {
        flush();
        runChunk = -1;
        return at;
      },
    };
  }

  /** The chunk that takes a record of `size` bytes next: the current one, or a new one. */
  #chunkFor(size: number): number {
    if (this.#current >= 0 && this.#fill + size <= this.#chunks[this.#current]!.length) return this.#current;
    if (size > SLAB_CHUNK_BYTES) return this.#newChunk(new Uint8Array(size), false);
    return this.#newChunk(this.#spareChunks.pop() ?? new Uint8Array(SLAB_CHUNK_BYTES), true);
  }

  /** Places `bytes` in a free chunk number; it becomes the current chunk when `current`. */
  #newChunk(bytes: Uint8Array, current: boolean): number {
    let chunk = this.#chunks.indexOf(undefined);
    if (chunk === -1) {
      chunk = this.#chunks.length;
      this.#chunks.push(bytes);
      this.#chunkLive.push(0);
    } else {
      this.#chunks[chunk] = bytes;
      this.#chunkLive[chunk] = 0;
    }
    if (current) {
      // The chunk left behind is released once its last record is: at once if it has none.
      const previous = this.#current;
      this.#current = chunk;
      this.#fill = 0;
      if (previous >= 0 && this.#chunkLive[previous] === 0) this.#releaseChunk(previous);
    }
    return chunk;
  }

  #releaseChunk(chunk: number): void {
    const bytes = this.#chunks[chunk]!;
    this.#chunks[chunk] = undefined;
    if (bytes.length === SLAB_CHUNK_BYTES && this.#spareChunks.length < SPARE_CHUNKS_MAX) {
      this.#spareChunks.push(bytes);
    }
  }

  #newSlot(): number {
    if (this.#freeCount > 0) return this.#freeSlots[--this.#freeCount]!;
    if (this.#slotsUsed === this.#slotSeq.length) this.#growSlots();
    return this.#slotsUsed++;
  }

  #growSlots(): void {
    const capacity = this.#slotSeq.length * 2;
    this.#slotChunk = grown(this.#slotChunk, capacity);
    this.#slotOffset = grown(this.#slotOffset, capacity);
    this.#slotKeyLength = grown(this.#slotKeyLength, capacity);
    this.#slotValueLength = grown(this.#slotValueLength, capacity);
    this.#slotHash = grown(this.#slotHash, capacity);
    this.#freeSlots = grown(this.#freeSlots, capacity);
    const seq = new Float64Array(capacity);
    seq.set(this.#slotSeq);
    this.#slotSeq = seq;
  }
}

function grown(column: Int32Array<ArrayBuffer>, capacity: number): Int32Array<ArrayBuffer> {
  const larger = new Int32Array(capacity);
  larger.set(column);
  return larger;
}
