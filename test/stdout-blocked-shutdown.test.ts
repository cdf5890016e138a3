/**
 * A node writes its guests' output (and its logs) with write(2), which waits while a pipe's reader
 * lags (src/fs/stdio-writer.ts): a node whose stdout reader stops reading stalls in that write,
 * and its SIGTERM handler, which needs the node's thread, waits with it. What the docs say it does
 * (docs/observability.md, docs/install.md): it does not stop within --shutdown-timeout while the
 * reader reads nothing; once the reader reads again or goes away, it stops within
 * --shutdown-timeout. A real `nx` child whose stdout (Node's `pipe` stdio: a socket pair) the test
 * stops reading.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeFixture } from "./fixtures/wasm/wat-fixtures.ts";
import { type NxProcess, startNx, tempDir } from "./helpers/nx-process.ts";

const SHUTDOWN_TIMEOUT_MS = 1_000;

/**
 * Where a write waits for room: a pipe (`nx run ... | reader`), or a socket pair (Node's `pipe`
 * stdio, as here).
 */
const WRITE_WAITS = /^(pipe_write|sock_alloc_send_pskb)$/;

/** The process's main thread waits in a write (its wait channel, from /proc). */
function blockedWriting(pid: number): boolean {
  return WRITE_WAITS.test(readFileSync(`/proc/${pid}/wchan`, "utf8"));
}

/**
 * Resolves once `nx`'s main thread waits in a write to its stdout for good: this side's stream
 * has stopped reading (its buffer is full) and the node waits for room.
 */
async function stuckWriting(nx: NxProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const stdout = nx.child.stdout!;
  while (stdout.readableLength < stdout.readableHighWaterMark || !blockedWriting(nx.child.pid!)) {
    assert.ok(performance.now() < deadline, `not blocked in a write within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Whether `nx` exits within `ms`. */
async function exitsWithin(nx: NxProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const exited = await Promise.race([nx.exited.then(() => true), late]);
  clearTimeout(timer);
  return exited;
}

test("a node whose stdout reader stops reading handles SIGTERM once the reader reads again or leaves, then stops within --shutdown-timeout", {
  timeout: 60_000,
}, async () => {
  const dir = tempDir("nx-stdout-blocked-");
  const guest = await writeFixture(dir.path, "print-forever");
  const nx = startNx([
    "run",
    guest,
    "--datastore-path",
    join(dir.path, "data"),
    "--shutdown-timeout",
    `${SHUTDOWN_TIMEOUT_MS}ms`,
  ]);
  try {
    await nx.waitFor(/^started$/m);
    // The reader stops: the guest's lines fill the socket and the stream's buffer, and the node
    // waits in write(2).
    nx.child.stdout!.pause();
    const pid = nx.child.pid!;
    await stuckWriting(nx, 20_000);
    nx.child.kill("SIGTERM");
    assert.equal(
      await exitsWithin(nx, SHUTDOWN_TIMEOUT_MS + 1_000),
      false,
      `the node stopped although it was blocked writing to its stdout: ${JSON.stringify(nx.child.exitCode ?? nx.child.signalCode)} ${nx.stderr()}`,
    );
    assert.ok(blockedWriting(pid), "still waiting in its write");
    // The reader leaves: the write fails (ECONNRESET on this socket, with bytes unread; EPIPE on a
    // pipe), output is dropped, and the node sees the signal.
    const left = performance.now();
    nx.child.stdout!.destroy();
    assert.equal(await exitsWithin(nx, SHUTDOWN_TIMEOUT_MS + 1_000), true, nx.stderr());
    const { code } = await nx.exited;
    assert.equal(code, 1, "a guest interrupted by a signal");
    assert.ok(performance.now() - left < SHUTDOWN_TIMEOUT_MS + 1_000);
    assert.match(
      nx.stderr(),
      /nx: stdout was closed by its reader \(ECONNRESET\): further output is dropped/,
    );
    assert.doesNotMatch(nx.stderr(), /Unhandled 'error' event/);
    assert.match(nx.stderr(), /interrupted by SIGTERM/);
  } finally {
    if (nx.child.exitCode === null && nx.child.signalCode === null) nx.child.kill("SIGKILL");
    await nx.exited;
    dir.remove();
  }
});
