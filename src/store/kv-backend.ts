/**
 * The storage seam. Every byte Numax persists goes through a KvBackend: LMDB on disk by default
 * (`lmdb-backend.ts`), an in-memory map for unit tests and the simulator (`memory-backend.ts`).
 * Both pass the same contract suite (`kv-backend.contract.ts`).
 *
 * Keys and values are raw bytes; keys sort bytewise (unsigned lexicographic).
 *
 * Consistency: every single `put`/`delete`, and every `batch`, is atomic and visible to the next
 * `get`/`has`/`range` call at once. Durability: a write is on disk once a `flushed()` issued after
 * it resolves; implementations also commit on their own within a short interval (documented per
 * implementation).
 *
 * @example
 * const store = await openLmdbBackend({ path: "./nx-data" });
 * store.put(utf8("greeting"), utf8("hello"));
 * await store.flushed(); // now durable
 */
export interface KvBackend {
  get(key: Uint8Array): Uint8Array | undefined;
  has(key: Uint8Array): boolean;
  put(key: Uint8Array, value: Uint8Array): void;
  /** Removes the key; a no-op when absent. */
  delete(key: Uint8Array): void;
  /** Runs `writes` (puts and deletes on this backend) as one atomic unit. */
  batch(writes: () => void): void;
  /**
   * Entries whose key starts with `prefix`, in key order: those with key > `after` when given,
   * then skipping `offset` rows, at most `limit` rows.
   */
  range(query: KvRangeQuery): Iterable<KvEntry>;
  /** Resolves when every write issued before this call is durable. */
  flushed(): Promise<void>;
  /** Approximate bytes used on disk (or in memory). */
  sizeBytes(): number;
  /** Flushes, then releases the store; further calls throw. */
  close(): Promise<void>;
}

export interface KvRangeQuery {
  prefix: Uint8Array;
  after?: Uint8Array;
  offset?: number;
  limit?: number;
}

export type KvEntry = readonly [key: Uint8Array, value: Uint8Array];
