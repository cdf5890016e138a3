/**
 * The wire form of a commit group between the node's thread and the commit worker: one
 * ArrayBuffer, transferred rather than copied, holding `u32 count` then per write
 * `u32 keyLength, key, i32 valueLength (-1: delete), value` (little-endian). The pending writes'
 * slab (`write-slab.ts`) stores every write in this layout already, so packing a group copies
 * each write's bytes once.
 */

/** The value length that marks a delete. */
export const PACKED_DELETE = -1;
/** Bytes before the first write: the count. */
export const PACK_HEADER_BYTES = 4;

/** Bytes of one packed write; `valueLength` PACKED_DELETE for a delete. */
export function packedWriteBytes(keyLength: number, valueLength: number): number {
  return 8 + keyLength + Math.max(valueLength, 0);
}

/** Lays out one write at `at` of `target` (which has room for it); `value` null is a delete. */
export function putPackedWrite(
  target: Uint8Array,
  at: number,
  key: Uint8Array,
  value: Uint8Array | null,
): void {
  putU32(target, at, key.length);
  target.set(key, at + 4);
  const valueAt = at + 4 + key.length;
  putU32(target, valueAt, value === null ? PACKED_DELETE >>> 0 : value.length);
  if (value !== null) target.set(value, valueAt + 4);
}

/**
 * A pack of `count` writes whose records take `writeBytes` bytes, the count already in place:
 * the caller copies the records in from PACK_HEADER_BYTES on.
 */
export function newPack(count: number, writeBytes: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(PACK_HEADER_BYTES + writeBytes);
  putU32(bytes, 0, count);
  return bytes;
}

function putU32(target: Uint8Array, at: number, value: number): void {
  target[at] = value & 0xff;
  target[at + 1] = (value >>> 8) & 0xff;
  target[at + 2] = (value >>> 16) & 0xff;
  target[at + 3] = value >>> 24;
}

/**
 * Calls `visit` for every packed write in order, with views into `buffer` (no copies).
 * @throws RangeError when the buffer is not a well-formed pack.
 */
export function unpackWrites(
  buffer: ArrayBuffer,
  visit: (key: Uint8Array, value: Uint8Array | null) => void,
): void {
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  let at = PACK_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const keyLength = view.getUint32(at, true);
    const key = new Uint8Array(buffer, at + 4, keyLength);
    at += 4 + keyLength;
    const valueLength = view.getInt32(at, true);
    at += 4;
    if (valueLength < PACKED_DELETE)
      throw new RangeError(`packed write ${i} has value length ${valueLength}`);
    const value = valueLength === PACKED_DELETE ? null : new Uint8Array(buffer, at, valueLength);
    at += Math.max(valueLength, 0);
    visit(key, value);
  }
  if (at !== buffer.byteLength)
    throw new RangeError(`packed writes end at ${at} of ${buffer.byteLength} bytes`);
}
