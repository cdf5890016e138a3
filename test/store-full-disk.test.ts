/**
 * A full disk, for real: a small tmpfs mounted by the test (as root; skipped with one line
 * elsewhere). The promises of docs/storage.md "When the disk is full":
 * - the node does not crash (50 runs of a store filling the disk, each exiting normally);
 * - a guest's writes answer an error while commits fail, the node logs one line, /ready says
 *   storeWritable false, and nothing acknowledged is lost;
 * - once space returns, the node commits again by itself: the guest's retried write succeeds,
 *   /ready is ready again, and every row is on disk after the run.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { freePort, guestPath, pollUntil, startNx, stopNx } from "./helpers/nx-process.ts";
import { smallDiskForFile } from "./helpers/small-disk.ts";

const FILL_RUNS = 50;
const TMPFS_BYTES = 32 * 1024 * 1024;
const WRITER = new URL("./fixtures/store-writer.ts", import.meta.url).pathname;

const small = smallDiskForFile(TMPFS_BYTES, "nx-full-disk-");

/** Fills the tmpfs with a filler file until `leaveBytes` are free; returns the file to delete. */
function leaveFree(leaveBytes: number): string {
  return small.disk!.leaveFree(leaveBytes);
}

function clean(): void {
  for (const name of ["filler", "datastore"])
    rmSync(join(small.disk!.path, name), { recursive: true, force: true });
}

describe("a full disk", { timeout: 300_000 }, () => {
  it(`never aborts the process: ${FILL_RUNS} runs fill the disk and exit normally`, async (t) => {
    if (small.skipReason !== undefined) return t.skip(small.skipReason);
    for (let run = 0; run < FILL_RUNS; run++) {
      clean();
      leaveFree((1 + (run % 5)) * 1024 * 1024);
      const child = spawn(process.execPath, [WRITER, "fill", join(small.disk!.path, "datastore")], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const lines: string[] = [];
      for await (const line of createInterface({ input: child.stdout })) lines.push(line);
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.exitCode !== null || child.signalCode !== null
          ? resolve([child.exitCode, child.signalCode])
          : child.once("exit", (c, s) => resolve([c, s])),
      );
      assert.deepEqual([code, signal], [0, null], `run ${run}: exited normally\n${stderr}`);
      assert.match(lines.at(-1) ?? "", /^failed STORE_(DISK_FULL|WRITE_FAILED) .*datastore .*/, `run ${run}`);
    }
  });

  it("a process whose writes cannot be committed at exit exits 1 with one line, not 0", async (t) => {
    if (small.skipReason !== undefined) return t.skip(small.skipReason);
    clean();
    leaveFree(1024 * 1024);
    const child = spawn(process.execPath, [WRITER, "exit-full", join(small.disk!.path, "datastore")], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.once("exit", (c, s) => resolve([c, s])),
    );
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /^nx: error: 64 writes could not be saved at exit: .*datastore/);
    assert.deepEqual([code, signal], [1, null], "a run that lost writes at exit says so in its exit code");
  });

  it("refuses guest writes with one log line, reports not ready, and recovers when space returns", async (t) => {
    if (small.skipReason !== undefined) return t.skip(small.skipReason);
    clean();
    const filler = leaveFree(2 * 1024 * 1024);
    const port = await freePort();
    const writes = 1500;
    const nx = startNx(
      [
        "run",
        guestPath("ack_writer"),
        "--datastore-path",
        join(small.disk!.path, "datastore"),
        "--observability-listen",
        `127.0.0.1:${port}`,
        // A serving node (sync on, no peers) stays up after its guest, to be asked if it is ready.
        "--listen",
        "127.0.0.1:0",
        "--tls-insecure",
      ],
      { NX_WRITES: String(writes), NX_VALUE_BYTES: "4096", NX_LOG_ONE_IN: "50", NX_SLEEP_EVERY: "20" },
    );
    small.running.add(nx);
    try {
      // The guest's "refused" line is output made after writes that are not on disk: it is held
      // back too, so the full disk is seen through /ready.
      const readiness = async () => {
        const response = await fetch(`http://127.0.0.1:${port}/ready`, {
          signal: AbortSignal.timeout(5_000),
        });
        return {
          status: response.status,
          body: (await response.json()) as { checks?: Record<string, boolean> },
        };
      };
      await nx.waitFor(/observability: listening/, 30_000);
      const full = await pollUntil(readiness, ({ status }) => status === 503, 60_000);
      assert.equal(full.status, 503);
      assert.equal(full.body.checks?.storeWritable, false);
      assert.doesNotMatch(
        nx.stderr(),
        /refused/,
        "no line leaves while the writes before it are not on disk",
      );
      rmSync(filler);
      const [, refusedAt] = await nx.waitFor(/refused (\d+)/, 60_000);
      const [, resumedAt] = await nx.waitFor(/resumed (\d+)/, 60_000);
      assert.equal(resumedAt, refusedAt, "the refused write succeeds once space returns");
      await nx.waitFor(new RegExp(`done ${writes}`), 60_000);
      assert.equal((await readiness()).status, 200, "ready again");
      const { code } = await stopNx(nx);
      assert.equal(code, 0, nx.stderr());
    } finally {
      small.running.delete(nx);
      nx.child.kill("SIGKILL");
    }
    const fullLines = nx
      .stderr()
      .split("\n")
      .filter((line) => line.includes("is full") || line.includes("failed ("));
    assert.equal(fullLines.length, 1, `one line about the full disk:\n${fullLines.join("\n")}`);
    assert.doesNotMatch(
      nx.stderr(),
      /host function db_set failed/,
      "refused writes are not logged one by one",
    );
    const acked = [...nx.stderr().matchAll(/\back (\d+)/g)].map((match) => Number(match[1]));
    const store = await openLmdbBackend({ path: join(small.disk!.path, "datastore") });
    try {
      assert.equal(
        new TextDecoder().decode(store.get(new TextEncoder().encode("ack/count"))),
        String(writes),
      );
      for (const n of [...acked, 1, writes]) {
        assert.equal(store.get(new TextEncoder().encode(`fill/${n}`))?.length, 4096, `row ${n}`);
      }
    } finally {
      await store.close();
    }
  });
});
