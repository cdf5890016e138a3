/**
 * The commit thread of an LMDB store (see `lmdb-commit-thread.ts`): it receives groups of writes
 * from the node's thread, writes each in one LMDB transaction and returns once that transaction
 * is fsynced, so page writes and fdatasync never block guests. It shares the LMDB environment
 * that the node's thread reads from (lmdb-js keeps one per path and process).
 */
import { workerData } from "node:worker_threads";
import type { CommitRequest, CommitResult, CommitWorkerData } from "./commit-protocol.ts";
import { commitWrites, lmdbErrorCode, openLmdbEnvironment } from "./lmdb-environment.ts";
import { unpackWrites } from "./packed-writes.ts";

const { storePath, port, signal } = workerData as CommitWorkerData;
const db = openLmdbEnvironment(storePath);

port.on("message", ({ id, packed }: CommitRequest) => {
  const started = performance.now();
  let result: CommitResult;
  try {
    commitWrites(db, (visit) => unpackWrites(packed, visit));
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
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
