import { StoreError } from "./store-error.ts";

/**
 * Keys are raw bytes ordered bytewise (unsigned lexicographic, a proper prefix sorts first):
 * the order LMDB uses by default, so every backend and every listing agrees on it.
 */

/**
 * Longest key any backend accepts: LMDB's limit with its default 4 KiB pages (lmdb-js caps keys
 * at 1978 bytes whatever the page size, so the figure is the same on every platform). Guests are
 * held to a tighter limit by the ABI (1024 bytes).
 */
export const KEY_BYTES_MAX = 1978;

/** Throws STORE_KEY_INVALID for a key no backend can store. */
export function assertStorableKey(key: Uint8Array): void {
  if (key.length === 0) throw new StoreError("STORE_KEY_INVALID", "store key is empty");
  if (key.length > KEY_BYTES_MAX) {
    throw new StoreError(
      "STORE_KEY_INVALID",
      `store key is ${key.length} bytes; the limit is ${KEY_BYTES_MAX}`,
    );
  }
}

/** True for a key a backend can store: 1..KEY_BYTES_MAX bytes. */
export function isStorableKey(key: Uint8Array): boolean {
  return key.length > 0 && key.length <= KEY_BYTES_MAX;
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const difference = a[i]! - b[i]!;
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

export function hasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/**
 * The smallest key greater than every key starting with `prefix` (an exclusive upper bound), or
 * undefined when no such key exists (`prefix` is empty or all 0xff bytes).
 *
 * @example prefixEnd(bytes("ab")) // "ac"; prefixEnd([0x61, 0xff]) // [0x62]
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  // A copy, never a view: Buffer#slice shares memory, and the caller's prefix must stay intact.
  const bound = new Uint8Array(prefix.subarray(0, end));
  bound[end - 1]!++;
  return bound;
}
