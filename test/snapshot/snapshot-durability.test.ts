/**
 * A restore's and an export's rename into place is followed by an fsync of the directory it
 * renamed into: until then a power cut can undo the rename although the file was synced. An
 * export through a running node copies the node's snapshot file, then fsyncs the copy and its
 * directory. The calls are observed on node:fs/promises itself (its ESM bindings follow the
 * patched module object through syncBuiltinESMExports), in the order they complete. A node's
 * first snapshot makes its snapshots/ directory's entry durable too.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import fsPromises from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { exportDatastore } from "../../src/snapshot/export-datastore.ts";
import { nodeSnapshots } from "../../src/snapshot/node-snapshots.ts";
import { restoreSnapshot } from "../../src/snapshot/restore-snapshot.ts";
import { runSnapshotExport } from "../../src/snapshot/snapshot-commands.ts";
import { managedNodeTracker } from "../helpers/management-node.ts";
import { guestPath } from "../helpers/nx-process.ts";

const GOLDEN = new URL("../fixtures/snapshot/v2.nxsnap", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "nx-snapshot-durability-"));
const nodes = managedNodeTracker();
after(async () => {
  await nodes.stopAll();
  rmSync(root, { recursive: true, force: true });
});

/** "rename TO" and "fsync PATH", as they complete. */
let events: string[] = [];
const { open, rename } = fsPromises;
beforeEach(() => {
  events = [];
  const patched = fsPromises as { open: typeof open; rename: typeof rename };
  patched.rename = async (from, to) => {
    await rename(from, to);
    events.push(`rename ${to}`);
  };
  patched.open = async (path, flags, mode) => {
    const handle = await open(path, flags, mode);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      await sync();
      events.push(`fsync ${path}`);
    };
    return handle;
  };
  syncBuiltinESMExports();
});
afterEach(() => {
  Object.assign(fsPromises, { open, rename });
  syncBuiltinESMExports();
});

/** The events from the rename into `target` on. */
function fromRename(target: string): string[] {
  const at = events.indexOf(`rename ${target}`);
  assert.ok(at >= 0, `no rename into ${target} in ${events.join(", ")}`);
  return events.slice(at);
}

describe("renames into place are durable", () => {
  test("a restore fsyncs the datastore directory after renaming store-restoring/ to store/", async () => {
    const datastore = join(root, "restored");
    await restoreSnapshot(GOLDEN, { datastorePath: datastore, sameIdentity: true });
    assert.deepEqual(fromRename(join(datastore, "store")), [
      `rename ${join(datastore, "store")}`,
      `fsync ${datastore}`,
    ]);
  });

  test("a restore makes store-restoring/'s entries and every directory it created durable before the rename", async () => {
    // The body's entry is in store-restoring/, and the directories made for the datastore are
    // entries of their parents: a synced rename of a directory whose own entries may still be
    // undone by a power cut leaves store/ without data.mdb, or no datastore at all.
    const datastore = join(root, "made", "restored");
    const restoring = join(datastore, "store-restoring");
    await restoreSnapshot(GOLDEN, { datastorePath: datastore, sameIdentity: true });
    const renameAt = events.indexOf(`rename ${join(datastore, "store")}`);
    const before = events.slice(0, renameAt);
    for (const directory of [root, join(root, "made"), datastore, restoring])
      assert.ok(
        before.includes(`fsync ${directory}`),
        `fsync ${directory} before the rename in ${events.join(", ")}`,
      );
    assert.ok(
      before.indexOf(`fsync ${restoring}`) > before.findIndex((event) => event.endsWith("data.mdb")),
      "store-restoring/ after the body",
    );
  });

  test("an export fsyncs the file, renames it into place, then fsyncs its directory", async () => {
    const datastore = join(root, "source");
    await restoreSnapshot(GOLDEN, { datastorePath: datastore, sameIdentity: true });
    events = [];
    const file = join(root, "out", "exported.nxsnap");
    await fsPromises.mkdir(dirname(file));
    await exportDatastore(datastore, file, { numaxVersion: "test", nowMs: 0 });
    const renamed = fromRename(file);
    assert.deepEqual(renamed, [`rename ${file}`, `fsync ${dirname(file)}`]);
    const before = events.slice(0, events.length - renamed.length);
    assert.match(before.at(-1) ?? "", /^fsync .*data\.mdb$/, "the file's own bytes first");
  });

  test("a node's first snapshot makes snapshots/ durable in the datastore before its file is renamed in", async () => {
    const datastore = join(root, "first-snapshot");
    await restoreSnapshot(GOLDEN, { datastorePath: datastore, sameIdentity: true });
    events = [];
    const snapshots = nodeSnapshots({
      datastorePath: datastore,
      nodeId: () => null,
      copyStore: (directory) =>
        fsPromises.copyFile(join(datastore, "store", "data.mdb"), join(directory, "data.mdb")),
      nowMs: () => 0,
      numaxVersion: "test",
    });
    const entry = await snapshots.create();
    const renameAt = events.indexOf(`rename ${entry.path}`);
    assert.ok(renameAt >= 0, `no rename into ${entry.path} in ${events.join(", ")}`);
    assert.ok(
      events.slice(0, renameAt).includes(`fsync ${datastore}`),
      `fsync ${datastore} in ${events.join(", ")}`,
    );
    assert.equal(events[renameAt + 1], `fsync ${dirname(entry.path)}`);
  });

  test("an export through a running node fsyncs its copy of the node's snapshot, then the copy's directory", {
    timeout: 60_000,
  }, async () => {
    const node = await nodes.node({
      datastore: join(root, "running"),
      modules: [guestPath("reactive_probe")],
    });
    const file = join(root, "online", "exported.nxsnap");
    await fsPromises.mkdir(dirname(file));
    events = [];
    await runSnapshotExport(
      file,
      { node: node.url, tokenFile: join(node.datastore, "management.token"), numaxVersion: "test" },
      { write: () => {} },
    );
    assert.deepEqual(events.slice(-2), [`fsync ${file}`, `fsync ${dirname(file)}`]);
  });
});
