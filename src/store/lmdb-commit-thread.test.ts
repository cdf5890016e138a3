import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { CommitResult } from "./commit-protocol.ts";
import { LmdbCommitThread } from "./lmdb-commit-thread.ts";
import { openLmdbEnvironment } from "./lmdb-environment.ts";
import { newPack, PACK_HEADER_BYTES, packedWriteBytes, putPackedWrite } from "./packed-writes.ts";

const KEY = new TextEncoder().encode("k");
const VALUE = new TextEncoder().encode("older");

function oneWrite(): ArrayBuffer {
  const packed = newPack(1, packedWriteBytes(KEY.length, VALUE.length));
  putPackedWrite(packed, PACK_HEADER_BYTES, KEY, VALUE);
  return packed.buffer;
}

/** Sends one group on a fresh thread (fenced first or not) and returns its result and the row. */
async function commitOne(fenced: boolean): Promise<{ result: CommitResult; row: Uint8Array | undefined }> {
  const path = await mkdtemp(join(tmpdir(), "nx-commit-thread-"));
  const db = openLmdbEnvironment(path);
  let delivered!: (result: CommitResult) => void;
  const result = new Promise<CommitResult>((resolve) => {
    delivered = resolve;
  });
  const thread = new LmdbCommitThread(path, delivered);
  thread.keepAlive(true);
  try {
    if (fenced) thread.fence();
    thread.send(1, oneWrite());
    const settled = await result;
    return { result: settled, row: db.get(KEY) };
  } finally {
    await thread.stop();
    await db.close();
    await rm(path, { recursive: true, force: true });
  }
}

test("the commit thread commits a group sent to it", async () => {
  const { result, row } = await commitOne(false);
  assert.equal(result.ok, true);
  assert.deepEqual(row && [...row], [...VALUE]);
});

test("once fenced (process exit), the commit thread begins no transaction: a group sent before the exit's own commit cannot write its older values after it", async () => {
  const { result, row } = await commitOne(true);
  assert.equal(result.ok, false);
  assert.match(result.ok ? "" : result.message, /exiting/);
  assert.equal(row, undefined, "nothing written");
});
