import type { KvBackend, KvEntry, KvRangeQuery } from "./kv-backend.ts";
import type { StoreError } from "./store-error.ts";

/**
 * A range query with explicit bounds on top of the prefix: what the runtime's own layers need to
 * seek past a span of keys (the guest view skips `__nx/` this way) instead of filtering rows.
 */
export interface KvSpanQuery extends KvRangeQuery {
  /** Only keys >= `from`. */
  from?: Uint8Array;
  /** Only keys < `before`. */
  before?: Uint8Array;
  /** Entries carry an empty value: no value bytes are copied for a caller that only wants keys. */
  keysOnly?: boolean;
}

/**
 * A KvBackend with the two extras the runtime's hot paths use. Both built-in backends
 * (`lmdb-backend.ts`, `memory-backend.ts`) implement it, and the contract suite checks it.
 *
 * @example
 * const value = backend.getView(key); // borrowed: copy it before the next store call
 * if (value !== undefined) guestMemory.set(value, outPtr);
 */
export interface ExtendedKvBackend extends KvBackend {
  /**
   * Like `get`, but may return a view of a buffer the backend reuses: valid only until the next
   * call on this (or, for LMDB, any) store in the process. Saves an allocation and a copy where
   * the caller copies the value out at once (the guest ABI's `db_get`).
   */
  getView(key: Uint8Array): Uint8Array | undefined;
  /**
   * `writes` (a value undefined: a delete) as one atomic batch, the newest write of a key last,
   * as `batch` with one `put` or `delete` each would do, without a batch's per-write bookkeeping:
   * every key is checked before anything is written, so a bad key writes none of them. Inside an
   * open `batch`, the writes join it.
   *
   * @example
   * backend.writeAll([[cellKey, record], [staleKey, undefined]]);
   */
  writeAll(writes: readonly (readonly [key: Uint8Array, value: Uint8Array | undefined])[]): void;
  /** `KvBackend.range` that also honours `from`, `before` and `keysOnly`. */
  range(query: KvSpanQuery): Iterable<KvEntry>;
  /**
   * The number of the newest write (puts, deletes and whole batches count; 0 before any): what
   * output released to the world waits on (`durable`) so that it never runs ahead of the disk.
   */
  lastWriteSeq(): number;
  /** True once every write numbered up to `seq` is durable. */
  isDurable(seq: number): boolean;
  /**
   * Resolves once every write numbered up to `seq` is durable; rejects (StoreError) only when the
   * store closed without saving them.
   */
  durable(seq: number): Promise<void>;
  /**
   * Why commits fail right now (STORE_DISK_FULL, STORE_WRITE_FAILED), or undefined while they
   * succeed. The writes stay pending and are retried; callers refuse new work meanwhile.
   */
  commitFailure(): StoreError | undefined;
  /** Writes held in memory until a commit makes them durable (0 for a store without commits). */
  pendingWrites(): number;
}
