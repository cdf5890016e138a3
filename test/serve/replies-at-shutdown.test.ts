/**
 * A reply waits at the output gate until the writes its handler made are on disk (docs/storage.md).
 * Stopping the node must not cut such a reply: the listener waits for it (up to half the shutdown
 * timeout), and answers what is still held then with 503. A real `nx` node on a small tmpfs the
 * test fills (as root; skipped elsewhere), so the commit holding the handler's write fails and is
 * retried while the node receives SIGTERM.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openLmdbBackend } from "../../src/store/lmdb-backend.ts";
import { guestPath, type NxProcess, startNx } from "../helpers/nx-process.ts";
import { smallDiskForFile } from "../helpers/small-disk.ts";

const DISK_BYTES = 16 * 1024 * 1024;
/** More than the disk keeps free: its commit fails until the filler goes. */
const VALUE_BYTES = 768 * 1024;
const FREE_BYTES = 256 * 1024;

const small = smallDiskForFile(DISK_BYTES, "nx-replies-at-shutdown-");

interface Answer {
  readonly status: number | undefined;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

/** PUTs `bytes` to the node's `/put/:key`; resolves with its answer or the error that ended it. */
function put(base: string, key: string, bytes: number): Promise<Answer | Error> {
  return new Promise((resolve) => {
    const req = request(`${base}/put/${key}`, { method: "PUT", agent: false, timeout: 60_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode, retryAfter: res.headers["retry-after"], body }));
      res.on("error", resolve);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 60 s")));
    req.on("error", resolve);
    req.end(new Uint8Array(bytes).fill(7));
  });
}

/** A node on a fresh datastore of the disk, serving, with a PUT whose commit failed on the full disk. */
async function heldReply(
  name: string,
  flags: readonly string[],
): Promise<{ nx: NxProcess; datastore: string; filler: string; answer: Promise<Answer | Error> }> {
  const datastore = join(small.disk!.path, name);
  const nx = startNx([
    "run",
    guestPath("ack_server"),
    "--serve",
    "127.0.0.1:0",
    "--datastore-path",
    datastore,
    ...flags,
  ]);
  small.running.add(nx);
  const base = (await nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/, 30_000))[1]!;
  const filler = small.disk!.leaveFree(FREE_BYTES);
  const answer = put(base, "big", VALUE_BYTES);
  // ENOSPC, or an I/O error as LMDB may report a write cut short by a full disk.
  await nx.waitFor(/writes wait in memory and are retried until the disk takes them/, 30_000);
  return { nx, datastore, filler, answer };
}

describe("a reply waiting for its commit when the node stops", { timeout: 120_000 }, () => {
  it("is sent once the commit succeeds, before the node exits", async (t) => {
    if (small.skipReason !== undefined) return t.skip(small.skipReason);
    const { nx, datastore, filler, answer } = await heldReply("sent", []);
    try {
      nx.child.kill("SIGTERM");
      await nx.waitFor(/waiting for replies until their writes are on disk replies=1/, 30_000);
      // Space returns while the node stops: the store's retry commits the write, the reply leaves.
      rmSync(filler);
      assert.deepEqual(await answer, { status: 204, retryAfter: undefined, body: "" });
      const { code } = await nx.exited;
      small.running.delete(nx);
      assert.equal(code, 0, nx.stderr());
    } finally {
      rmSync(filler, { force: true });
    }
    const store = await openLmdbBackend({ path: datastore });
    try {
      assert.equal(store.get(new TextEncoder().encode("put/big"))?.length, VALUE_BYTES);
    } finally {
      await store.close();
    }
  });

  it("is answered 503 when the disk stays full past half the shutdown timeout", async (t) => {
    if (small.skipReason !== undefined) return t.skip(small.skipReason);
    const { nx, filler, answer } = await heldReply("unsaved", ["--shutdown-timeout", "2s"]);
    try {
      const signalled = performance.now();
      nx.child.kill("SIGTERM");
      const got = await answer;
      const waitedMs = performance.now() - signalled;
      assert.deepEqual(got, {
        status: 503,
        retryAfter: "1",
        body: "service unavailable: the node stopped before this request's writes were on disk\n",
      });
      assert.ok(waitedMs >= 1_000, `answered after the 1 s wait, not before (${waitedMs.toFixed(0)} ms)`);
      await nx.waitFor(/replies answered 503: the node stopped before their writes were on disk .*replies=1/);
      await nx.exited;
      small.running.delete(nx);
    } finally {
      rmSync(filler, { force: true });
    }
  });
});
