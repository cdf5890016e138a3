import { hasPrefix, prefixEnd } from "./key-bytes.ts";

/**
 * The runtime's namespace: every key starting with the bytes of "__nx/" belongs to Numax itself
 * (sync metadata, op logs, module state). Guests can neither read, write, nor list these keys.
 *
 * What a guest listing prefix does (HOST-ABI: "every db function that touches such a key or
 * prefix returns -4, and listings never show them"):
 * - inside the namespace ("__nx/", "__nx/x", ...: `isReservedKey(prefix)`): refused, -4;
 * - a proper prefix of "__nx/" ("", "_", "__", "__n", "__nx": `overlapsReserved(prefix)` but not
 *   reserved itself): allowed, and the reserved keys are skipped by seeking past them;
 * - any other prefix: cannot match a reserved key, listed as is.
 * An `after` key inside the namespace is refused too: guests never see one to resume from.
 */
export const RESERVED_PREFIX: Uint8Array = new TextEncoder().encode("__nx/");

/** The first key after the namespace ("__nx0"): a listing resumes here past the reserved keys. */
export const RESERVED_END: Uint8Array = prefixEnd(RESERVED_PREFIX)!;

/** True for a key in the runtime's namespace (also: a listing prefix guests are refused). */
export function isReservedKey(key: Uint8Array): boolean {
  return isReservedKeyAt(key, 0, key.length);
}

/** {@link isReservedKey} of the key `bytes[offset, offset + length)`, without a view of it. */
export function isReservedKeyAt(bytes: Uint8Array, offset: number, length: number): boolean {
  if (length < RESERVED_PREFIX.length) return false;
  for (let i = 0; i < RESERVED_PREFIX.length; i++) if (bytes[offset + i] !== RESERVED_PREFIX[i]) return false;
  return true;
}

/** True when a listing of `prefix` could include reserved keys: `prefix` is inside the namespace or a prefix of it. */
export function overlapsReserved(prefix: Uint8Array): boolean {
  return hasPrefix(prefix, RESERVED_PREFIX) || hasPrefix(RESERVED_PREFIX, prefix);
}

/**
 * The key `__nx/<name>` for the runtime's own records.
 *
 * @example reservedKey("sync/seq") // bytes of "__nx/sync/seq"
 */
export function reservedKey(name: string): Uint8Array {
  const suffix = new TextEncoder().encode(name);
  const key = new Uint8Array(RESERVED_PREFIX.length + suffix.length);
  key.set(RESERVED_PREFIX, 0);
  key.set(suffix, RESERVED_PREFIX.length);
  return key;
}
