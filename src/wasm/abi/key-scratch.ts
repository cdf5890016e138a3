/**
 * Keys up to this many bytes are copied into a reused array rather than viewed: for the short
 * keys of hot db_get / db_set loops a byte copy costs less than creating a subarray.
 */
const SCRATCH_KEY_BYTES_MAX = 64;

/**
 * Guest keys as byte arrays without a per-call allocation. The array is valid until the next
 * call; only hand it to something that copies what it keeps (GuestStore does).
 */
export class KeyScratch {
  readonly #byLength: Uint8Array[] = Array.from(
    { length: SCRATCH_KEY_BYTES_MAX + 1 },
    (_, n) => new Uint8Array(n),
  );

  /** The bytes `[ptr, ptr + len)` of `memory`, already bounds-checked by the caller. */
  key(memory: Uint8Array, ptr: number, len: number): Uint8Array {
    if (len > SCRATCH_KEY_BYTES_MAX) return memory.subarray(ptr, ptr + len);
    const key = this.#byLength[len]!;
    for (let i = 0; i < len; i++) key[i] = memory[ptr + i]!;
    return key;
  }
}
