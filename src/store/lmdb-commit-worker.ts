/**
 * The commit thread of an LMDB store (see `lmdb-commit-thread.ts`): it receives groups of writes
 * from the node's thread, writes each in one LMDB transaction and returns once that transaction
 * is fsynced, so page writes and fdatasync never block guests. It shares the LMDB environment
 * that the node's thread reads from (lmdb-js keeps one per path and process).
 */
import { workerData } from "node:worker_threads";
import { open } from "lmdb";
import {
  type CommitRequest,
  type CommitResult,
  type CommitWorkerData,
  durableTxnFlags,
} from "./commit-protocol.ts";
import { unpackWrites } from "./packed-writes.ts";

const { storePath, overlappingSync, port, signal } = workerData as CommitWorkerData;
const db = open<Uint8Array, Uint8Array>({
  path: storePath,
  keyEncoding: "binary",
  encoding: "binary",
  overlappingSync,
  maxDbs: 1,
});
const flags = durableTxnFlags(overlappingSync);

port.on("message", ({ id, packed }: CommitRequest) => {
  const started = performance.now();
  let result: CommitResult;
  try {
    db.transactionSync(() => {
      unpackWrites(packed, (key, value) => {
        if (value === null) db.removeSync(key);
        else db.putSync(key, value);
      });
    }, flags);
    result = { id, ok: true, ms: performance.now() - started };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    result = {
      id,
      ok: false,
      ms: performance.now() - started,
      code: typeof code === "number" ? code : undefined,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  port.postMessage(result);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
