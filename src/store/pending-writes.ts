import { compareBytes } from "./key-bytes.ts";
import { isInSpan, type KeySpan } from "./key-span.ts";

/**
 * The newest write of one key that is not yet durable: its value (`null` for a delete) and the
 * sequence number of that write.
 */
export interface PendingWrite {
  /** The key's latin1 form (see {@link latin1}). */
  readonly name: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  readonly seq: number;
}

/** Writes handed to one commit: the newest value of every key written since the last group. */
interface CommitGroup {
  readonly id: number;
  readonly writes: readonly PendingWrite[];
  /** Every write with a sequence number up to this one is durable once the group's commit ends. */
  readonly lastSeq: number;
}

/**
 * The commit scheduler's state, pure (no I/O, no clock): which writes are not durable yet, which
 * of them the commit in flight carries, and what is durable. The LMDB backend keeps every write
 * here until its commit has ended, so reads see it at once and a failed commit loses nothing: its
 * writes simply join the next group.
 *
 * Writes are numbered 1, 2, 3... At most one group is in flight. A group holds every key written
 * since the previous group was taken (failed groups' keys included), with the newest value, and
 * covers every write numbered up to its `lastSeq`: a write not in it either was superseded by a
 * newer write of the same key that is in it, or was made durable by an earlier group. So when its
 * commit ends, everything up to `lastSeq` is durable, and nothing is reported durable before the
 * commit that holds it has ended (`pending-writes.test.ts` checks this against a model).
 *
 * @example
 * const pending = new PendingWrites();
 * pending.write(name, key, value);           // seq 1
 * const group = pending.takeGroup()!;        // hand group.writes to the commit
 * pending.committed(group.id);               // durableSeq() === 1
 */
export class PendingWrites {
  /** Newest pending write per key, under the key's latin1 form. */
  readonly #entries = new Map<string, PendingWrite>();
  /** Keys written (or whose commit failed) since the last group was taken. */
  #unsent = new Set<string>();
  #inFlight: CommitGroup | undefined;
  #nextGroupId = 1;
  #writeSeq = 0;
  #durableSeq = 0;
  #bytes = 0;

  /** Records a write (`value` null: a delete); the caller hands over `key` and `value`. Returns its number. */
  write(name: string, key: Uint8Array, value: Uint8Array | null): number {
    const seq = ++this.#writeSeq;
    const previous = this.#entries.get(name);
    if (previous !== undefined) this.#bytes -= entryBytes(previous);
    const entry: PendingWrite = { name, key, value, seq };
    this.#entries.set(name, entry);
    this.#bytes += entryBytes(entry);
    this.#unsent.add(name);
    return seq;
  }

  /** The pending write of the key named `name`, if any. */
  lookup(name: string): PendingWrite | undefined {
    return this.#entries.get(name);
  }

  /** Keys with a pending write. */
  get size(): number {
    return this.#entries.size;
  }

  /** Approximate bytes of the pending keys and values. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of the newest write (0 before the first). */
  writeSeq(): number {
    return this.#writeSeq;
  }

  /** Every write numbered up to this is durable. */
  durableSeq(): number {
    return this.#durableSeq;
  }

  inFlight(): CommitGroup | undefined {
    return this.#inFlight;
  }

  /** True when some write is waiting for a group (none may be taken while one is in flight). */
  hasUnsent(): boolean {
    return this.#unsent.size > 0;
  }

  /** The next group to commit, now in flight; undefined while one is in flight or nothing waits. */
  takeGroup(): CommitGroup | undefined {
    if (this.#inFlight !== undefined || this.#unsent.size === 0) return undefined;
    const writes: PendingWrite[] = [];
    for (const name of this.#unsent) writes.push(this.#entries.get(name)!);
    this.#unsent = new Set();
    this.#inFlight = { id: this.#nextGroupId++, writes, lastSeq: this.#writeSeq };
    return this.#inFlight;
  }

  /** The commit of group `id` ended: its writes are durable. Returns the new durable number. */
  committed(id: number): number {
    const group = this.#takeInFlight(id);
    for (const { name } of group.writes) {
      const entry = this.#entries.get(name);
      // A newer write of the key stays pending (it is in #unsent already).
      if (entry !== undefined && entry.seq <= group.lastSeq) {
        this.#entries.delete(name);
        this.#bytes -= entryBytes(entry);
      }
    }
    this.#durableSeq = Math.max(this.#durableSeq, group.lastSeq);
    return this.#durableSeq;
  }

  /** The commit of group `id` failed: its writes stay pending and join the next group. */
  failed(id: number): void {
    const group = this.#takeInFlight(id);
    for (const { name } of group.writes) this.#unsent.add(name);
  }

  /** Every pending write, newest value per key, in no particular order (the exit commit). */
  all(): IterableIterator<PendingWrite> {
    return this.#entries.values();
  }

  /** The pending writes whose keys lie in `span`, in key order. O(pending keys). */
  inSpan(span: KeySpan): PendingWrite[] {
    const found: PendingWrite[] = [];
    for (const entry of this.#entries.values()) if (isInSpan(entry.key, span)) found.push(entry);
    return found.sort((a, b) => compareBytes(a.key, b.key));
  }

  #takeInFlight(id: number): CommitGroup {
    const group = this.#inFlight;
    if (group === undefined || group.id !== id) {
      throw new Error(`commit group ${id} is not the one in flight (${group?.id ?? "none"})`);
    }
    this.#inFlight = undefined;
    return group;
  }
}

/** Per-entry overhead counted on top of the key and value bytes (object, map slot, name). */
const ENTRY_OVERHEAD_BYTES = 96;

function entryBytes(entry: PendingWrite): number {
  return ENTRY_OVERHEAD_BYTES + 2 * entry.key.length + (entry.value?.length ?? 0);
}
