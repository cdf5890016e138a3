/**
 * The store format marker (`__nx/format`) on real LMDB: a new store is marked, a store of a newer
 * format is refused, an older one is copied then migrated, and a migration cut short by a crash
 * resumes from the last finished step on the next open without touching the first copy.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { silentLogger } from "../observe/logger.ts";
import { openLmdbBackend } from "./lmdb-backend.ts";
import { openDatastore } from "./open-datastore.ts";
import { StoreError } from "./store-error.ts";
import {
  decodeStoreFormat,
  encodeStoreFormat,
  ensureStoreFormat,
  MIGRATION_BACKUPS_DIRECTORY,
  STORE_FORMAT_KEY,
  STORE_FORMAT_VERSION,
  type StoreMigration,
} from "./store-format.ts";

const roots: string[] = [];
after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

async function datastore(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "nx-store-format-"));
  roots.push(root);
  return join(root, "datastore");
}

/** The datastore at `path`, opened as a node opens it, with what opening did to its format. */
async function open({ path }: { path: string }) {
  const { backend, format } = await openDatastore({ path });
  return Object.assign(backend, { format });
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

test("a new store is marked NXST + the current format", async () => {
  const path = await datastore();
  const store = await open({ path });
  try {
    assert.deepEqual(store.format, {
      from: STORE_FORMAT_VERSION,
      to: STORE_FORMAT_VERSION,
      backupPath: undefined,
    });
    assert.deepEqual(
      [...(store.get(STORE_FORMAT_KEY) ?? [])],
      [0x4e, 0x58, 0x53, 0x54, 0, STORE_FORMAT_VERSION],
    );
  } finally {
    await store.close();
  }
});

test("a store of a newer format is refused with STORE_FORMAT_NEWER, and left as it was", async () => {
  const path = await datastore();
  const store = await open({ path });
  store.put(STORE_FORMAT_KEY, encodeStoreFormat(STORE_FORMAT_VERSION + 1));
  await store.close();
  for (const attempt of ["first", "second"]) {
    await assert.rejects(open({ path }), (error: unknown) => {
      assert.ok(error instanceof StoreError, attempt);
      assert.equal(error.code, "STORE_FORMAT_NEWER");
      assert.match(
        error.message,
        new RegExp(
          `written by a newer Numax \\(store format ${STORE_FORMAT_VERSION + 1}; this build reads formats up to ${STORE_FORMAT_VERSION}\\)`,
        ),
      );
      return true;
    });
  }
});

test("a store without a marker (format 0) is copied, then migrated to the current format", async () => {
  const path = await datastore();
  const store = await open({ path });
  store.delete(STORE_FORMAT_KEY);
  store.put(bytes("k"), bytes("v"));
  await store.close();

  const migrated = await open({ path });
  const backupPath = join(
    migrated.datastorePath,
    MIGRATION_BACKUPS_DIRECTORY,
    `before-format-${STORE_FORMAT_VERSION}`,
  );
  try {
    assert.deepEqual(migrated.format, { from: 0, to: STORE_FORMAT_VERSION, backupPath });
    assert.equal(decodeStoreFormat(migrated.get(STORE_FORMAT_KEY)!, path), STORE_FORMAT_VERSION);
    assert.equal(text(migrated.get(bytes("k"))), "v");
  } finally {
    await migrated.close();
  }
  // The copy is a datastore of its own, as the store was: no marker, the same data.
  const copy = await open({ path: backupPath });
  try {
    assert.equal(copy.format.from, 0);
    assert.equal(text(copy.get(bytes("k"))), "v");
  } finally {
    await copy.close();
  }
});

test("a migration cut short resumes from its last finished step, keeping the first copy", async () => {
  const path = await datastore();
  const first = await open({ path });
  first.put(bytes("name"), bytes("ada"));
  await first.close();

  // Two steps from this build's format to a format of this test's own; the second "crashes"
  // after writing half its work, as a kill -9 would leave it.
  const v = STORE_FORMAT_VERSION;
  let crash = true;
  const steps: StoreMigration[] = [
    {
      from: v,
      description: "upper-case names",
      migrate: (b) => b.put(bytes("name"), bytes(text(b.get(bytes("name")))!.toUpperCase())),
    },
    {
      from: v + 1,
      description: "split into first and rest",
      migrate: (b) => {
        b.put(bytes("first"), bytes("A"));
        if (crash) throw new Error("crash");
        b.put(bytes("rest"), bytes("DA"));
      },
    },
  ];
  const store = await open({ path });
  const backupPath = join(store.datastorePath, MIGRATION_BACKUPS_DIRECTORY, `before-format-${v + 2}`);
  try {
    await assert.rejects(ensureStoreFormat(store, silentLogger, steps, v + 2), /crash/);
    assert.equal(
      decodeStoreFormat(store.get(STORE_FORMAT_KEY)!, path),
      v + 1,
      "the first step is recorded as done",
    );
    crash = false;
    const outcome = await ensureStoreFormat(store, silentLogger, steps, v + 2);
    assert.deepEqual(
      outcome,
      { from: v + 1, to: v + 2, backupPath },
      "resumed at the step that did not finish",
    );
    assert.deepEqual(
      ["name", "first", "rest"].map((k) => text(store.get(bytes(k)))),
      ["ADA", "A", "DA"],
      "the finished step did not run again; the one that ran twice is idempotent",
    );
  } finally {
    await store.close();
  }
  // The copy was taken once, before the first attempt: the name is not upper-cased there.
  const copy = await open({ path: backupPath });
  try {
    assert.equal(text(copy.get(bytes("name"))), "ada");
  } finally {
    await copy.close();
  }
});

test("a copy cut short by a crash is taken again on the next open, never kept as the backup", async () => {
  const path = await datastore();
  const first = await open({ path });
  first.delete(STORE_FORMAT_KEY);
  first.put(bytes("k"), bytes("v"));
  await first.close();

  const backend = await openLmdbBackend({ path });
  const copyCompacted = backend.copyCompacted.bind(backend);
  // A kill -9 half-way through the copy: LMDB has written part of data.mdb.
  backend.copyCompacted = async (directory) => {
    await writeFile(join(directory, "data.mdb"), new Uint8Array(100));
    throw new Error("crash");
  };
  const backupPath = join(
    backend.datastorePath,
    MIGRATION_BACKUPS_DIRECTORY,
    `before-format-${STORE_FORMAT_VERSION}`,
  );
  try {
    await assert.rejects(ensureStoreFormat(backend, silentLogger), /crash/);
    assert.equal(backend.get(STORE_FORMAT_KEY), undefined, "nothing migrated before the copy");
    backend.copyCompacted = copyCompacted;
    const outcome = await ensureStoreFormat(backend, silentLogger);
    assert.deepEqual(outcome, { from: 0, to: STORE_FORMAT_VERSION, backupPath });
  } finally {
    await backend.close();
  }
  const copy = await open({ path: backupPath });
  try {
    assert.equal(copy.format.from, 0);
    assert.equal(text(copy.get(bytes("k"))), "v");
  } finally {
    await copy.close();
  }
});
