/**
 * A reply waits at the output gate until the writes its handler made are on disk (docs/storage.md).
 * Stopping the node must not cut such a reply: the listener waits for it (up to half the shutdown
 * timeout), and answers what is still held then with 503. So for an event stream whose head is
 * held, and for a WebSocket's frames: they are sent, then the connection closed with 1001, or,
 * still held after the wait, never sent. A real `nx` node on a small tmpfs the test fills (as root;
 * skipped elsewhere), so the commit holding the handler's write fails and is retried while the
 * node receives SIGTERM.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
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

/** PUTs `bytes` to `path` of the node; resolves with its answer (to its end) or the error that ended it. */
function put(base: string, path: string, bytes: number): Promise<Answer | Error> {
  return new Promise((resolve) => {
    const req = request(`${base}${path}`, { method: "PUT", agent: false, timeout: 60_000 }, (res) => {
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

/**
 * A node on a fresh datastore of the disk, serving, to which `write` (given the node's base URL)
 * makes a write whose commit failed on the full disk.
 */
async function onFullDisk<T>(
  name: string,
  flags: readonly string[],
  write: (base: string) => T,
): Promise<{ nx: NxProcess; datastore: string; filler: string; written: T }> {
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
  const written = write(base);
  // ENOSPC, or an I/O error as LMDB may report a write cut short by a full disk.
  await nx.waitFor(/writes wait in memory and are retried until the disk takes them/, 30_000);
  return { nx, datastore, filler, written };
}

/** A node with a PUT whose commit failed on the full disk. */
async function heldReply(name: string, flags: readonly string[]) {
  const { written, ...node } = await onFullDisk(name, flags, (base) => put(base, "/put/big", VALUE_BYTES));
  return { ...node, answer: written };
}

/** A WebSocket to `/ws/big` that sends a frame the handler stores (and answers): what it got and how it closed. */
function heldFrame(base: string): { frames: string[]; closed: Promise<{ code: number; reason: string }> } {
  const ws = new WebSocket(`${base.replace("http:", "ws:")}/ws/big`);
  const frames: string[] = [];
  ws.on("message", (data) => frames.push(String(data)));
  ws.on("open", () => ws.send(new Uint8Array(VALUE_BYTES).fill(7)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: String(reason) })),
  );
  return { frames, closed };
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
    const { nx, datastore, filler, answer } = await heldReply("unsaved", [
      "--shutdown-timeout",
      "2s",
      "--management-listen",
      "127.0.0.1:0",
    ]);
    try {
      const management = (await nx.waitFor(/management: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const token = readFileSync(join(datastore, "management.token"), "utf8").trim();
      const signalled = performance.now();
      nx.child.kill("SIGTERM");
      await nx.waitFor(/waiting for replies until their writes are on disk replies=1/, 30_000);
      // While serving drains, before the modules are interrupted, they cannot change.
      const reload = await fetch(`${management}/api/v1/modules/ack_server/reload`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(reload.status, 503, await reload.text());
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

  it("answers an event stream whose head is still held 503 after the same wait, not cut after 1 s", async (t) => {
    if (small.skipReason !== undefined) return t.skip(small.skipReason);
    const { nx, filler, written } = await onFullDisk("stream", ["--shutdown-timeout", "4s"], (base) =>
      put(base, "/sse/big", VALUE_BYTES),
    );
    try {
      const signalled = performance.now();
      nx.child.kill("SIGTERM");
      const got = await written;
      const waitedMs = performance.now() - signalled;
      assert.deepEqual(got, {
        status: 503,
        retryAfter: "1",
        body: "service unavailable: the node stopped before this stream's writes were on disk\n",
      });
      assert.ok(waitedMs >= 2_000, `answered after the 2 s wait (${waitedMs.toFixed(0)} ms)`);
      await nx.exited;
      small.running.delete(nx);
    } finally {
      rmSync(filler, { force: true });
    }
  });

  it("sends a WebSocket the frames released during the wait, then closes it with 1001", async (t) => {
    if (small.skipReason !== undefined) return t.skip(small.skipReason);
    const { nx, filler, written } = await onFullDisk("frame-sent", [], heldFrame);
    try {
      nx.child.kill("SIGTERM");
      await nx.waitFor(/closing WebSockets with 1001 after the frames sent before webSockets=1/, 30_000);
      // Space returns while the node stops: the write commits, the frame and then the close leave.
      rmSync(filler);
      assert.deepEqual(await written.closed, { code: 1001, reason: "the node is shutting down" });
      assert.deepEqual(written.frames, ["saved"]);
      const { code } = await nx.exited;
      small.running.delete(nx);
      assert.equal(code, 0, nx.stderr());
    } finally {
      rmSync(filler, { force: true });
    }
  });

  it("closes a WebSocket with 1001 without the frames still held after the wait", async (t) => {
    if (small.skipReason !== undefined) return t.skip(small.skipReason);
    const { nx, filler, written } = await onFullDisk("frame-held", ["--shutdown-timeout", "2s"], heldFrame);
    try {
      const signalled = performance.now();
      nx.child.kill("SIGTERM");
      const closed = await written.closed;
      const waitedMs = performance.now() - signalled;
      assert.deepEqual(closed, { code: 1001, reason: "the node is shutting down" });
      assert.ok(waitedMs >= 1_000, `closed after the 1 s wait (${waitedMs.toFixed(0)} ms)`);
      await nx.exited;
      small.running.delete(nx);
      // The frame claimed a write that was never saved: it must not have left, even as the node ended.
      assert.deepEqual(written.frames, []);
    } finally {
      rmSync(filler, { force: true });
    }
  });
});
