/**
 * The store format marker as a user meets it, with the real `nx`: a store from before the marker
 * (restored from the golden snapshot of format 0) is migrated by `nx migrate` with a copy kept,
 * and a store of a newer format is refused in one line with exit 2 by `nx migrate`, `nx run` and
 * `nx inspect` alike, and left as it was. And the golden datastores: every store format a release
 * wrote (test/fixtures/snapshot/v1.nxsnap is format 0, test/fixtures/golden/store/format-N.nxsnap
 * format N) opens in this build with its data, and the marker's bytes are pinned.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { decodeText } from "../src/crdt/testing/test-ops.ts";
import { inspectObject } from "../src/diagnose/crdt-inspection.ts";
import { readStoredReplica } from "../src/diagnose/stored-replica.ts";
import { restoreSnapshot } from "../src/snapshot/restore-snapshot.ts";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { openDatastore } from "../src/store/open-datastore.ts";
import {
  decodeStoreFormat,
  encodeStoreFormat,
  STORE_FORMAT_KEY,
  STORE_FORMAT_VERSION,
} from "../src/store/store-format.ts";
import { openReplicatedState } from "../src/sync/replica/replicated-state.ts";
import { writeNewerStoreSnapshot } from "./fixtures/snapshot/newer-store-snapshot.ts";
import { GOLDEN_NODE_ID } from "./fixtures/snapshot/write-golden-snapshot.ts";
import { examplePath, NX_BIN, REPO_ROOT, tempDir } from "./helpers/nx-process.ts";

const GOLDEN_SNAPSHOT = join(REPO_ROOT, "test/fixtures/snapshot/v1.nxsnap");
const root = tempDir("nx-store-format-cli-");
after(() => root.remove());

function nx(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [NX_BIN, ...args],
      { cwd: REPO_ROOT, timeout: 30_000, env: { ...process.env, NX_POLICY_DEFAULT: "trusted" } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? -1), stdout, stderr });
      },
    );
  });
}

describe("store format: nx migrate, and a newer store refused", { timeout: 90_000 }, () => {
  test("nx migrate brings a format-0 store to the current format once, keeping a copy", async () => {
    const dir = join(root.path, "older");
    await restoreSnapshot(GOLDEN_SNAPSHOT, { datastorePath: dir, sameIdentity: true });
    const first = await nx(["migrate", "--datastore-path", dir]);
    assert.equal(first.code, 0, first.stderr);
    const backup = join(dir, "migration-backups", `before-format-${STORE_FORMAT_VERSION}`);
    assert.equal(
      first.stdout,
      `datastore ${dir}: migrated from store format 0 to ${STORE_FORMAT_VERSION} (the store as it was: ${backup})\n`,
    );
    assert.ok(existsSync(join(backup, "store", "data.mdb")));
    const again = await nx(["migrate", "--datastore-path", dir]);
    assert.equal(
      again.stdout,
      `datastore ${dir}: store format ${STORE_FORMAT_VERSION}, nothing to migrate\n`,
    );
    const inspect = await nx(["inspect", "hits", "--datastore-path", dir]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /^hits \(gcounter\) = "5"/);
  });

  test("a store of a newer format: one line and exit 2 from migrate, run and inspect", async () => {
    const dir = join(root.path, "newer");
    await restoreSnapshot(GOLDEN_SNAPSHOT, { datastorePath: dir, sameIdentity: true });
    const store = await openLmdbBackend({ path: dir });
    store.put(STORE_FORMAT_KEY, encodeStoreFormat(STORE_FORMAT_VERSION + 1));
    await store.close();
    const refusal = new RegExp(
      `^nx: error: datastore ${dir} was written by a newer Numax \\(store format ${STORE_FORMAT_VERSION + 1}; this build reads formats up to ${STORE_FORMAT_VERSION}\\): run that version or newer\\n$`,
    );
    for (const args of [
      ["migrate", "--datastore-path", dir],
      ["run", examplePath("kv_counter"), "--datastore-path", dir],
      ["inspect", "hits", "--datastore-path", dir],
    ]) {
      const result = await nx(args);
      assert.equal(result.code, 2, `${args[0]}: ${result.stderr}`);
      assert.match(result.stderr, refusal, args[0]);
      assert.equal(result.stdout, "", args[0]);
    }
    assert.ok(!existsSync(join(dir, "migration-backups")), "nothing was copied or changed");
  });

  test("a snapshot of a newer store: nx snapshot import refuses it in one line, exit 2, before writing anything", async () => {
    const file = join(root.path, "newer-store.nxsnap");
    await writeNewerStoreSnapshot(file);
    const dir = join(root.path, "import-newer");
    const result = await nx(["snapshot", "import", file, "--datastore-path", dir, "--same-identity"]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^nx: error: ${file} holds a store of format ${STORE_FORMAT_VERSION + 1}, written by Numax [^;]+; this build reads store formats up to ${STORE_FORMAT_VERSION}: restore it with that version or newer\\n$`,
      ),
    );
    assert.ok(!existsSync(dir), "nothing written");
  });

  test("nx migrate on a directory without a store: one line, exit 2, nothing created", async () => {
    const dir = join(root.path, "nothing-here");
    const result = await nx(["migrate", "--datastore-path", dir]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /^nx: error: .* holds no store \(no store\/data\.mdb\): name the datastore directory of a node\n$/,
    );
    assert.ok(!existsSync(dir));
  });
});

describe("golden datastores of every store format", { timeout: 60_000 }, () => {
  const GOLDEN_STORES = [
    { from: 0, file: GOLDEN_SNAPSHOT, queue: false },
    { from: 1, file: join(REPO_ROOT, "test/fixtures/golden/store/format-1.nxsnap"), queue: false },
    // Format 2 adds the RGA cells tombstone collection leaves: its store holds a collected queue.
    { from: 2, file: join(REPO_ROOT, "test/fixtures/golden/store/format-2.nxsnap"), queue: true },
    // Format 3 adds lww_map_batch ops in op-log pages: its store holds a map written as one.
    { from: 3, file: join(REPO_ROOT, "test/fixtures/golden/store/format-3.nxsnap"), queue: true },
  ];

  test("the store format marker's bytes: NXST + the version, u16 big-endian", () => {
    const onDisk = readFileSync(join(REPO_ROOT, "test/fixtures/golden/store/format-marker-1.bin"));
    assert.deepEqual(encodeStoreFormat(1), new Uint8Array(onDisk));
    assert.equal(decodeStoreFormat(onDisk, "golden"), 1);
  });

  for (const { from, file, queue } of GOLDEN_STORES) {
    test(`a store of format ${from} opens in this build, migrated to ${STORE_FORMAT_VERSION}, with its data`, async () => {
      const dir = join(root.path, `golden-format-${from}`);
      await restoreSnapshot(file, { datastorePath: dir, sameIdentity: true });
      const { backend, format } = await openDatastore({ path: dir });
      await backend.close();
      assert.deepEqual([format.from, format.to], [from, STORE_FORMAT_VERSION]);
      const replica = await readStoredReplica(dir);
      assert.deepEqual(
        [...replica.objects.values()].map((object) => [object.key, inspectObject(object).value]),
        [
          ["hits", "5"],
          ["greeting", "hello"],
          ...(from >= 3 ? [["settings", { shape: "round", size: "large" }]] : []),
          ...(queue ? [["log", ["m8", "m9"]]] : []),
        ],
      );
      if (from >= 3) {
        // The op-log page holding the batch op reads back, and a peer catching up gets it.
        const lmdb = await openLmdbBackend({ path: dir });
        try {
          const state = openReplicatedState({ backend: lmdb, nodeId: GOLDEN_NODE_ID });
          const batch = state.opsSince(new Map(), 100).find((op) => op.kind.type === "lww_map_batch");
          assert.deepEqual(
            batch?.kind.type === "lww_map_batch" &&
              batch.kind.entries.map((entry) => [
                decodeText(entry.field),
                entry.value && decodeText(entry.value),
              ]),
            [
              ["color", undefined],
              ["size", "large"],
              ["shape", "round"],
            ],
          );
          await state.close();
        } finally {
          await lmdb.close();
        }
      }
      if (queue) {
        const log = [...replica.objects.values()].find((object) => object.key === "log")!;
        assert.deepEqual(
          log.crdt.cells().map((cell) => (cell as { type: string }).type),
          ["ghost", "anchored", "element"],
          "the deleted front is one ghost",
        );
      }
    });
  }
});
