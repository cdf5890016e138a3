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
  /**
   * The value of `key` as a fresh copy the caller owns (lmdb-js hands out Buffers, a Uint8Array
   * subclass), or undefined. A key no backend can store (empty, longer than `KEY_BYTES_MAX`) is
   * simply absent.
   */
  get(key: Uint8Array): Uint8Array | undefined;
  has(key: Uint8Array): boolean;
  /**
   * Stores `value` under `key`. Both are copied before this returns, so views of memory the
   * caller reuses (guest memory) are fine.
   * @throws StoreError STORE_KEY_INVALID for an empty key or one longer than `KEY_BYTES_MAX`.
   */
  put(key: Uint8Array, value: Uint8Array): void;
  /** Removes the key; a no-op when absent. */
  delete(key: Uint8Array): void;
  /**
   * Runs `writes` (puts and deletes on this backend) as one atomic unit. `writes` must be
   * synchronous (STORE_BATCH_ASYNC otherwise); when it throws, none of its writes take effect and
   * the error propagates. Batches nest: an inner batch that throws is undone on its own.
   */
  batch(writes: () => void): void;
  /**
   * Entries whose key starts with `prefix`, in key order: those with key > `after` when given,
   * then skipping `offset` rows, at most `limit` rows.
   *
   * The query's buffers are read at the call; rows are produced lazily, as fresh copies. A caller
   * may write (or await) between rows: every row is still returned once at most and in key
   * order, and rows present for the whole iteration are all returned.
   */
  range(query: KvRangeQuery): Iterable<KvEntry>;
  /**
   * Resolves when every write issued before this call is durable. A failed commit does not
   * reject it (the LMDB backend keeps the writes and retries them); it rejects with a StoreError
   * only when the store closed without saving those writes.
   */
  flushed(): Promise<void>;
  /** Approximate bytes used on disk (or in memory). */
  sizeBytes(): number;
  /**
   * Flushes, then releases the store; further calls throw StoreError STORE_CLOSED (`flushed()`
   * rejects with it). Closing again resolves at once.
   */
  close(): Promise<void>;
}

export interface KvRangeQuery {
  prefix: Uint8Array;
  /** Only keys > `after`; an empty `after` bounds nothing. */
  after?: Uint8Array;
  /** Rows skipped after `after` is applied; a non-negative integer (0 by default). */
  offset?: number;
  /** At most this many rows; a non-negative integer or Infinity (the default). */
  limit?: number;
}

export type KvEntry = readonly [key: Uint8Array, value: Uint8Array];
