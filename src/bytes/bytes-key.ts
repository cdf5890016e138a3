// The one way the runtime names bytes as a string: the store's pending writes and the CRDTs'
// fields and elements are both keyed by it.

/**
 * V8 keeps a typed array of at most this many bytes inside the object itself, with no
 * ArrayBuffer of its own until something asks for `.buffer` (V8's typed_array_max_size_in_heap):
 * code that wants small arrays to stay cheap must not take views of them.
 */
export const ON_HEAP_BYTES_MAX = 64;

/**
 * A string that identifies the bytes exactly, usable as a Map key (latin1: one char per byte).
 * A short one (map fields, set elements) is built without a Buffer view: taking one asks a small
 * typed array for its `.buffer`, which moves it off-heap (V8 keeps arrays up to 64 bytes inline),
 * and that cost more than the key itself on every op applied.
 */
export function bytesKey(bytes: Uint8Array): string {
  if (bytes.length <= ON_HEAP_BYTES_MAX) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

/** The bytes a `bytesKey` names (one byte per char), in an array of their own. */
export function bytesOfKey(key: string): Uint8Array {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return bytes;
}
