import { NumaxError } from "../errors/numax-error.ts";

/** Stable codes of every operating error the store reports. Tests and callers match on these. */
export type StoreErrorCode =
  /** The datastore path (or one of its parents) is a file, not a directory. */
  | "STORE_PATH_NOT_DIRECTORY"
  /** The process may not create or open the datastore's files. */
  | "STORE_PERMISSION_DENIED"
  /** The datastore's files exist but are not an LMDB store (or are damaged beyond opening). */
  | "STORE_CORRUPT"
  /** The store was written by a newer Numax (its `__nx/format` names a later store format). */
  | "STORE_FORMAT_NEWER"
  /** Another process, or another open backend in this process, already has the datastore open. */
  | "STORE_LOCKED"
  /** Opening failed for another reason (see `cause`). */
  | "STORE_OPEN_FAILED"
  /** The backend was closed; nothing may be read or written through it any more. */
  | "STORE_CLOSED"
  /** A key that can never be stored: empty, or longer than `KEY_BYTES_MAX`. */
  | "STORE_KEY_INVALID"
  /** `batch` was handed an async callback; a batch must issue its writes synchronously. */
  | "STORE_BATCH_ASYNC"
  /** The disk (or the file-size limit) is full: commits fail; their writes wait in memory and are retried. */
  | "STORE_DISK_FULL"
  /** A commit failed for another reason (see `cause`); its writes wait in memory and are retried. */
  | "STORE_WRITE_FAILED"
  /** A guest touched a key or listing prefix in the runtime's namespace (`__nx/`). */
  | "STORE_RESERVED_KEY";

/** An operating error of the store: bad path, store in use, full disk, closed backend, bad key. */
export class StoreError extends NumaxError {
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Thrown by the guest's view of the store (`guest-store.ts`) for a key, prefix or `after` key in
 * the runtime's namespace; the ABI answers it with -4 (ERR_RESERVED_KEY).
 */
export class ReservedKeyError extends StoreError {
  constructor(what: "key" | "prefix" | "after key") {
    super("STORE_RESERVED_KEY", `${what} is in the runtime's reserved namespace "__nx/"`);
  }
}

export function storeClosedError(): StoreError {
  return new StoreError("STORE_CLOSED", "the store is closed");
}

/** Throws STORE_BATCH_ASYNC when a batch callback returned a promise (its writes would escape the batch). */
export function assertSynchronousBatch(callbackResult: unknown): void {
  if (typeof (callbackResult as { then?: unknown } | null | undefined)?.then === "function") {
    throw new StoreError(
      "STORE_BATCH_ASYNC",
      "batch() callback returned a promise; issue the batch's writes synchronously",
    );
  }
}

/**
 * A write refused because the store cannot commit: it carries the commit failure's code and
 * message, and says by its class that the store has logged that failure already (rate-limited),
 * so whoever catches it need not log it again.
 */
export class WriteRefusedError extends StoreError {
  constructor(failure: StoreError) {
    super(failure.code, failure.message, { cause: failure });
  }
}

/**
 * While a store cannot commit (a full disk), new writes from guests and peers are refused with
 * the reason (the ABI answers -3) rather than piled up in memory behind those already waiting.
 */
export function refuseWhileCommitsFail(store: { commitFailure(): StoreError | undefined }): void {
  const failure = store.commitFailure();
  if (failure !== undefined) throw new WriteRefusedError(failure);
}
