import type { RangeOptions } from "lmdb";
import { bytesKey } from "../bytes/bytes-key.ts";
import { type Logger, silentLogger } from "../observe/logger.ts";
import type { CommitResult } from "./commit-protocol.ts";
import { type DatastoreLayout, prepareDatastore } from "./datastore-layout.ts";
import type { ExtendedKvBackend, KvSpanQuery } from "./extended-kv-backend.ts";
import { assertStorableKey, compareBytes, isStorableKey } from "./key-bytes.ts";
import { isInSpan, type KeySpan, keySpanOf } from "./key-span.ts";
import type { KvEntry } from "./kv-backend.ts";
import { LmdbCommitThread } from "./lmdb-commit-thread.ts";
import {
  commitWrites,
  type LmdbEnvironment,
  lmdbErrorCode,
  openLmdbEnvironment,
} from "./lmdb-environment.ts";
import { type PendingEntry, PendingWrites } from "./pending-writes.ts";
import { assertSynchronousBatch, StoreError, storeClosedError } from "./store-error.ts";
import { claimInThisProcess, otherReaderPids, releaseInThisProcess } from "./store-ownership.ts";

export interface LmdbBackendOptions {
  /** The datastore directory, created when missing; LMDB's files live in its `store/` subdirectory. */
  path: string;
  /** Receives the store's own lines (component "store"): opening, failed commits. */
  logger?: Logger;
  /** `path` as `prepareDatastore` left it, when the caller prepared it already (`nx run` does, first). */
  layout?: DatastoreLayout;
  /**
   * Load the commit thread's code as the store opens rather than at the first commit: for a
   * process that runs until stopped, whose files an upgrade may replace meanwhile (see
   * LmdbCommitThread). A short run leaves it off: most end before a commit needs the thread (the
   * exit commits on the node's thread), and loading it costs about 80 ms of CPU.
   */
  commitThreadAtOpen?: boolean;
}

/** The LMDB-backed store of a node. */
export interface LmdbBackend extends ExtendedKvBackend {
  /** The datastore directory (absolute, symlinks resolved). */
  readonly datastorePath: string;
  /** The LMDB environment directory inside it. */
  readonly storePath: string;
  /**
   * Writes a consistent, compacted copy of the store as `directory/data.mdb` (LMDB's copy with
   * compaction: free pages left out), once every write made before the call is durable. The
   * node keeps reading and writing meanwhile; the copy holds the store as of one transaction.
   */
  copyCompacted(directory: string): Promise<void>;
}

/**
 * Pending writes above which a writer waits (its thread blocks) for the commit in flight instead
 * of piling up more: bounds the memory a writer faster than the disk can take.
 */
export const PENDING_WRITES_MAX = 100_000;
const PENDING_BYTES_MAX = 64 * 1024 * 1024;

/** First wait before a failed commit is tried again; doubles up to COMMIT_RETRY_MAX_MS. */
const COMMIT_RETRY_FIRST_MS = 250;
const COMMIT_RETRY_MAX_MS = 5_000;
/** While commits keep failing, the store repeats its error line at most this often. */
const FAILURE_LOG_INTERVAL_MS = 60_000;
/** How long one synchronous wait for the commit thread may block (the pending-writes bound). */
const RELIEF_WAIT_MS = 1_000;

/** Rows read per LMDB cursor pass while a range is iterated (see `rows`). */
const RANGE_CHUNK_ROWS = 256;

/** LMDB's cursor takes a 32-bit offset; a larger one can only point past the end of any real store. */
const RANGE_OFFSET_MAX = 0x7fffffff;

const EMPTY = new Uint8Array(0);

/**
 * Opens (creating when missing) the datastore at `options.path` and returns its store.
 *
 * Writes are kept in memory (`PendingWrites`) until they are durable, so every read sees them at
 * once; groups of them are committed, and fsynced, on a commit thread (`lmdb-commit-thread.ts`),
 * one group in flight at a time: the writes made while a commit runs form the next group. The
 * node's thread never writes pages nor waits for the disk, except when more than
 * PENDING_WRITES_MAX writes (or PENDING_BYTES_MAX bytes) are pending, and at exit.
 *
 * A write is durable once `durable(seq)` (or a `flushed()` issued after it) resolves. A commit that
 * fails (full disk) loses nothing: its writes stay pending and are committed again, with backoff,
 * until the disk takes them; meanwhile `commitFailure()` says why.
 *
 * @throws StoreError STORE_PATH_NOT_DIRECTORY, STORE_PERMISSION_DENIED, STORE_CORRUPT,
 *   STORE_LOCKED (another process, or another backend of this one, has it open), STORE_OPEN_FAILED.
 * @example
 * const store = await openLmdbBackend({ path: "./nx-data", logger });
 * store.put(key, value);      // visible to get/has/range at once
 * await store.flushed();      // on disk
 * await store.close();
 */
export async function openLmdbBackend(options: LmdbBackendOptions): Promise<LmdbBackend> {
  const logger = (options.logger ?? silentLogger).child("store");
  const layout = options.layout ?? (await prepareDatastore(options.path));
  if (!claimInThisProcess(layout.storePath)) {
    throw new StoreError("STORE_LOCKED", `datastore ${layout.datastorePath} is already open in this process`);
  }
  try {
    const db = openEnvironment(layout.storePath);
    await assertSoleProcess(db, layout.datastorePath);
    const store = new LmdbStore(db, layout.datastorePath, layout.storePath, logger);
    if (options.commitThreadAtOpen === true) {
      try {
        await store.startCommitThread();
      } catch (error) {
        // Nothing is pending yet: closing only ends the environment, the exit hook and the claim,
        // which an open that failed must not leave behind (a later open in this process).
        await store.close();
        throw error;
      }
    }
    logger.debug("store opened", { path: layout.datastorePath });
    return store;
  } catch (error) {
    releaseInThisProcess(layout.storePath);
    throw error;
  }
}

function openEnvironment(storePath: string): LmdbEnvironment {
  try {
    return openLmdbEnvironment(storePath);
  } catch (error) {
    throw openFailure(error, storePath);
  }
}

/**
 * Refuses a store another live process has open: two processes committing to one datastore would
 * each keep writes the other cannot see. A process with the store open holds a slot in LMDB's
 * reader table; lmdb-js cleared the slots of dead processes while opening (`readerCheck`), so a
 * kill -9 leaves nothing behind.
 */
async function assertSoleProcess(db: LmdbEnvironment, datastorePath: string): Promise<void> {
  db.getBinaryFast(EMPTY_PROBE_KEY); // takes this process's own reader slot first
  const others = otherReaderPids(db.readerList(), process.pid);
  if (others.length === 0) return;
  await db.close();
  throw new StoreError(
    "STORE_LOCKED",
    `datastore ${datastorePath} is in use by process ${others.join(", ")}: stop it, or use another datastore path`,
  );
}

const EMPTY_PROBE_KEY = Uint8Array.of(0);

/** Someone waiting until every write up to `seq` is durable. */
interface DurabilityWaiter {
  readonly seq: number;
  resolve(): void;
  reject(error: StoreError): void;
}

/** A batch's writes (copies) under their keys' latin1 forms, until it returns: applied at once, or dropped when it throws. */
type BatchLayer = Map<string, PendingEntry>;

class LmdbStore implements LmdbBackend {
  readonly datastorePath: string;
  readonly storePath: string;
  readonly #db: LmdbEnvironment;
  readonly #logger: Logger;
  readonly #pending = new PendingWrites();
  readonly #thread: LmdbCommitThread;
  /** Open batches, innermost last. */
  readonly #batchLayers: BatchLayer[] = [];
  /** `flushed()` calls made inside a batch: they cover its writes, so they start when it ends. */
  #flushesAfterBatch: DurabilityWaiter[] = [];
  /** Waiting for durability, in increasing `seq`. */
  #waiters: DurabilityWaiter[] = [];
  /** The next commit, scheduled (or the retry of a failed one). */
  #commitTimer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  /** Why the last commit failed; undefined while commits succeed. */
  #failure: StoreError | undefined;
  #failureLoggedAtMs = Number.NEGATIVE_INFINITY;
  #retryDelayMs = COMMIT_RETRY_FIRST_MS;
  /** Called with every commit result (close waits on these). */
  #resultListeners: ((result: CommitResult) => void)[] = [];
  #closing: Promise<void> | undefined;

  constructor(db: LmdbEnvironment, datastorePath: string, storePath: string, logger: Logger) {
    this.#db = db;
    this.datastorePath = datastorePath;
    this.storePath = storePath;
    this.#logger = logger;
    this.#thread = new LmdbCommitThread(storePath, (result) => this.#onResult(result));
    // Ahead of lmdb-js's own exit hook, which closes the environment.
    process.prependListener("exit", this.#commitAtExit);
  }

  /** Loads the commit thread's code now, not at the first commit (see LmdbCommitThread). */
  startCommitThread(): Promise<void> {
    return this.#thread.start();
  }

  get(key: Uint8Array): Uint8Array | undefined {
    if (this.#closing !== undefined) throw storeClosedError();
    if (!isStorableKey(key)) return undefined;
    const pending = this.#pendingOf(key);
    if (pending !== undefined) return pending.value?.slice();
    return this.#db.getBinary(key);
  }

  getView(key: Uint8Array): Uint8Array | undefined {
    if (this.#closing !== undefined) throw storeClosedError();
    if (!isStorableKey(key)) return undefined;
    const pending = this.#pendingOf(key);
    if (pending !== undefined) return pending.value ?? undefined;
    const value = this.#db.getBinaryFast(key);
    // lmdb-js reuses one Buffer for every read and patches its `length` to the value's size; a
    // plain Uint8Array view keeps Buffer's non-copying `slice` away from callers.
    return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.length);
  }

  has(key: Uint8Array): boolean {
    if (this.#closing !== undefined) throw storeClosedError();
    if (!isStorableKey(key)) return false;
    const pending = this.#pendingOf(key);
    if (pending !== undefined) return pending.value !== null;
    return this.#db.getBinaryFast(key) !== undefined;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    if (this.#closing !== undefined) throw storeClosedError();
    assertStorableKey(key);
    this.#write(key, value);
  }

  delete(key: Uint8Array): void {
    if (this.#closing !== undefined) throw storeClosedError();
    if (!isStorableKey(key)) return;
    this.#write(key, null);
  }

  batch(writes: () => void): void {
    if (this.#closing !== undefined) throw storeClosedError();
    this.#batchLayers.push(new Map());
    let applied = false;
    try {
      assertSynchronousBatch(writes());
      applied = true;
    } finally {
      const layer = this.#batchLayers.pop()!;
      const parent = this.#batchLayers.at(-1);
      if (applied && parent !== undefined) {
        for (const [name, write] of layer) parent.set(name, write);
      } else if (applied && layer.size > 0) {
        // One synchronous pass: all of the batch lands in the same commit group, one transaction.
        for (const write of layer.values()) this.#pending.write(write.key, write.value);
        this.#afterWrites();
      }
      if (this.#batchLayers.length === 0 && this.#flushesAfterBatch.length > 0) {
        const flushes = this.#flushesAfterBatch;
        this.#flushesAfterBatch = [];
        const seq = this.#pending.writeSeq();
        for (const waiter of flushes) this.#await({ seq, resolve: waiter.resolve, reject: waiter.reject });
      }
    }
  }

  writeAll(writes: readonly (readonly [key: Uint8Array, value: Uint8Array | undefined])[]): void {
    if (this.#closing !== undefined) throw storeClosedError();
    for (const [key, value] of writes) if (value !== undefined) assertStorableKey(key);
    if (this.#batchLayers.length > 0) {
      for (const [key, value] of writes)
        if (value !== undefined || isStorableKey(key)) this.#write(key, value ?? null);
      return;
    }
    // Straight into the pending writes (which copy them), in one synchronous pass: the same
    // commit group, one transaction, as a batch, without the batch layer's copies.
    for (const [key, value] of writes)
      if (value !== undefined || isStorableKey(key)) this.#pending.write(key, value ?? null);
    if (writes.length > 0) this.#afterWrites();
  }

  range(query: KvSpanQuery): Iterable<KvEntry> {
    if (this.#closing !== undefined) throw storeClosedError();
    const span = keySpanOf(query);
    const offset = query.offset ?? 0;
    if (span === undefined || offset > RANGE_OFFSET_MAX) return [];
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    const keysOnly = query.keysOnly === true;
    if (this.#pending.size === 0 && this.#batchLayers.length === 0) {
      return this.#rows(span, offset, limit, keysOnly);
    }
    return this.#mergedRows(span, this.#pendingInSpan(span), offset, limit, keysOnly);
  }

  flushed(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(storeClosedError());
    if (this.#batchLayers.length > 0) {
      return new Promise((resolve, reject) => this.#flushesAfterBatch.push({ seq: 0, resolve, reject }));
    }
    return this.durable(this.#pending.writeSeq());
  }

  lastWriteSeq(): number {
    return this.#pending.writeSeq();
  }

  isDurable(seq: number): boolean {
    return this.#pending.durableSeq() >= seq;
  }

  durable(seq: number): Promise<void> {
    if (this.#pending.durableSeq() >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => this.#await({ seq, resolve, reject }));
  }

  commitFailure(): StoreError | undefined {
    return this.#failure;
  }

  pendingWrites(): number {
    return this.#pending.size;
  }

  sizeBytes(): number {
    if (this.#closing !== undefined) throw storeClosedError();
    const stats = this.#db.getStats() as { lastPageNumber: number; pageSize: number };
    return (stats.lastPageNumber + 1) * stats.pageSize;
  }

  async copyCompacted(directory: string): Promise<void> {
    await this.flushed();
    if (this.#closing !== undefined) throw storeClosedError();
    await this.#db.backup(directory, true);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    let failure: unknown;
    try {
      await this.#commitAllForClose();
    } catch (error) {
      failure = error;
    }
    this.#cancelCommitTimer();
    process.removeListener("exit", this.#commitAtExit);
    await this.#thread.stop();
    releaseInThisProcess(this.storePath);
    await this.#db.close();
    this.#logger.debug("store closed", { path: this.datastorePath });
    if (failure !== undefined) throw failure;
  }

  /**
   * Commits everything pending. While commits fail, one more attempt is made at once; if it fails
   * too, the pending writes are lost (they were never reported durable) and every waiter is told.
   */
  async #commitAllForClose(): Promise<void> {
    let failures = 0;
    while (this.#pending.size > 0) {
      if (this.#pending.inFlight() === undefined) {
        this.#cancelCommitTimer();
        this.#commitNow();
      }
      const result = await new Promise<CommitResult>((resolve) => {
        this.#resultListeners.push(resolve);
        this.#thread.keepAlive(true);
      });
      if (result.ok) continue;
      failures++;
      if (failures > 1) {
        const failure = this.#failure!;
        const lost = this.#pending.size;
        this.#logger.error(`the store closes with ${lost} writes not saved: ${failure.message}`, {
          path: this.datastorePath,
        });
        this.#rejectWaiters(failure);
        throw failure;
      }
    }
  }

  #pendingOf(key: Uint8Array): PendingEntry | undefined {
    if (this.#pending.size === 0 && this.#batchLayers.length === 0) return undefined;
    if (this.#batchLayers.length > 0) {
      const name = bytesKey(key);
      for (let level = this.#batchLayers.length - 1; level >= 0; level--) {
        const write = this.#batchLayers[level]!.get(name);
        if (write !== undefined) return write;
      }
    }
    return this.#pending.lookup(key);
  }

  /** Pending and batched writes in the span, newest per key, in key order. */
  #pendingInSpan(span: KeySpan): PendingEntry[] {
    const pending = this.#pending.inSpan(span);
    if (this.#batchLayers.length === 0) return pending;
    const byName = new Map<string, PendingEntry>();
    for (const write of pending) byName.set(bytesKey(write.key), write);
    for (const layer of this.#batchLayers) {
      for (const [name, write] of layer) if (isInSpan(write.key, span)) byName.set(name, write);
    }
    return [...byName.values()].sort((a, b) => compareBytes(a.key, b.key));
  }

  /** `key` and `value` may be views of the caller's memory: what is kept is copied. */
  #write(key: Uint8Array, value: Uint8Array | null): void {
    const layer = this.#batchLayers.at(-1);
    if (layer !== undefined) {
      layer.set(bytesKey(key), { key: key.slice(), value: value?.slice() ?? null });
      return;
    }
    this.#pending.write(key, value);
    this.#afterWrites();
  }

  #afterWrites(): void {
    if (this.#pending.inFlight() === undefined) this.#scheduleCommit();
    if (this.#overBound()) this.#relieve();
  }

  #overBound(): boolean {
    return this.#pending.size > PENDING_WRITES_MAX || this.#pending.bytes > PENDING_BYTES_MAX;
  }

  /**
   * Too much is pending: wait (blocking this thread) for the commit in flight, then hand over the
   * next group, until the pending writes fit again or commits fail.
   */
  #relieve(): void {
    while (this.#overBound() && this.#failure === undefined) {
      if (this.#pending.inFlight() === undefined) {
        this.#cancelCommitTimer();
        this.#commitNow();
      }
      if (!this.#thread.waitForResult(RELIEF_WAIT_MS)) return;
    }
  }

  #scheduleCommit(): void {
    if (this.#commitTimer !== undefined || this.#failure !== undefined) return;
    this.#commitTimer = setImmediate(this.#commitNow);
    if (this.#waiters.length === 0) this.#commitTimer.unref();
  }

  #cancelCommitTimer(): void {
    if (this.#commitTimer === undefined) return;
    clearImmediate(this.#commitTimer as NodeJS.Immediate);
    clearTimeout(this.#commitTimer as NodeJS.Timeout);
    this.#commitTimer = undefined;
  }

  readonly #commitNow = (): void => {
    this.#commitTimer = undefined;
    const group = this.#pending.takeGroup();
    if (group === undefined) return;
    try {
      this.#thread.send(group.id, group.packed);
    } catch (error) {
      this.#onResult({ id: group.id, ok: false, ms: 0, code: undefined, message: (error as Error).message });
    }
  };

  #onResult(result: CommitResult): void {
    if (result.ok) {
      // Readers move to the snapshot holding the group before its writes leave the pending set.
      this.#db.resetReadTxn();
      const durable = this.#pending.committed(result.id);
      if (this.#failure !== undefined) {
        this.#logger.info("datastore commits again: the pending writes are saved", {
          path: this.datastorePath,
        });
        this.#failure = undefined;
        this.#retryDelayMs = COMMIT_RETRY_FIRST_MS;
        this.#failureLoggedAtMs = Number.NEGATIVE_INFINITY;
      }
      this.#resolveWaiters(durable);
      if (this.#pending.hasUnsent()) this.#scheduleCommit();
    } else {
      this.#pending.failed(result.id);
      // The worker's error arrives as its code and message: rebuilt, so the StoreError's cause is an Error.
      const error = Object.assign(new Error(result.message), { code: result.code });
      this.#commitFailed(writeFailure(error, this.datastorePath));
    }
    const listeners = this.#resultListeners;
    this.#resultListeners = [];
    for (const listener of listeners) listener(result);
    if (this.#waiters.length === 0 && this.#resultListeners.length === 0) this.#thread.keepAlive(false);
  }

  #commitFailed(failure: StoreError): void {
    this.#failure = failure;
    const now = performance.now();
    if (now - this.#failureLoggedAtMs >= FAILURE_LOG_INTERVAL_MS) {
      this.#failureLoggedAtMs = now;
      this.#logger.error(
        `${failure.message}; ${this.#pending.size} writes wait in memory and are retried until the disk takes them; guests' writes answer -3 meanwhile`,
        { path: this.datastorePath },
      );
    }
    if (this.#closing !== undefined) return;
    this.#cancelCommitTimer();
    this.#commitTimer = setTimeout(this.#commitNow, this.#retryDelayMs);
    if (this.#waiters.length === 0) this.#commitTimer.unref();
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, COMMIT_RETRY_MAX_MS);
  }

  #await(waiter: DurabilityWaiter): void {
    if (this.#pending.durableSeq() >= waiter.seq) {
      waiter.resolve();
      return;
    }
    this.#waiters.push(waiter);
    // Someone waits: the process must not exit before the commit returns.
    this.#thread.keepAlive(true);
    this.#commitTimer?.ref();
  }

  #resolveWaiters(durable: number): void {
    let settled = 0;
    while (settled < this.#waiters.length && this.#waiters[settled]!.seq <= durable) {
      this.#waiters[settled++]!.resolve();
    }
    if (settled > 0) this.#waiters = this.#waiters.slice(settled);
  }

  #rejectWaiters(failure: StoreError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(failure);
  }

  /**
   * `process.exit()` with writes pending: they are committed here, synchronously, as the commit
   * thread would have (it is still running and holds the write lock at most until its commit
   * ends). The thread is fenced first: the group in flight, if its transaction has not begun,
   * must not begin after this one and write its older values over these (`pending` holds the
   * newest value of every key, that group's included). Writes of a batch still open are left
   * out: half a batch is never committed.
   */
  readonly #commitAtExit = (): void => {
    if (this.#pending.size === 0) return;
    this.#thread.fence();
    try {
      commitWrites(this.#db, (visit) => this.#pending.forEach(visit));
    } catch (error) {
      process.stderr.write(
        `nx: error: ${this.#pending.size} writes could not be saved at exit: ${writeFailure(error, this.datastorePath).message}\n`,
      );
      // Read by Node after the 'exit' listeners: a run that lost writes does not exit 0.
      process.exitCode = 1;
    }
  };

  /**
   * Reads the span in passes of RANGE_CHUNK_ROWS rows, each from a fresh cursor that is closed
   * before any row is handed out: a caller may write, await or commit between rows without
   * holding a cursor on a transaction that has since ended. Each pass resumes after the last key
   * returned, so a row is never returned twice nor out of order.
   */
  *#rows(span: KeySpan, offset: number, limit: number, keysOnly: boolean): Generator<KvEntry> {
    let start = span.start;
    let startExclusive = span.startExclusive;
    let skip = offset;
    let remaining = limit;
    while (remaining > 0) {
      if (this.#closing !== undefined) throw storeClosedError();
      const wanted = Math.min(remaining, RANGE_CHUNK_ROWS);
      const rows = this.#readRows(start, startExclusive, span.end, skip, wanted, keysOnly);
      skip = 0;
      yield* rows;
      if (rows.length < wanted) return;
      remaining -= rows.length;
      start = rows[rows.length - 1]![0];
      startExclusive = true;
    }
  }

  /**
   * The committed rows of the span merged with `pending` (the writes not yet committed when the
   * listing began, in key order): a pending write replaces the committed row of its key, a
   * pending delete hides it. Offset and limit apply to the merged rows.
   */
  *#mergedRows(
    span: KeySpan,
    pending: readonly PendingEntry[],
    offset: number,
    limit: number,
    keysOnly: boolean,
  ): Generator<KvEntry> {
    const committed = this.#rows(span, 0, Number.POSITIVE_INFINITY, keysOnly);
    let next = committed.next();
    let index = 0;
    let skip = offset;
    let remaining = limit;
    while (remaining > 0) {
      if (this.#closing !== undefined) throw storeClosedError();
      const write = pending[index];
      if (next.done === true && write === undefined) return;
      const order =
        next.done === true ? 1 : write === undefined ? -1 : compareBytes(next.value[0], write.key);
      let row: KvEntry;
      if (order < 0) {
        row = next.value as KvEntry;
        next = committed.next();
      } else {
        if (order === 0) next = committed.next();
        index++;
        if (write!.value === null) continue;
        row = [write!.key.slice(), keysOnly ? EMPTY : write!.value.slice()];
      }
      if (skip > 0) {
        skip--;
        continue;
      }
      remaining--;
      yield row;
    }
  }

  #readRows(
    start: Uint8Array | undefined,
    startExclusive: boolean,
    end: Uint8Array | undefined,
    offset: number,
    limit: number,
    keysOnly: boolean,
  ): KvEntry[] {
    const options: RangeOptions & { values?: boolean } = { offset, limit, exclusiveStart: startExclusive };
    if (start !== undefined) options.start = start;
    if (end !== undefined) options.end = end;
    const rows: KvEntry[] = [];
    if (keysOnly) {
      options.values = false;
      for (const key of this.#db.getRange(options) as Iterable<unknown> as Iterable<Uint8Array>) {
        rows.push([key, EMPTY]);
      }
    } else {
      for (const { key, value } of this.#db.getRange(options)) rows.push([key, value]);
    }
    return rows;
  }
}

const ENOTDIR = 20;
const EACCES = 13;
const EROFS = 30;
const ENOSPC = 28;
const EFBIG = 27;
const EDQUOT = 122;
/** LMDB reports a short write as EIO: what a full disk or a file-size limit usually produces. */
const EIO = 5;
/** MDB_CORRUPTED, MDB_PANIC, MDB_VERSION_MISMATCH, MDB_INVALID. */
const LMDB_DAMAGED = new Set([-30796, -30795, -30794, -30793]);

function openFailure(error: unknown, storePath: string): StoreError {
  const code = lmdbErrorCode(error);
  const reason = (error as Error).message;
  if (code === ENOTDIR) {
    return new StoreError("STORE_PATH_NOT_DIRECTORY", `cannot open datastore ${storePath}: not a directory`, {
      cause: error,
    });
  }
  if (code === EACCES || code === EROFS) {
    // LMDB opens its lock file for writing even to read: a read-only datastore cannot be opened.
    const why =
      code === EROFS
        ? "the file system is read-only (choose a writable directory)"
        : "permission denied (the node needs to write there: check the directory's owner and mode)";
    return new StoreError("STORE_PERMISSION_DENIED", `cannot open datastore ${storePath}: ${why}`, {
      cause: error,
    });
  }
  if (code !== undefined && LMDB_DAMAGED.has(code)) {
    return new StoreError(
      "STORE_CORRUPT",
      `datastore ${storePath} is damaged or not an LMDB store (${reason}): restore it from a backup`,
      { cause: error },
    );
  }
  if (code === ENOSPC) {
    return new StoreError("STORE_DISK_FULL", `cannot open datastore ${storePath}: no space left on device`, {
      cause: error,
    });
  }
  return new StoreError("STORE_OPEN_FAILED", `cannot open datastore ${storePath}: ${reason}`, {
    cause: error,
  });
}

function writeFailure(error: unknown, datastorePath: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = lmdbErrorCode(error);
  if (code === ENOSPC || code === EFBIG || code === EDQUOT) {
    return new StoreError(
      "STORE_DISK_FULL",
      `datastore ${datastorePath} is full (${(error as Error).message}): free space`,
      { cause: error },
    );
  }
  const hint = code === EIO ? ": a full disk shows up this way, check free space" : "";
  return new StoreError(
    "STORE_WRITE_FAILED",
    `writing datastore ${datastorePath} failed (${(error as Error).message})${hint}`,
    { cause: error },
  );
}
