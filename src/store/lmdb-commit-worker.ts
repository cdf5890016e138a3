/**
 * The commit thread of an LMDB store (see `lmdb-commit-thread.ts`): it receives groups of writes
 * from the node's thread, writes each in one LMDB transaction and returns once that transaction
 * is fsynced, so page writes and fdatasync never block guests. It shares the LMDB environment
 * that the node's thread reads from (lmdb-js keeps one per path and process).
 */
import { workerData } from "node:worker_threads";
import {
  type CommitRequest,
  type CommitResult,
  type CommitWorkerData,
  SIGNAL_FENCE,
  SIGNAL_LOADED,
  SIGNAL_RESULTS,
} from "./commit-protocol.ts";
import { commitWrites, lmdbErrorCode, openLmdbEnvironment } from "./lmdb-environment.ts";
import { unpackWrites } from "./packed-writes.ts";

const { storePath, port, signal } = workerData as CommitWorkerData;
const db = openLmdbEnvironment(storePath);
const FENCED = "not committed: the process is exiting and its writes were committed at exit";

port.on("message", ({ id, packed }: CommitRequest) => {
  const started = performance.now();
  let result: CommitResult;
  try {
    commitWrites(db, (visit) => {
      // Checked inside the transaction, so under LMDB's write lock: the node's thread committing
      // at exit (after setting the fence) holds the newer values; a group that begins after it
      // would write older ones over them.
      if (Atomics.load(signal, SIGNAL_FENCE) !== 0) throw new Error(FENCED);
      unpackWrites(packed, visit);
    });
    result = { id, ok: true, ms: performance.now() - started };
  } catch (error) {
    result = {
      id,
      ok: false,
      ms: performance.now() - started,
      code: lmdbErrorCode(error),
      message: error instanceof Error ? error.message : String(error),
    };
  }
  port.postMessage(result);
  Atomics.add(signal, SIGNAL_RESULTS, 1);
  Atomics.notify(signal, SIGNAL_RESULTS);
});
Atomics.store(signal, SIGNAL_LOADED, 1);
Atomics.notify(signal, SIGNAL_LOADED);
