import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describeKvBackendContract } from "./kv-backend.contract.ts";
import { type LmdbBackend, openLmdbBackend, PENDING_WRITES_MAX } from "./lmdb-backend.ts";
import { StoreError, type StoreErrorCode } from "./store-error.ts";

const WRITER = new URL("../../test/fixtures/store-writer.ts", import.meta.url).pathname;
const CHILD_TIMEOUT_MS = 30_000;

const temporaryRoots: string[] = [];
after(async () => {
  await Promise.all(temporaryRoots.map((root) => rm(root, { recursive: true, force: true })));
});

async function temporaryDirectory(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "nx-lmdb-test-"));
  temporaryRoots.push(root);
  return root;
}

describeKvBackendContract(
  "lmdb",
  async () => {
    const path = join(await temporaryDirectory(), "datastore");
    const backend = await openLmdbBackend({ path });
    let current: LmdbBackend = backend;
    return {
      backend,
      reopen: async () => {
        current = await openLmdbBackend({ path });
        return current;
      },
      cleanup: async () => {
        await current.close().catch(() => {});
        await rm(path, { recursive: true, force: true });
      },
    };
  },
  { persistent: true },
);

function bytes(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

async function assertOpenFails(path: string, code: StoreErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(openLmdbBackend({ path }), (error) => {
    assert.ok(error instanceof StoreError, `a StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes("\n"), "one line");
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

/** Runs the fixture writer in `mode` and returns its process plus a line reader. */
function startWriter(mode: string, path: string, options: { uid?: number; gid?: number } = {}) {
  const child = spawn(process.execPath, [WRITER, mode, path], {
    stdio: ["ignore", "pipe", "inherit"],
    ...options,
  });
  const killTimer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
  child.on("exit", () => clearTimeout(killTimer));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, nextLine: async () => (await lines.next()).value as string | undefined };
}

describe("LMDB backend", () => {
  it("keeps LMDB's files in the datastore's store/ directory, creating both", async () => {
    const path = join(await temporaryDirectory(), "a", "b", "datastore");
    const store = await openLmdbBackend({ path });
    try {
      assert.equal(store.datastorePath, path);
      assert.equal(store.storePath, join(path, "store"));
      assert.ok(existsSync(join(path, "store", "data.mdb")));
      assert.ok(existsSync(join(path, "store", "lock.mdb")));
    } finally {
      await store.close();
    }
  });

  it("refuses a datastore path that is a file, or lies under one", async () => {
    const root = await temporaryDirectory();
    await writeFile(join(root, "file"), "not a directory");
    await assertOpenFails(join(root, "file"), "STORE_PATH_NOT_DIRECTORY", /is a file, not a directory/);
    await assertOpenFails(join(root, "file", "below"), "STORE_PATH_NOT_DIRECTORY");
    await mkdir(join(root, "ds"));
    await writeFile(join(root, "ds", "store"), "a file where the LMDB directory goes");
    await assertOpenFails(join(root, "ds"), "STORE_PATH_NOT_DIRECTORY");
  });

  it("refuses a directory it may not write, with one clear line", async () => {
    const root = await temporaryDirectory();
    const locked = join(root, "locked");
    await mkdir(locked, { mode: 0o755 });
    if (process.getuid?.() === 0) {
      // root ignores file modes: try as the unprivileged user "nobody" instead.
      await chmod(root, 0o755);
      const { child, nextLine } = startWriter("open", join(locked, "datastore"), { uid: 65534, gid: 65534 });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const report = JSON.parse((await nextLine()) ?? "{}") as { code?: string; message?: string };
      await exited;
      assert.equal(report.code, "STORE_PERMISSION_DENIED", report.message ?? "no message");
      assert.match(report.message ?? "", /permission denied/);
    } else {
      await chmod(locked, 0o555);
      await assertOpenFails(join(locked, "datastore"), "STORE_PERMISSION_DENIED", /permission denied/);
    }
  });

  it("refuses a data file that is not LMDB instead of crashing on it", async () => {
    const path = join(await temporaryDirectory(), "garbage");
    await mkdir(join(path, "store"), { recursive: true });
    await writeFile(join(path, "store", "data.mdb"), Buffer.alloc(20_000, 7));
    await assertOpenFails(path, "STORE_CORRUPT", /not an LMDB data file/);
  });

  it("refuses a second open of the same datastore in this process, and reopens after close", async () => {
    const path = join(await temporaryDirectory(), "twice");
    const first = await openLmdbBackend({ path });
    await assertOpenFails(path, "STORE_LOCKED", /already open in this process/);
    await assertOpenFails(join(path, ".", "..", "twice"), "STORE_LOCKED");
    await first.close();
    const second = await openLmdbBackend({ path });
    await second.close();
  });

  it("refuses a datastore another live process holds, and opens it once that process is killed", async () => {
    const path = join(await temporaryDirectory(), "held");
    const { child, nextLine } = startWriter("hold", path);
    after(() => child.kill("SIGKILL"));
    assert.equal(await nextLine(), "open");
    await assertOpenFails(path, "STORE_LOCKED", new RegExp(`in use by process ${child.pid ?? "unknown"}`));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    const store = await openLmdbBackend({ path });
    await store.close();
  });

  it("grows the memory map from its small initial size as data arrives", async () => {
    const path = join(await temporaryDirectory(), "grow");
    const store = await openLmdbBackend({ path });
    const value = new Uint8Array(64 * 1024);
    for (let i = 0; i < 320; i++) {
      value.fill(i & 0xff);
      store.put(bytes(`big/${i}`), value);
      if (i % 40 === 39) await store.flushed();
    }
    await store.close();
    const again = await openLmdbBackend({ path });
    try {
      assert.ok(again.sizeBytes() > 20 * 1024 * 1024, `${again.sizeBytes()} bytes`);
      for (const i of [0, 1, 159, 319]) {
        const read = again.get(bytes(`big/${i}`))!;
        assert.equal(read.length, 64 * 1024);
        assert.ok(read.every((byte) => byte === (i & 0xff)));
      }
    } finally {
      await again.close();
    }
  });

  it("resolves each flushed() once its group is on disk, group after group", async () => {
    const path = join(await temporaryDirectory(), "groups");
    const store = await openLmdbBackend({ path });
    const value = new Uint8Array(4096).fill(0x33);
    const groups = 5;
    const rowsPerGroup = 1000;
    for (let group = 0; group < groups; group++) {
      for (let i = 0; i < rowsPerGroup; i++) store.put(bytes(`group/${group}/${i}`), value);
      await store.flushed();
      assert.ok(store.isDurable(store.lastWriteSeq()), `group ${group} durable once flushed() resolved`);
    }
    await store.close();
    const again = await openLmdbBackend({ path });
    try {
      for (let group = 0; group < groups; group++) {
        assert.equal(again.get(bytes(`group/${group}/${rowsPerGroup - 1}`))?.length, value.length);
      }
    } finally {
      await again.close();
    }
  });

  it("commits by itself, on its commit thread, without anyone asking", async () => {
    const path = join(await temporaryDirectory(), "autocommit");
    const store = await openLmdbBackend({ path });
    try {
      const value = new Uint8Array(1000);
      // sizeBytes() reads the last committed state: it moves only when a commit has happened.
      const empty = store.sizeBytes();
      for (let i = 0; i < 100; i++) store.put(bytes(`turn/${i}`), value);
      const seq = store.lastWriteSeq();
      assert.equal(seq, 100);
      assert.equal(store.sizeBytes(), empty, "nothing committed within the turn");
      assert.equal(store.isDurable(seq), false);
      await store.durable(seq);
      assert.ok(store.sizeBytes() > empty, "committed");
      assert.equal(store.get(bytes("turn/99"))?.length, 1000, "read from the committed snapshot");
    } finally {
      await store.close();
    }
  });

  it("makes a writer that outruns the disk wait once PENDING_WRITES_MAX writes are pending", async () => {
    const path = join(await temporaryDirectory(), "bound");
    const store = await openLmdbBackend({ path });
    try {
      const value = new Uint8Array(8);
      const writes = PENDING_WRITES_MAX * 2 + 10;
      // One synchronous loop: without the bound, nothing could be committed before it ends.
      for (let i = 0; i < writes; i++) store.put(bytes(`burst/${i}`), value);
      assert.ok(store.isDurable(PENDING_WRITES_MAX), "the first writes were committed inside the loop");
      assert.equal(store.isDurable(writes), false);
      await store.flushed();
      assert.equal(store.get(bytes(`burst/${writes - 1}`))?.length, 8);
    } finally {
      await store.close();
    }
  });

  it("keeps pending writes off the JavaScript heap: no per-write object for the collector to copy", async () => {
    // A pending write used to be an entry object, a key string and two copied arrays, about 900
    // bytes of heap alive until its commit ended: every young-generation collection copied the
    // thousands pending at 20 000 writes/s (p99 15-36 ms). The heap must not grow with them.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const path = join(await temporaryDirectory(), "heap");
    const store = await openLmdbBackend({ path });
    try {
      const value = new Uint8Array(256);
      const key = bytes("gate/k/000000");
      const writes = 20_000;
      const write = (i: number): void => {
        key.set(bytes(String(i).padStart(6, "0")), 7);
        store.put(key, value);
      };
      for (let i = 0; i < 1_000; i++) write(i); // the store's tables reach their working size
      await store.flushed();
      gc();
      const before = getHeapStatistics().used_heap_size;
      // One synchronous loop: every write stays pending (no commit can start before it ends).
      for (let i = 0; i < writes; i++) write(1_000 + i);
      gc();
      const perWrite = (getHeapStatistics().used_heap_size - before) / writes;
      assert.equal(store.pendingWrites(), writes);
      assert.ok(perWrite < 50, `${perWrite.toFixed(0)} bytes of heap per pending write`);
      await store.flushed();
      assert.equal(store.get(bytes("gate/k/020999"))?.length, value.length);
    } finally {
      await store.close();
    }
  });
});
