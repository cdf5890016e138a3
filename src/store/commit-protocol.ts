import type { MessagePort } from "node:worker_threads";

/**
 * What the node's thread and the LMDB commit worker (`lmdb-commit-worker.ts`) exchange: the
 * worker's start data, a request (one packed group of writes, see `packed-writes.ts`) and its
 * result once the group is committed and fsynced, or failed.
 */
export interface CommitWorkerData {
  readonly storePath: string;
  /** Requests arrive and results leave on this port. */
  readonly port: MessagePort;
  /** Incremented (and notified) after every result is posted, for a node thread that waits for one. */
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
