import { open, type RangeOptions, type RootDatabase, type TransactionFlags } from "lmdb";
import { type Logger, silentLogger } from "../observe/logger.ts";
import { commitPauseMs } from "./commit-pacing.ts";
import { prepareDatastore } from "./datastore-layout.ts";
import type { ExtendedKvBackend, KvSpanQuery } from "./extended-kv-backend.ts";
import { assertStorableKey, isStorableKey } from "./key-bytes.ts";
import { type KeySpan, keySpanOf } from "./key-span.ts";
import type { KvEntry } from "./kv-backend.ts";
import { assertSynchronousBatch, StoreError, storeClosedError } from "./store-error.ts";
import { claimInThisProcess, otherReaderPids, releaseInThisProcess } from "./store-ownership.ts";

export interface LmdbBackendOptions {
  /** The datastore directory, created when missing; LMDB's files live in its `store/` subdirectory. */
  path: string;
  /** Receives the store's own lines (component "store"): opening, failed commits. */
  logger?: Logger;
  /**
   * How long the write transaction stays open after its first write before the automatic group
   * commit. 0 (the default) commits at the end of the current event-loop turn (`setImmediate`);
   * a few milliseconds gather more writes into each fsync at the cost of a longer window of
   * writes that a crash loses. Under load the commit may wait up to COMMIT_PACING_MAX_MS more
   * (see commit-pacing.ts).
   */
  commitDelayMs?: number;
}

/** The LMDB-backed store of a node. */
export interface LmdbBackend extends ExtendedKvBackend {
  /** The datastore directory (absolute, symlinks resolved). */
  readonly datastorePath: string;
  /** The LMDB environment directory inside it. */
  readonly storePath: string;
}

/**
 * Writes after which the open transaction is committed at once, without waiting for the end of
 * the turn: bounds the memory of dirty pages and the length of the fsync a guest writing in a
 * tight loop would otherwise pile up (100k small writes commit in roughly 20 ms).
 */
export const WRITES_PER_COMMIT_MAX = 100_000;

/** Rows read per LMDB cursor pass while a range is iterated (see `rows`). */
const RANGE_CHUNK_ROWS = 256;

/** LMDB's cursor takes a 32-bit offset; a larger one can only point past the end of any real store. */
const RANGE_OFFSET_MAX = 0x7fffffff;

const EMPTY = new Uint8Array(0);

/**
 * lmdb-js's own flags for a synchronous write transaction (see its `putSync`): with overlapping
 * sync, the commit writes and releases the write lock, then fdatasyncs before returning
 * (NO_SYNC_FLUSH | SYNCHRONOUS_COMMIT); without it, a classic LMDB commit that syncs under the lock.
 */
const OVERLAPPING_SYNC = process.platform !== "win32";
const WRITE_TXN_FLAGS = (OVERLAPPING_SYNC ? 0x10002 : 0x2) as TransactionFlags;

/**
 * Opens (creating when missing) the datastore at `options.path` and returns its store.
 *
 * Writes go straight into one LMDB write transaction held open on this thread, so every read
 * sees them at once; the transaction is committed, and fsynced before the commit returns, at the
 * end of the event-loop turn of its first write (or `commitDelayMs` later), after
 * WRITES_PER_COMMIT_MAX writes, and by `close()`. Under load a group waits a little longer, at
 * most COMMIT_PACING_MAX_MS after the previous commit (see commit-pacing.ts). `flushed()` joins
 * the open group and resolves once its commit has fsynced: a write is durable once the
 * `flushed()` issued after it resolves, and at the latest one group commit after it was made.
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
  const commitDelayMs = options.commitDelayMs ?? 0;
  if (!Number.isFinite(commitDelayMs) || commitDelayMs < 0) {
    throw new StoreError(
      "STORE_OPEN_FAILED",
      `commitDelayMs must be a finite number >= 0, got ${commitDelayMs}`,
    );
  }
  const logger = (options.logger ?? silentLogger).child("store");
  const layout = await prepareDatastore(options.path);
  if (!claimInThisProcess(layout.storePath)) {
    throw new StoreError("STORE_LOCKED", `datastore ${layout.datastorePath} is already open in this process`);
  }
  try {
    const db = openEnvironment(layout.storePath);
    await assertSoleProcess(db, layout.datastorePath);
    logger.debug("store opened", { path: layout.datastorePath, commitDelayMs });
    return new LmdbStore(db, layout.datastorePath, layout.storePath, logger, commitDelayMs);
  } catch (error) {
    releaseInThisProcess(layout.storePath);
    throw error;
  }
}

function openEnvironment(storePath: string): RootDatabase<Uint8Array, Uint8Array> {
  try {
    return open<Uint8Array, Uint8Array>({
      path: storePath,
      keyEncoding: "binary",
      encoding: "binary",
      overlappingSync: OVERLAPPING_SYNC,
      maxDbs: 1,
    });
  } catch (error) {
    throw openFailure(error, storePath);
  }
}

/**
 * Refuses a store another live process has open. LMDB allows that, but this backend holds the
 * write lock for a whole event-loop turn, so two owners would stall each other. A process with
 * the store open holds a slot in LMDB's reader table; lmdb-js cleared the slots of dead
 * processes while opening (`readerCheck`), so a kill -9 leaves nothing behind.
 */
async function assertSoleProcess(
  db: RootDatabase<Uint8Array, Uint8Array>,
  datastorePath: string,
): Promise<void> {
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

/** A pending `flushed()` inside a batch, settled by the commit that follows the batch. */
interface FlushWaiter {
  resolve(): void;
  reject(error: StoreError): void;
}

class LmdbStore implements LmdbBackend {
  readonly datastorePath: string;
  readonly storePath: string;
  readonly #db: RootDatabase<Uint8Array, Uint8Array>;
  readonly #logger: Logger;
  readonly #commitDelayMs: number;
  #closing: Promise<void> | undefined;
  /** Commits the open write transaction; undefined while none is open. */
  #commitTxn: ((result: undefined) => unknown) | undefined;
  /** Aborts the open write transaction (after a failed write). */
  #abortTxn: ((error: unknown) => unknown) | undefined;
  #writesInTxn = 0;
  #batchDepth = 0;
  /** Set when a write failed inside a batch; the outer transaction is abandoned once it unwinds. */
  #brokenTxn: StoreError | undefined;
  /** The pending automatic commit of the open transaction. */
  #commitTimer: CommitTimer | undefined;
  /** How long the last commit took, and when it ended (performance.now()), for the pacing. */
  #lastCommitMs = 0;
  #lastCommitEndMs = 0;
  #flushWaiters: FlushWaiter[] = [];
  /** A lost group of writes that no `flushed()` has reported yet. */
  #unreportedFailure: StoreError | undefined;
  /**
   * What the transaction callback returns to keep the transaction open: lmdb-js commits a
   * `transactionSync` whose callback returned a thenable when that thenable resolves, so keeping
   * its resolve function lets this class commit synchronously whenever it chooses.
   */
  readonly #holdTxnOpen = {
    // biome-ignore lint/suspicious/noThenProperty: lmdb-js keeps the transaction open while this thenable is pending
    then: (commit: (result: undefined) => unknown, abort: (error: unknown) => unknown): void => {
      this.#commitTxn = commit;
      this.#abortTxn = abort;
    },
  };

  constructor(
    db: RootDatabase<Uint8Array, Uint8Array>,
    datastorePath: string,
    storePath: string,
    logger: Logger,
    commitDelayMs: number,
  ) {
    this.#db = db;
    this.datastorePath = datastorePath;
    this.storePath = storePath;
    this.#logger = logger;
    this.#commitDelayMs = commitDelayMs;
    // Ahead of lmdb-js's own exit hook, which closes the environment and would wait forever for
    // the write lock this open transaction holds.
    process.prependListener("exit", this.#commitAtExit);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    if (this.#closing !== undefined) throw storeClosedError();
    return isStorableKey(key) ? this.#db.getBinary(key) : undefined;
  }

  getView(key: Uint8Array): Uint8Array | undefined {
    if (this.#closing !== undefined) throw storeClosedError();
    if (!isStorableKey(key)) return undefined;
    const value = this.#db.getBinaryFast(key);
    // lmdb-js reuses one Buffer for every read and patches its `length` to the value's size; a
    // plain Uint8Array view keeps Buffer's non-copying `slice` away from callers.
    return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.length);
  }

  has(key: Uint8Array): boolean {
    if (this.#closing !== undefined) throw storeClosedError();
    return isStorableKey(key) && this.#db.getBinaryFast(key) !== undefined;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    if (this.#closing !== undefined) throw storeClosedError();
    assertStorableKey(key);
    if (this.#commitTxn === undefined) this.#beginTxn();
    // lmdb-js caches a buffer's native address on its ArrayBuffer; a resizable one can move.
    const stable = isResizable(value.buffer) ? value.slice() : value;
    try {
      this.#db.putSync(key, stable);
    } catch (error) {
      throw this.#writeFailed(error);
    }
    this.#countWrite();
  }

  delete(key: Uint8Array): void {
    if (this.#closing !== undefined) throw storeClosedError();
    if (!isStorableKey(key)) return;
    if (this.#commitTxn === undefined) this.#beginTxn();
    try {
      this.#db.removeSync(key);
    } catch (error) {
      throw this.#writeFailed(error);
    }
    this.#countWrite();
  }

  batch(writes: () => void): void {
    if (this.#closing !== undefined) throw storeClosedError();
    if (this.#commitTxn === undefined) this.#beginTxn();
    this.#batchDepth++;
    try {
      // Nested in the open transaction, lmdb-js runs this as an LMDB child transaction: a throw
      // aborts exactly the batch's writes and leaves the ones before it in place.
      this.#db.transactionSync(() => assertSynchronousBatch(writes()));
    } finally {
      this.#batchDepth--;
      const broken = this.#brokenTxn;
      if (this.#batchDepth === 0 && broken !== undefined) {
        this.#brokenTxn = undefined;
        this.#abandonTxn(broken);
      }
    }
    if (this.#batchDepth === 0 && this.#writesInTxn >= WRITES_PER_COMMIT_MAX) this.#commit();
  }

  range(query: KvSpanQuery): Iterable<KvEntry> {
    if (this.#closing !== undefined) throw storeClosedError();
    const span = keySpanOf(query);
    const offset = query.offset ?? 0;
    if (span === undefined || offset > RANGE_OFFSET_MAX) return [];
    return this.#rows(span, offset, query.limit ?? Number.POSITIVE_INFINITY, query.keysOnly === true);
  }

  async flushed(): Promise<void> {
    if (this.#closing !== undefined) throw storeClosedError();
    return this.#flush();
  }

  sizeBytes(): number {
    if (this.#closing !== undefined) throw storeClosedError();
    const stats = this.#db.getStats() as { lastPageNumber: number; pageSize: number };
    return (stats.lastPageNumber + 1) * stats.pageSize;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    let failure: unknown;
    try {
      if (this.#batchDepth === 0) this.#commit();
      await this.#flush();
    } catch (error) {
      failure = error;
    }
    process.removeListener("exit", this.#commitAtExit);
    releaseInThisProcess(this.storePath);
    await this.#db.close();
    this.#logger.debug("store closed", { path: this.datastorePath });
    if (failure !== undefined) throw failure;
  }

  /** Waits for the group commit of the open transaction, if any: a flush joins the group. */
  async #flush(): Promise<void> {
    if (this.#commitTxn !== undefined) {
      const settled = new Promise<void>((resolve, reject) => this.#flushWaiters.push({ resolve, reject }));
      // Someone now waits for this commit: the process must not exit before it runs.
      this.#commitTimer?.ref();
      await settled;
      return;
    }
    const failure = this.#unreportedFailure;
    if (failure !== undefined) {
      this.#unreportedFailure = undefined;
      throw failure;
    }
  }

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

  #beginTxn(): void {
    try {
      this.#db.transactionSync(() => this.#holdTxnOpen, WRITE_TXN_FLAGS);
    } catch (error) {
      throw writeFailure(error, this.datastorePath);
    }
    this.#writesInTxn = 0;
    this.#commitTimer = scheduleCommit(this.#autoCommit, this.#commitDelayMs);
  }

  /** `process.exit()` with writes pending: they are committed, as the next group commit would have. */
  readonly #commitAtExit = (): void => {
    if (this.#batchDepth === 0) {
      this.#commit();
      return;
    }
    // process.exit() inside a batch: half a batch must not be committed, and lmdb-js cannot unwind
    // its nested transactions from here, so each level is aborted natively. The group since the
    // last commit is lost, as in a crash.
    const env = (this.#db as unknown as { env: { abortTxn(): void } }).env;
    for (let level = 0; level <= this.#batchDepth; level++) env.abortTxn();
    this.#endTxn();
  };

  readonly #autoCommit = (): void => {
    this.#commitTimer = undefined;
    const pauseMs = commitPauseMs({
      lastCommitMs: this.#lastCommitMs,
      lastCommitEndMs: this.#lastCommitEndMs,
      nowMs: performance.now(),
    });
    if (pauseMs > 0) {
      this.#commitTimer = scheduleCommit(this.#pacedCommit, pauseMs);
      if (this.#flushWaiters.length > 0) this.#commitTimer.ref();
      return;
    }
    this.#commit();
  };

  readonly #pacedCommit = (): void => {
    this.#commitTimer = undefined;
    this.#commit();
  };

  #countWrite(): void {
    if (++this.#writesInTxn >= WRITES_PER_COMMIT_MAX && this.#batchDepth === 0) this.#commit();
  }

  #commit(): void {
    const commitTxn = this.#commitTxn;
    if (commitTxn === undefined) return;
    this.#endTxn();
    const startMs = performance.now();
    try {
      commitTxn(undefined);
    } catch (error) {
      this.#groupLost(writeFailure(error, this.datastorePath));
      return;
    } finally {
      this.#lastCommitEndMs = performance.now();
      this.#lastCommitMs = this.#lastCommitEndMs - startMs;
    }
    this.#settleFlushWaiters();
  }

  /**
   * A write failed inside LMDB: its transaction is unusable, so the whole group is lost. Inside a
   * batch the batch unwinds first (lmdb-js aborts its child transaction), then `batch` abandons
   * the outer one.
   */
  #writeFailed(error: unknown): StoreError {
    const failure = writeFailure(error, this.datastorePath);
    if (this.#batchDepth > 0) this.#brokenTxn ??= failure;
    else this.#abandonTxn(failure);
    return failure;
  }

  #abandonTxn(failure: StoreError): void {
    const abortTxn = this.#abortTxn;
    this.#endTxn();
    try {
      abortTxn?.(failure);
    } catch {
      // lmdb-js rethrows the reason it was handed once it has aborted: nothing further to do.
    }
    this.#groupLost(failure);
  }

  #endTxn(): void {
    this.#commitTxn = undefined;
    this.#abortTxn = undefined;
    this.#commitTimer?.cancel();
    this.#commitTimer = undefined;
  }

  #groupLost(failure: StoreError): void {
    this.#logger.error("a group of writes was lost", { path: this.datastorePath, error: failure.message });
    this.#unreportedFailure = failure;
    this.#settleFlushWaiters();
  }

  #settleFlushWaiters(): void {
    if (this.#flushWaiters.length === 0) return;
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    const failure = this.#unreportedFailure;
    this.#unreportedFailure = undefined;
    for (const waiter of waiters) {
      if (failure === undefined) waiter.resolve();
      else waiter.reject(failure);
    }
  }
}

/** A scheduled automatic commit: unreferenced until a `flushed()` waits for it. */
interface CommitTimer {
  ref(): void;
  cancel(): void;
}

/**
 * Runs `commit` after `delayMs`, or at the end of the current turn when 0. Unreferenced: a process
 * with nothing else to do may exit at once, the exit hook commits.
 */
function scheduleCommit(commit: () => void, delayMs: number): CommitTimer {
  const handle = delayMs > 0 ? setTimeout(commit, delayMs).unref() : setImmediate(commit).unref();
  return {
    ref: () => handle.ref(),
    cancel: () =>
      delayMs > 0 ? clearTimeout(handle as NodeJS.Timeout) : clearImmediate(handle as NodeJS.Immediate),
  };
}

function isResizable(buffer: ArrayBufferLike): boolean {
  return (buffer as ArrayBuffer).resizable === true || (buffer as SharedArrayBuffer).growable === true;
}

/** lmdb-js errors carry the errno (positive) or LMDB's own code (-30799..-30780) as `code`. */
function lmdbCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
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
  const code = lmdbCode(error);
  const reason = (error as Error).message;
  if (code === ENOTDIR) {
    return new StoreError("STORE_PATH_NOT_DIRECTORY", `cannot open datastore ${storePath}: not a directory`, {
      cause: error,
    });
  }
  if (code === EACCES || code === EROFS) {
    return new StoreError("STORE_PERMISSION_DENIED", `cannot open datastore ${storePath}: ${reason}`, {
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
  const code = lmdbCode(error);
  if (code === ENOSPC || code === EFBIG || code === EDQUOT) {
    return new StoreError(
      "STORE_DISK_FULL",
      `datastore ${datastorePath} is full (${(error as Error).message}): the writes since the last commit were not saved; free space and retry`,
      { cause: error },
    );
  }
  const hint = code === EIO ? " (a full disk shows up this way: check free space)" : "";
  return new StoreError(
    "STORE_WRITE_FAILED",
    `writing datastore ${datastorePath} failed (${(error as Error).message}${hint}): the writes since the last commit were not saved`,
    { cause: error },
  );
}
