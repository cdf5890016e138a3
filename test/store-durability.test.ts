/**
 * The store's durability promise, proven against real processes killed with SIGKILL:
 * - a write is durable once a `flushed()` issued after it has resolved;
 * - without any `flushed()`, a write is durable once the store's own group commit holding it has
 *   ended;
 * - a full disk fails the commit with one clear error and loses nothing acknowledged;
 * - process.exit() neither hangs nor half-commits a batch, and keeps the replica's staged one;
 * and after each, the datastore opens cleanly.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { NODE_A } from "../src/crdt/testing/test-ops.ts";
import { type LmdbBackend, openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { openReplicatedState } from "../src/sync/replica/replicated-state.ts";
import { rowKey, rowValue } from "./fixtures/store-writer.ts";

const WRITER = new URL("./fixtures/store-writer.ts", import.meta.url).pathname;
const CHILD_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 90_000;

const temporaryRoots: string[] = [];
const children = new Set<ChildProcess>();
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  await Promise.all(temporaryRoots.map((root) => rm(root, { recursive: true, force: true })));
});

async function temporaryDatastore(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "nx-durability-"));
  temporaryRoots.push(root);
  return join(root, "datastore");
}

interface Writer {
  child: ChildProcess;
  /** The next stdout line, or undefined once the child has closed stdout. */
  nextLine(): Promise<string | undefined>;
  exited: Promise<number | null>;
}

/** Starts the fixture writer; `command` prefixes it (e.g. with `prlimit`). */
function startWriter(args: string[], command: string[] = []): Writer {
  const [file, ...prefixArgs] = [...command, process.execPath];
  const child = spawn(file!, [...prefixArgs, WRITER, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(child);
  const killTimer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(killTimer);
      children.delete(child);
      resolve(code);
    }),
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, exited, nextLine: async () => (await lines.next()).value as string | undefined };
}

/** Reads "<word> <count>" lines until `enough` of them arrived; returns the last count. */
async function readCounts(writer: Writer, word: string, enough: number): Promise<number> {
  let last = 0;
  for (let seen = 0; seen < enough; seen++) {
    const line = await writer.nextLine();
    assert.ok(line !== undefined, `the writer stopped early (after ${seen} "${word}" lines)`);
    const match = new RegExp(`^${word} (\\d+)$`).exec(line);
    assert.ok(match, `unexpected line from the writer: ${line}`);
    last = Number(match[1]);
  }
  return last;
}

async function killHard(writer: Writer): Promise<void> {
  writer.child.kill("SIGKILL");
  assert.equal(await writer.exited, null, "killed by the signal, not exited by itself");
}

/** Every row in [first, first + count) holds its value; rows past it, if any, are whole. */
function assertRows(
  store: LmdbBackend,
  first: number,
  count: number,
  expected: (n: number) => Uint8Array,
): void {
  for (let n = first; n < first + count; n++) {
    const value = store.get(rowKey(n));
    assert.ok(value !== undefined, `acknowledged row ${n} is missing`);
    assert.equal(Buffer.compare(value, expected(n)), 0, `row ${n} holds the wrong bytes`);
  }
  for (let n = first + count; ; n++) {
    const value = store.get(rowKey(n));
    if (value === undefined) break;
    assert.equal(Buffer.compare(value, expected(n)), 0, `unacknowledged row ${n} is torn`);
  }
}

describe("store durability across kill -9", { timeout: TEST_TIMEOUT_MS }, () => {
  it("keeps every row acknowledged by flushed(), over several crashes of the same datastore", async () => {
    const path = await temporaryDatastore();
    const rounds = [
      { firstRow: 0, rowsPerFlush: 1, acks: 40 },
      { firstRow: 1_000_000, rowsPerFlush: 25, acks: 12 },
      { firstRow: 2_000_000, rowsPerFlush: 200, acks: 5 },
    ];
    const acked: number[] = [];
    for (const round of rounds) {
      const writer = startWriter(["ack", path, String(round.rowsPerFlush), String(round.firstRow)]);
      const count = await readCounts(writer, "acked", round.acks);
      await killHard(writer); // mid-stream: the writer is already putting (or committing) the next rows
      acked.push(count);
      assert.equal(count, round.rowsPerFlush * round.acks);

      const store = await openLmdbBackend({ path });
      try {
        rounds.slice(0, acked.length).forEach((previous, i) => {
          assertRows(store, previous.firstRow, acked[i]!, rowValue);
        });
      } finally {
        await store.close();
      }
    }
  });

  it("keeps a write without flushed() once the group commit after it has run", async () => {
    const path = await temporaryDatastore();
    const writer = startWriter(["commit", path]);
    const committed = await readCounts(writer, "committed", 30);
    await killHard(writer);
    const store = await openLmdbBackend({ path });
    try {
      assertRows(store, 0, committed, rowValue);
    } finally {
      await store.close();
    }
  });

  it("reports a full disk as one clear error, keeps the acknowledged rows and reopens", async () => {
    const path = await temporaryDatastore();
    // A 4 MiB file-size limit stands in for a full disk: LMDB's next write past it fails.
    const writer = startWriter(["fill", path], ["prlimit", `--fsize=${4 * 1024 * 1024}`]);
    let acked = 0;
    let failure: string | undefined;
    for (let line = await writer.nextLine(); line !== undefined; line = await writer.nextLine()) {
      const ack = /^acked (\d+)$/.exec(line);
      if (ack !== null) acked = Number(ack[1]);
      else failure = line;
    }
    assert.equal(await writer.exited, 0, "the writer survived the failed commit and exited normally");
    assert.ok(acked > 0, "some rows were acknowledged before the disk filled");
    assert.match(failure ?? "", /^failed STORE_(WRITE_FAILED|DISK_FULL) .*datastore .*(full|failed)/);
    const store = await openLmdbBackend({ path });
    try {
      const value = new Uint8Array(64 * 1024).fill(0x5a);
      assertRows(store, 0, acked, () => value);
    } finally {
      await store.close();
    }
  });

  it("commits pending writes when the process exits, and never half a batch", async () => {
    const plain = await temporaryDatastore();
    const exiting = startWriter(["exit", plain]);
    assert.equal(await exiting.exited, 0, "exited promptly, without hanging on the open transaction");
    const inBatch = await temporaryDatastore();
    const batching = startWriter(["exit-in-batch", inBatch]);
    assert.equal(await batching.exited, 0);

    const store = await openLmdbBackend({ path: plain });
    try {
      assertRows(store, 0, 10, rowValue);
    } finally {
      await store.close();
    }
    const other = await openLmdbBackend({ path: inBatch });
    try {
      assertRows(other, 0, 2, rowValue);
      assert.equal(other.has(rowKey(2)), false, "no part of the interrupted batch is committed");
    } finally {
      await other.close();
    }
  });

  /** Runs store-writer in `mode` on a fresh datastore and returns the GCounter "g" it left. */
  async function counterAfterExit(mode: string): Promise<bigint> {
    return (await countersAfterExit(mode)).g;
  }

  /** Runs store-writer in `mode` on a fresh datastore and returns the counters "g" and "p" it left. */
  async function countersAfterExit(mode: string): Promise<{ g: bigint; p: bigint }> {
    const path = await temporaryDatastore();
    const exiting = startWriter([mode, path]);
    assert.equal(await exiting.exited, 0);
    const store = await openLmdbBackend({ path });
    try {
      const replica = openReplicatedState({ backend: store, nodeId: NODE_A });
      const values = { g: replica.gcounterValue("g"), p: replica.pncounterValue("p") };
      await replica.close();
      return values;
    } finally {
      await store.close();
    }
  }

  it("commits the replica's staged batch when the process exits within its batch interval", async () => {
    assert.deepEqual(
      await countersAfterExit("exit-replica"),
      { g: 3n, p: 27n },
      "the writes staged behind STORE_BATCH_INTERVAL_MS (each amending the open op of the one before) are kept",
    );
  });

  it("commits the replica's staged batch when the process exits before the microtask that writes it runs", async () => {
    // The interval since the replica's last batch (written when it opened) has passed, so the
    // write waits for a microtask, not a timer: it was not held for process.exit(), and an exit
    // in the same synchronous run lost it.
    assert.equal(await counterAfterExit("exit-replica-first"), 1n);
  });
});
