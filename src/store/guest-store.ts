import type { ExtendedKvBackend } from "./extended-kv-backend.ts";
import type { KvEntry, KvRangeQuery } from "./kv-backend.ts";
import { isReservedKey, overlapsReserved, RESERVED_END, RESERVED_PREFIX } from "./reserved-keys.ts";
import { ReservedKeyError, refuseWhileCommitsFail } from "./store-error.ts";

/**
 * The store as a guest sees it, for the `db_*` host functions: the runtime's namespace (`__nx/`,
 * see `reserved-keys.ts`) is out of reach. Every method touching a reserved key, listing prefix
 * or `after` key throws ReservedKeyError (the ABI answers -4); listings of prefixes such as ""
 * or "__" leave the reserved keys out. Other store errors (StoreError) pass through.
 *
 * @example
 * const guestStore = createGuestStore(backend);
 * const value = guestStore.get(key);          // borrowed view: copy it out before the next call
 * if (value !== undefined) memory.set(value, outPtr);
 */
export interface GuestStore {
  /**
   * The value of `key`, as a view the store may reuse: valid only until the next call on any
   * store of the process. The guest ABI copies it into guest memory at once.
   */
  get(key: Uint8Array): Uint8Array | undefined;
  /** The store copies `key` and `value` before returning: views of guest memory are fine. */
  set(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
  exists(key: Uint8Array): boolean;
  /**
   * Rows with `query.prefix`, key > `query.after` (an empty `after` means from the first row),
   * then `offset` rows skipped, at most `limit` rows, in key order. The query's buffers are
   * copied at the call; the rows are fresh copies.
   */
  scan(query: KvRangeQuery): Iterable<KvEntry>;
  /** `scan` without the values (none are read or copied). */
  keys(query: KvRangeQuery): Iterable<Uint8Array>;
}

export function createGuestStore(backend: ExtendedKvBackend): GuestStore {
  return {
    get(key) {
      if (isReservedKey(key)) throw new ReservedKeyError("key");
      return backend.getView(key);
    },
    set(key, value) {
      if (isReservedKey(key)) throw new ReservedKeyError("key");
      refuseWhileCommitsFail(backend);
      backend.put(key, value);
    },
    delete(key) {
      if (isReservedKey(key)) throw new ReservedKeyError("key");
      refuseWhileCommitsFail(backend);
      backend.delete(key);
    },
    exists(key) {
      if (isReservedKey(key)) throw new ReservedKeyError("key");
      return backend.has(key);
    },
    scan(query) {
      return listing(backend, query, false);
    },
    keys(query) {
      return mapKeys(listing(backend, query, true));
    },
  };
}

function listing(backend: ExtendedKvBackend, query: KvRangeQuery, keysOnly: boolean): Iterable<KvEntry> {
  if (isReservedKey(query.prefix)) throw new ReservedKeyError("prefix");
  if (query.after !== undefined && isReservedKey(query.after)) throw new ReservedKeyError("after key");
  if (!overlapsReserved(query.prefix)) return backend.range({ ...query, keysOnly });
  return rowsAroundReserved(backend, {
    prefix: query.prefix.slice(),
    after: query.after?.slice(),
    offset: query.offset ?? 0,
    limit: query.limit ?? Number.POSITIVE_INFINITY,
    keysOnly,
  });
}

interface AroundReservedQuery {
  prefix: Uint8Array;
  after: Uint8Array | undefined;
  offset: number;
  limit: number;
  keysOnly: boolean;
}

/**
 * A listing whose prefix contains the whole reserved namespace, read as the span below
 * "__nx/" then the span from "__nx0" on: two seeks, however many reserved keys lie between.
 */
function* rowsAroundReserved(backend: ExtendedKvBackend, query: AroundReservedQuery): Generator<KvEntry> {
  const { prefix, after, offset, limit, keysOnly } = query;
  let produced = 0;
  for (const row of backend.range({ prefix, after, before: RESERVED_PREFIX, offset, limit, keysOnly })) {
    produced++;
    yield row;
  }
  if (produced >= limit) return;
  let offsetAbove = 0;
  if (offset > 0 && produced === 0) {
    // The offset may reach past every row below the namespace: those rows count against it.
    let below = 0;
    for (const _ of backend.range({ prefix, after, before: RESERVED_PREFIX, limit: offset, keysOnly: true }))
      below++;
    offsetAbove = offset - below;
  }
  yield* backend.range({
    prefix,
    after,
    from: RESERVED_END,
    offset: offsetAbove,
    limit: limit - produced,
    keysOnly,
  });
}

function* mapKeys(rows: Iterable<KvEntry>): Generator<Uint8Array> {
  for (const [key] of rows) yield key;
}
