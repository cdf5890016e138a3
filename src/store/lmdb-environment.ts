import { open, type RootDatabase, type TransactionFlags } from "lmdb";

/**
 * What the node's thread and the commit thread must do alike with one LMDB environment: lmdb-js
 * keeps one environment per path and process, so both open it with the same options, and both
 * commit a group of writes the same way (the commit thread always, the node's thread only at
 * `process.exit()`).
 */
export type LmdbEnvironment = RootDatabase<Uint8Array, Uint8Array>;

/** Overlapping sync (write, release the lock, then fdatasync) is unavailable on Windows. */
export const OVERLAPPING_SYNC = process.platform !== "win32";

export function openLmdbEnvironment(storePath: string): LmdbEnvironment {
  return open<Uint8Array, Uint8Array>({
    path: storePath,
    keyEncoding: "binary",
    encoding: "binary",
    overlappingSync: OVERLAPPING_SYNC,
    maxDbs: 1,
  });
}

/**
 * lmdb-js's own flags for a synchronous write transaction (see its `putSync`): with overlapping
 * sync, the commit writes and releases the write lock, then fdatasyncs before returning
 * (NO_SYNC_FLUSH | SYNCHRONOUS_COMMIT); without it, a classic LMDB commit that syncs under the lock.
 */
const DURABLE_TXN_FLAGS = (OVERLAPPING_SYNC ? 0x10002 : 0x2) as TransactionFlags;

/** A write of a group: `value` null removes the key. */
export type WriteVisitor = (key: Uint8Array, value: Uint8Array | null) => void;

/** Writes one group in one transaction and returns once it is on disk; throws what lmdb-js threw. */
export function commitWrites(db: LmdbEnvironment, eachWrite: (visit: WriteVisitor) => void): void {
  db.transactionSync(() => {
    eachWrite((key, value) => {
      if (value === null) db.removeSync(key);
      else db.putSync(key, value);
    });
  }, DURABLE_TXN_FLAGS);
}

/** lmdb-js errors carry the errno (positive) or LMDB's own code (-30799..-30780) as `code`. */
export function lmdbErrorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}
