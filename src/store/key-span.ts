import type { KvSpanQuery } from "./extended-kv-backend.ts";
import { compareBytes, KEY_BYTES_MAX, prefixEnd } from "./key-bytes.ts";
import { StoreError } from "./store-error.ts";

/**
 * The keys a range query covers, as one interval: from `start` (inclusive, or exclusive when
 * `startExclusive`) up to `end` (exclusive). An undefined bound is open. The bounds are copies,
 * so a caller may reuse (or a guest overwrite) the query's buffers once this returns.
 */
export interface KeySpan {
  readonly start: Uint8Array | undefined;
  readonly startExclusive: boolean;
  readonly end: Uint8Array | undefined;
}

/**
 * Folds prefix, `after`, `from` and `before` into one interval; undefined when it is empty.
 * `offset`, `limit` and `keysOnly` are left to the caller. An empty `after` or `from` bounds
 * nothing (every key has at least one byte); a prefix longer than any key matches nothing; an
 * `after`, `from` or `before` longer than KEY_BYTES_MAX is refused (STORE_KEY_INVALID), since
 * LMDB cannot position a cursor on it.
 *
 * @example keySpanOf({ prefix: bytes("a"), after: bytes("ab") }) // ("ab", "b")
 */
export function keySpanOf(query: KvSpanQuery): KeySpan | undefined {
  if (query.prefix.length > KEY_BYTES_MAX) return undefined;
  let start = query.prefix.length > 0 ? query.prefix : undefined;
  let startExclusive = false;
  for (const [bound, exclusive] of [
    [query.from, false],
    [query.after, true],
  ] as const) {
    if (bound === undefined || bound.length === 0) continue;
    assertBoundLength(bound);
    const order = start === undefined ? 1 : compareBytes(bound, start);
    if (order > 0 || (order === 0 && exclusive)) {
      start = bound;
      startExclusive = exclusive;
    }
  }

  let end = prefixEnd(query.prefix);
  if (query.before !== undefined) {
    assertBoundLength(query.before);
    if (end === undefined || compareBytes(query.before, end) < 0) end = query.before;
  }
  if (end !== undefined && (end.length === 0 || (start !== undefined && compareBytes(start, end) >= 0))) {
    return undefined;
  }
  return {
    start: start === undefined ? undefined : start.slice(),
    startExclusive,
    end: end === undefined ? undefined : end.slice(),
  };
}

/** True when `key` lies inside `span`. */
export function isInSpan(key: Uint8Array, span: KeySpan): boolean {
  if (span.start !== undefined) {
    const order = compareBytes(key, span.start);
    if (order < 0 || (order === 0 && span.startExclusive)) return false;
  }
  return span.end === undefined || compareBytes(key, span.end) < 0;
}

function assertBoundLength(bound: Uint8Array): void {
  if (bound.length > KEY_BYTES_MAX) {
    throw new StoreError(
      "STORE_KEY_INVALID",
      `range bound is ${bound.length} bytes; the limit is ${KEY_BYTES_MAX}`,
    );
  }
}
