import { bytesKey } from "../bytes/bytes-key.ts";
import type { ExtendedKvBackend, KvSpanQuery } from "./extended-kv-backend.ts";
import { assertStorableKey, compareBytes, isStorableKey } from "./key-bytes.ts";
import { isInSpan, type KeySpan, keySpanOf } from "./key-span.ts";
import type { KvEntry } from "./kv-backend.ts";
import { assertSynchronousBatch, storeClosedError } from "./store-error.ts";

const EMPTY = new Uint8Array(0);

/** One write's previous state, replayed backwards when a batch fails. */
interface UndoRecord {
  readonly key: Uint8Array;
  readonly previous: Uint8Array | undefined;
}

/**
 * A sorted in-memory KvBackend for unit tests and the deterministic simulator, with the same
 * semantics as the LMDB backend (checked by the same contract suite): keys and values are copied
 * in and out, writes are visible at once, batches are atomic, closed backends throw. Nothing is
 * persisted: `flushed()` resolves at once.
 *
 * @example
 * const store = createMemoryBackend();
 * store.put(bytes("k"), bytes("v"));
 */
export function createMemoryBackend(): ExtendedKvBackend {
  return new MemoryBackend();
}

class MemoryBackend implements ExtendedKvBackend {
  /** Every key, sorted bytewise; the values live in `#values` under the key's latin1 form. */
  readonly #keys: Uint8Array[] = [];
  readonly #values = new Map<string, Uint8Array>();
  #sizeBytes = 0;
  #writeSeq = 0;
  #closed = false;
  /** One undo log per open batch, innermost last. */
  readonly #undoLogs: UndoRecord[][] = [];

  get(key: Uint8Array): Uint8Array | undefined {
    return this.getView(key)?.slice();
  }

  getView(key: Uint8Array): Uint8Array | undefined {
    this.#assertOpen();
    return isStorableKey(key) ? this.#values.get(bytesKey(key)) : undefined;
  }

  has(key: Uint8Array): boolean {
    return this.getView(key) !== undefined;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.#assertOpen();
    assertStorableKey(key);
    this.#write(key.slice(), value.slice());
  }

  delete(key: Uint8Array): void {
    this.#assertOpen();
    if (isStorableKey(key)) this.#write(key.slice(), undefined);
  }

  batch(writes: () => void): void {
    this.#assertOpen();
    const undoLog: UndoRecord[] = [];
    this.#undoLogs.push(undoLog);
    try {
      assertSynchronousBatch(writes());
    } catch (error) {
      this.#undoLogs.pop();
      for (let i = undoLog.length - 1; i >= 0; i--) this.#apply(undoLog[i]!.key, undoLog[i]!.previous);
      throw error;
    }
    this.#undoLogs.pop();
    this.#undoLogs.at(-1)?.push(...undoLog);
  }

  writeAll(writes: readonly (readonly [key: Uint8Array, value: Uint8Array | undefined])[]): void {
    this.#assertOpen();
    for (const [key, value] of writes) if (value !== undefined) assertStorableKey(key);
    this.batch(() => {
      for (const [key, value] of writes) {
        if (value === undefined) this.delete(key);
        else this.put(key, value);
      }
    });
  }

  range(query: KvSpanQuery): Iterable<KvEntry> {
    this.#assertOpen();
    const span = keySpanOf(query);
    if (span === undefined) return [];
    return this.#rows(
      span,
      query.offset ?? 0,
      query.limit ?? Number.POSITIVE_INFINITY,
      query.keysOnly === true,
    );
  }

  async flushed(): Promise<void> {
    this.#assertOpen();
  }

  lastWriteSeq(): number {
    return this.#writeSeq;
  }

  /** Nothing is persisted: every write counts as durable at once. */
  isDurable(): boolean {
    return true;
  }

  async durable(): Promise<void> {}

  commitFailure(): undefined {
    return undefined;
  }

  pendingWrites(): number {
    return 0;
  }

  sizeBytes(): number {
    this.#assertOpen();
    return this.#sizeBytes;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Rows are found again by key at each step, so writes made while iterating cannot derail it. */
  *#rows(span: KeySpan, offset: number, limit: number, keysOnly: boolean): Generator<KvEntry> {
    let index = this.#seek(span.start, span.startExclusive);
    let skipped = 0;
    let produced = 0;
    while (produced < limit && index < this.#keys.length) {
      const key = this.#keys[index]!;
      if (!isInSpan(key, span)) return;
      if (skipped < offset) {
        skipped++;
      } else {
        produced++;
        yield [key.slice(), keysOnly ? EMPTY : this.#values.get(bytesKey(key))!.slice()];
        this.#assertOpen();
      }
      index = this.#seek(key, true);
    }
  }

  #write(key: Uint8Array, value: Uint8Array | undefined): void {
    this.#writeSeq++;
    const undoLog = this.#undoLogs.at(-1);
    if (undoLog !== undefined) undoLog.push({ key, previous: this.#values.get(bytesKey(key)) });
    this.#apply(key, value);
  }

  #apply(key: Uint8Array, value: Uint8Array | undefined): void {
    const name = bytesKey(key);
    const previous = this.#values.get(name);
    if (previous !== undefined) this.#sizeBytes -= key.length + previous.length;
    if (value === undefined) {
      if (previous === undefined) return;
      this.#values.delete(name);
      this.#keys.splice(this.#seek(key, false), 1);
      return;
    }
    if (previous === undefined) this.#keys.splice(this.#seek(key, false), 0, key);
    this.#values.set(name, value);
    this.#sizeBytes += key.length + value.length;
  }

  /** Index of the first key >= `key` (> `key` when `exclusive`); 0 for an open start. */
  #seek(key: Uint8Array | undefined, exclusive: boolean): number {
    if (key === undefined) return 0;
    let low = 0;
    let high = this.#keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const order = compareBytes(this.#keys[middle]!, key);
      if (order < 0 || (order === 0 && exclusive)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosedError();
  }
}
