import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const FIXTURE = join(import.meta.dirname, "fixtures", "stdout-mode.ts");

test("a store's commit thread leaves a piped stdout blocking: the node's own writes wait for a reader that lags rather than queue without bound", async () => {
  const path = await mkdtemp(join(tmpdir(), "nx-stdout-mode-"));
  try {
    // execFile gives the child a pipe for its stdout.
    const { stdout } = await run(process.execPath, [FIXTURE, path], { timeout: 60_000 });
    assert.equal(
      stdout,
      "blocking\n",
      "Node's default worker stdio creates process.stdout, which makes the pipe non-blocking",
    );
  } finally {
    await rm(path, { recursive: true, force: true });
  }
});
