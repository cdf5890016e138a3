import type { WriteSlab } from "./write-slab.ts";

const FIRST_CAPACITY = 1024;
/** Table cell of a removed entry: probing goes on past it, an insert may reuse it. */
const REMOVED = -1;
const EMPTY = 0;

/** FNV-1a of the key's bytes, as a 32-bit integer. */
export function hashKey(key: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key[i]!, 0x01000193);
  return hash | 0;
}

/**
 * Which slot of a WriteSlab holds each key: an open-addressing hash table (linear probing) of
 * slot numbers in an Int32Array, comparing keys against the slab's bytes. Unlike a Map keyed by
 * strings, finding or adding a key allocates nothing. The table stays at most half full
 * (removed cells counted), so probes are short; it is rebuilt, at the size the keys then need,
 * when it is not.
 */
export class SlabKeyIndex {
  readonly #slab: WriteSlab;
  /** slot + 1, EMPTY or REMOVED. Its length is a power of two. */
  #cells = new Int32Array(FIRST_CAPACITY);
  #count = 0;
  #removed = 0;

  constructor(slab: WriteSlab) {
    this.#slab = slab;
  }

  get size(): number {
    return this.#count;
  }

  /** The slot holding `key`, or -1. */
  find(key: Uint8Array, hash: number): number {
    const mask = this.#cells.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const cell = this.#cells[at]!;
      if (cell === EMPTY) return -1;
      if (cell !== REMOVED && this.#slab.hash(cell - 1) === hash && this.#slab.keyEquals(cell - 1, key)) {
        return cell - 1;
      }
    }
  }

  /** Adds `slot`, whose key (the slab has its bytes and hash) the index does not hold yet. */
  insert(slot: number): void {
    if ((this.#count + this.#removed + 1) * 2 > this.#cells.length) this.#rebuild(this.#count + 1);
    const mask = this.#cells.length - 1;
    let at = this.#slab.hash(slot) & mask;
    while (this.#cells[at]! > 0) at = (at + 1) & mask;
    if (this.#cells[at] === REMOVED) this.#removed--;
    this.#cells[at] = slot + 1;
    this.#count++;
  }

  /** Puts `slot` where `held` was: a newer write of the same key. */
  replace(held: number, slot: number): void {
    this.#cells[this.#cellOf(held)] = slot + 1;
  }

  /** Forgets `slot`. */
  remove(slot: number): void {
    this.#cells[this.#cellOf(slot)] = REMOVED;
    this.#count--;
    this.#removed++;
  }

  #cellOf(slot: number): number {
    const mask = this.#cells.length - 1;
    for (let at = this.#slab.hash(slot) & mask; ; at = (at + 1) & mask) {
      const cell = this.#cells[at]!;
      if (cell === slot + 1) return at;
      if (cell === EMPTY) throw new Error(`slot ${slot} is not in the key index`);
    }
  }

  /** Calls `visit` with every slot held, in no particular order. */
  forEach(visit: (slot: number) => void): void {
    for (const cell of this.#cells) if (cell > 0) visit(cell - 1);
  }

  #rebuild(needed: number): void {
    let capacity = FIRST_CAPACITY;
    while (capacity < needed * 4) capacity *= 2;
    const old = this.#cells;
    this.#cells = new Int32Array(capacity);
    this.#removed = 0;
    const mask = capacity - 1;
    for (const cell of old) {
      if (cell <= 0) continue;
      let at = this.#slab.hash(cell - 1) & mask;
      while (this.#cells[at] !== EMPTY) at = (at + 1) & mask;
      this.#cells[at] = cell;
    }
  }
}
