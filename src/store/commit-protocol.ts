import type { MessagePort } from "node:worker_threads";

/**
 * What the node's thread and the LMDB commit worker (`lmdb-commit-worker.ts`) exchange: the
 * worker's start data, a request (one packed group of writes, see `packed-writes.ts`) and its
 * result once the group is committed and fsynced, or failed.
 */
/** Slots of `CommitWorkerData.signal`. */
export const SIGNAL_RESULTS = 0;
export const SIGNAL_FENCE = 1;
export const SIGNAL_LOADED = 2;
/** Bytes of `CommitWorkerData.signal`: one Int32 per slot. */
export const SIGNAL_BYTES = 3 * Int32Array.BYTES_PER_ELEMENT;

export interface CommitWorkerData {
  readonly storePath: string;
  /** Requests arrive and results leave on this port. */
  readonly port: MessagePort;
  /**
   * [SIGNAL_RESULTS]: incremented (and notified) after every result is posted, for a node thread
   * that waits for one. [SIGNAL_FENCE]: set by the node's thread at process exit; a group whose
   * transaction begins after it is aborted (see `LmdbCommitThread.fence`). [SIGNAL_LOADED]: set
   * (and notified) by the worker once its code is loaded and the environment open.
   */
  readonly signal: Int32Array;
}

export interface CommitRequest {
  readonly id: number;
  readonly packed: ArrayBuffer;
}

export type CommitResult =
  | { readonly id: number; readonly ok: true; readonly ms: number }
  | {
      readonly id: number;
      readonly ok: false;
      readonly ms: number;
      /** The errno (positive) or LMDB's own code (negative) lmdb-js reported. */
      readonly code: number | undefined;
      readonly message: string;
    };
