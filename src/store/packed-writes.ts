/**
 * The wire form of a commit group between the node's thread and the commit worker: one
 * ArrayBuffer, transferred rather than copied, holding `u32 count` then per write
 * `u32 keyLength, key, i32 valueLength (-1: delete), value` (little-endian).
 */

/** One write to pack: `value` null is a delete. */
interface PackableWrite {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

export function packWrites(writes: readonly PackableWrite[]): ArrayBuffer {
  let size = 4;
  for (const { key, value } of writes) size += 8 + key.length + (value?.length ?? 0);
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, writes.length, true);
  let at = 4;
  for (const { key, value } of writes) {
    view.setUint32(at, key.length, true);
    bytes.set(key, at + 4);
    at += 4 + key.length;
    view.setInt32(at, value === null ? -1 : value.length, true);
    at += 4;
    if (value !== null) {
      bytes.set(value, at);
      at += value.length;
    }
  }
  return buffer;
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
  let at = 4;
  for (let i = 0; i < count; i++) {
    const keyLength = view.getUint32(at, true);
    const key = new Uint8Array(buffer, at + 4, keyLength);
    at += 4 + keyLength;
    const valueLength = view.getInt32(at, true);
    at += 4;
    if (valueLength < -1) throw new RangeError(`packed write ${i} has value length ${valueLength}`);
    const value = valueLength === -1 ? null : new Uint8Array(buffer, at, valueLength);
    at += Math.max(valueLength, 0);
    visit(key, value);
  }
  if (at !== buffer.byteLength)
    throw new RangeError(`packed writes end at ${at} of ${buffer.byteLength} bytes`);
}
