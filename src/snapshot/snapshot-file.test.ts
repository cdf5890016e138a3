import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import xxhash from "xxhash-wasm";
import {
  writeNewerStoreSnapshot,
  writeResealedSnapshot,
} from "../../test/fixtures/snapshot/newer-store-snapshot.ts";
import {
  GOLDEN_COUNTER,
  GOLDEN_CREATED_MS,
  GOLDEN_NODE_ID,
  GOLDEN_REGISTER,
} from "../../test/fixtures/snapshot/write-golden-snapshot.ts";
import type { NodeId } from "../identity/node-id.ts";
import { openLmdbBackend } from "../store/lmdb-backend.ts";
import { STORE_FORMAT_VERSION } from "../store/store-format.ts";
import { NODE_ID_KEY } from "../sync/replica/replica-layout.ts";
import { openReplicatedState } from "../sync/replica/replicated-state.ts";
import { exportDatastore } from "./export-datastore.ts";
import { restoreSnapshot } from "./restore-snapshot.ts";
import { SnapshotError } from "./snapshot-error.ts";
import {
  encodeSnapshotTail,
  readSnapshotFileInfo,
  SNAPSHOT_CHECKSUM_BYTES,
  SNAPSHOT_FILE_FORMAT_VERSION,
  SNAPSHOT_TRAILER_BYTES,
} from "./snapshot-file.ts";

const GOLDEN_V1 = new URL("../../test/fixtures/snapshot/v1.nxsnap", import.meta.url).pathname;
const GOLDEN = new URL("../../test/fixtures/snapshot/v2.nxsnap", import.meta.url).pathname;
const { create64 } = await xxhash();
const OTHER_NODE = "ffffffffffffffffffffffffffffffff" as NodeId;

const root = mkdtempSync(join(tmpdir(), "nx-snapshot-file-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `d${dirs++}`);

function rejectsWith(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof SnapshotError, String(error));
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes("\n"), "one line");
    return true;
  };
}

/** A copy of a golden file (format 2 by default) with `change` applied to its bytes. */
function variant(change: (bytes: Buffer) => Buffer | undefined, golden = GOLDEN): string {
  const file = join(root, `variant-${dirs++}.nxsnap`);
  const bytes = Buffer.from(readFileSync(golden));
  writeFileSync(file, change(bytes) ?? bytes);
  return file;
}

/** Format 2's checksum field, computed here apart from the code under test: XXH64, then zeros. */
function xxh64Field(bytes: Uint8Array): Buffer {
  const field = Buffer.alloc(SNAPSHOT_CHECKSUM_BYTES);
  field.writeBigUInt64BE(create64().update(bytes).digest());
  return field;
}

/** Format 2 `bytes` after `change`, with the checksum computed again (a file written so, not damaged). */
function resealed(bytes: Buffer, change: () => void): Buffer {
  change();
  const sealedBytes = bytes.length - SNAPSHOT_CHECKSUM_BYTES;
  bytes.set(xxh64Field(bytes.subarray(0, sealedBytes)), sealedBytes);
  return bytes;
}

/** Where the trailer starts in a file of `length` bytes. */
const trailerAt = (length: number) => length - SNAPSHOT_CHECKSUM_BYTES - SNAPSHOT_TRAILER_BYTES;

async function readRestored(datastore: string) {
  const backend = await openLmdbBackend({ path: datastore });
  const replica = openReplicatedState({ backend, nodeId: OTHER_NODE });
  const state = {
    counter: replica.gcounterValue(GOLDEN_COUNTER.key),
    register: new TextDecoder().decode(replica.lwwGet(GOLDEN_REGISTER.key)),
    storedNodeId:
      backend.get(NODE_ID_KEY) === undefined
        ? null
        : Buffer.from(backend.get(NODE_ID_KEY)!).toString("latin1", 1),
  };
  await replica.close();
  await backend.close();
  return state;
}

describe("snapshot file format 1 (golden bytes in test/fixtures/snapshot/v1.nxsnap)", () => {
  test("the committed file decodes, its checksum is the SHA-256 of the rest, and it restores", async () => {
    const info = await readSnapshotFileInfo(GOLDEN_V1);
    assert.equal(info.formatVersion, 1);
    assert.deepEqual(info.header, {
      nodeId: GOLDEN_NODE_ID,
      createdAt: new Date(GOLDEN_CREATED_MS).toISOString(),
      numaxVersion: "0.1.0",
      recordFormatVersion: 1,
    });
    const bytes = readFileSync(GOLDEN_V1);
    const sealed = bytes.length - SNAPSHOT_CHECKSUM_BYTES;
    assert.deepEqual(createHash("sha256").update(bytes.subarray(0, sealed)).digest(), bytes.subarray(sealed));
    const datastore = freshDir();
    await restoreSnapshot(GOLDEN_V1, { datastorePath: datastore, sameIdentity: true });
    assert.deepEqual(await readRestored(datastore), {
      counter: GOLDEN_COUNTER.value,
      register: GOLDEN_REGISTER.value,
      storedNodeId: GOLDEN_NODE_ID,
    });
  });

  test("a damaged byte of its body is caught by its SHA-256 (seeded property)", async () => {
    const { bodyBytes } = await readSnapshotFileInfo(GOLDEN_V1);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bodyBytes - 1 }), async (at) => {
        const file = variant((b) => {
          b[at]! ^= 0x01;
          return b;
        }, GOLDEN_V1);
        await assert.rejects(
          restoreSnapshot(file, { datastorePath: freshDir(), sameIdentity: true }),
          rejectsWith("SNAPSHOT_CHECKSUM_MISMATCH"),
        );
      }),
      { seed: 1, numRuns: 10 },
    );
  });
});

describe("snapshot file format 2 (golden bytes in test/fixtures/snapshot/v2.nxsnap)", () => {
  test("the committed file decodes, and this version still encodes its tail and checksum to the same bytes", async () => {
    const info = await readSnapshotFileInfo(GOLDEN);
    assert.equal(info.formatVersion, 2);
    assert.deepEqual(info.header, {
      nodeId: GOLDEN_NODE_ID,
      createdAt: new Date(GOLDEN_CREATED_MS).toISOString(),
      numaxVersion: "0.1.0",
      recordFormatVersion: 1,
      storeFormatVersion: 1,
    });
    assert.equal(SNAPSHOT_FILE_FORMAT_VERSION, 2);
    const bytes = readFileSync(GOLDEN);
    const sealed = bytes.length - SNAPSHOT_CHECKSUM_BYTES;
    assert.deepEqual(
      Buffer.from(encodeSnapshotTail({ ...info.header, storeFormatVersion: 1 }, info.bodyBytes)),
      bytes.subarray(info.bodyBytes, sealed),
    );
    assert.deepEqual(
      xxh64Field(bytes.subarray(0, sealed)),
      bytes.subarray(sealed),
      "XXH64, then 24 zero bytes",
    );
    // Format 1's frame: the magic and the version where a format-1 reader looks for them, so an
    // older build names this file's version in its refusal instead of calling it no snapshot.
    assert.deepEqual(
      [...bytes.subarray(sealed - 8, sealed)],
      [0x89, 0x4e, 0x58, 0x53, 0x4e, 0x41, 0x50, 0x0a],
    );
    assert.equal(bytes.readUInt16BE(sealed - 10), 2);
    assert.equal(
      bytes.readUInt32LE(24),
      0xbeefc0de,
      "the body is an LMDB data file from byte 0 (lmdb-js meta page)",
    );
  });

  test("restoring it into a new datastore gives the store it was taken from, identity included", async () => {
    const datastore = freshDir();
    const result = await restoreSnapshot(GOLDEN, { datastorePath: datastore, sameIdentity: true });
    assert.equal(result.nodeId, GOLDEN_NODE_ID);
    assert.deepEqual(readdirSync(datastore), ["store"]);
    assert.deepEqual(await readRestored(datastore), {
      counter: GOLDEN_COUNTER.value,
      register: GOLDEN_REGISTER.value,
      storedNodeId: GOLDEN_NODE_ID,
    });
  });

  test("export then import round-trips a store", async () => {
    const source = freshDir();
    await restoreSnapshot(GOLDEN, { datastorePath: source, sameIdentity: true });
    const file = join(root, "round-trip.nxsnap");
    const { nodeId } = await exportDatastore(source, file, { numaxVersion: "9.9.9", nowMs: 0 });
    assert.equal(nodeId, GOLDEN_NODE_ID);
    assert.equal((await readSnapshotFileInfo(file)).formatVersion, SNAPSHOT_FILE_FORMAT_VERSION);
    const target = freshDir();
    await restoreSnapshot(file, { datastorePath: target, sameIdentity: true });
    assert.equal((await readRestored(target)).counter, GOLDEN_COUNTER.value);
    await assert.rejects(
      exportDatastore(source, file, { numaxVersion: "9.9.9", nowMs: 0 }),
      rejectsWith("SNAPSHOT_OUTPUT_EXISTS"),
    );
    await assert.rejects(
      exportDatastore(freshDir(), join(root, "none.nxsnap"), { numaxVersion: "9.9.9", nowMs: 0 }),
      rejectsWith("SNAPSHOT_SOURCE_EMPTY"),
    );
  });
});

describe("restore refuses", () => {
  test("a snapshot of another node than the certificate's, unless told to take a new identity", async () => {
    const datastore = freshDir();
    await assert.rejects(
      restoreSnapshot(GOLDEN, { datastorePath: datastore, nodeId: OTHER_NODE }),
      rejectsWith("SNAPSHOT_IDENTITY_MISMATCH"),
    );
    const result = await restoreSnapshot(GOLDEN, {
      datastorePath: datastore,
      nodeId: OTHER_NODE,
      newIdentity: true,
    });
    assert.equal(result.nodeId, null);
    const state = await readRestored(datastore);
    assert.equal(state.storedNodeId, null, "the other node's identity is not carried over");
    assert.equal(state.counter, GOLDEN_COUNTER.value, "its data is");
  });

  test("without a certificate, a snapshot's identity unless --same-identity or --new-identity", async () => {
    const datastore = freshDir();
    await assert.rejects(
      restoreSnapshot(GOLDEN, { datastorePath: datastore }),
      rejectsWith("SNAPSHOT_IDENTITY_UNCHOSEN"),
    );
    await assert.rejects(
      restoreSnapshot(GOLDEN, { datastorePath: datastore, sameIdentity: true, newIdentity: true }),
      rejectsWith("SNAPSHOT_IDENTITY_UNCHOSEN"),
    );
    let names: string[] = [];
    try {
      names = readdirSync(datastore);
    } catch {}
    assert.deepEqual(names, [], "nothing written");
    const kept = await restoreSnapshot(GOLDEN, { datastorePath: datastore, sameIdentity: true });
    assert.equal(kept.nodeId, GOLDEN_NODE_ID);
    const renewed = await restoreSnapshot(GOLDEN, { datastorePath: freshDir(), newIdentity: true });
    assert.equal(renewed.nodeId, null);
  });

  test("a datastore that holds anything, and leaves it as it was", async () => {
    const datastore = freshDir();
    mkdirSync(datastore);
    writeFileSync(join(datastore, "keep.txt"), "mine");
    await assert.rejects(
      restoreSnapshot(GOLDEN, { datastorePath: datastore, sameIdentity: true }),
      rejectsWith("SNAPSHOT_TARGET_NOT_EMPTY"),
    );
    assert.deepEqual(readdirSync(datastore), ["keep.txt"]);
  });

  test("a snapshot of a newer store format, in one line, before writing anything", async () => {
    const newer = join(root, "newer-store.nxsnap");
    await writeNewerStoreSnapshot(newer);
    const datastore = freshDir();
    await assert.rejects(
      restoreSnapshot(newer, { datastorePath: datastore, sameIdentity: true }),
      (error) => {
        rejectsWith("SNAPSHOT_STORE_FORMAT_NEWER")(error);
        assert.match(
          (error as Error).message,
          new RegExp(
            `holds a store of format ${STORE_FORMAT_VERSION + 1}, written by Numax 0\\.1\\.0; this build reads store formats up to ${STORE_FORMAT_VERSION}: restore it with that version or newer$`,
          ),
        );
        return true;
      },
    );
    assert.ok(!existsSync(datastore), "nothing written");
  });

  test("a header whose version or date is not one printable token, in one line, before writing anything", async () => {
    // Both are printed in lines (the refusal of a newer store, the restored line): a crafted
    // newline or escape in them must not reach a terminal or a log.
    const cases: Record<string, unknown>[] = [
      { numaxVersion: "9.0.0\nrestored fine", storeFormatVersion: STORE_FORMAT_VERSION + 1 },
      { numaxVersion: "9.0.0\u001b[2J" },
      { numaxVersion: "" },
      { createdAt: "2026-12-06T00:00:00.000Z\nsecond line" },
      { createdAt: "yesterday at noon" },
    ];
    for (const changes of cases) {
      const file = join(root, `header-${dirs++}.nxsnap`);
      await writeResealedSnapshot(file, changes);
      const datastore = freshDir();
      await assert.rejects(
        restoreSnapshot(file, { datastorePath: datastore, sameIdentity: true }),
        (error) => {
          rejectsWith("SNAPSHOT_MALFORMED")(error);
          assert.match((error as Error).message, /numaxVersion|createdAt/);
          return true;
        },
        JSON.stringify(changes),
      );
      assert.ok(!existsSync(datastore), "nothing written");
    }
  });

  test("files that are not snapshots, of another version, truncated or missing", async () => {
    const trailer = trailerAt;
    const cases: [string, string][] = [
      [variant((b) => void b.write("PK", trailer(b.length) + 16, "latin1")), "SNAPSHOT_NOT_A_SNAPSHOT"],
      [variant((b) => b.subarray(0, b.length - 1)), "SNAPSHOT_NOT_A_SNAPSHOT"],
      [variant((b) => b.subarray(0, 10)), "SNAPSHOT_NOT_A_SNAPSHOT"],
      [variant((b) => void b.writeUInt16BE(3, trailer(b.length) + 14)), "SNAPSHOT_VERSION_UNSUPPORTED"],
      [variant((b) => void b.writeUInt16BE(0, trailer(b.length) + 14)), "SNAPSHOT_VERSION_UNSUPPORTED"],
      // Flags this build does not know change what the file means: not read as format 1, even
      // with a checksum that matches.
      [
        variant((b) => resealed(b, () => b.writeUInt16BE(1, trailer(b.length) + 12))),
        "SNAPSHOT_VERSION_UNSUPPORTED",
      ],
      [variant((b) => void b.writeUInt32BE(1, trailer(b.length) + 8)), "SNAPSHOT_MALFORMED"],
      [variant((b) => void b.writeUInt32BE(2 ** 20, trailer(b.length))), "SNAPSHOT_MALFORMED"],
      [join(root, "missing.nxsnap"), "SNAPSHOT_FILE_UNREADABLE"],
      [root, "SNAPSHOT_FILE_UNREADABLE"],
    ];
    for (const [file, code] of cases) {
      const datastore = freshDir();
      await assert.rejects(
        restoreSnapshot(file, { datastorePath: datastore, sameIdentity: true }),
        rejectsWith(code),
      );
    }
  });

  test("any damaged byte, and leaves no store behind (seeded property)", async () => {
    const length = readFileSync(GOLDEN).length;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, flip) => {
          const file = variant((b) => {
            b[at]! ^= flip;
            return b;
          });
          const datastore = freshDir();
          await assert.rejects(
            restoreSnapshot(file, { datastorePath: datastore, sameIdentity: true }),
            (error) => error instanceof SnapshotError,
          );
          let names: string[] = [];
          try {
            names = readdirSync(datastore);
          } catch {}
          assert.deepEqual(names, [], `a flip at byte ${at} left ${names.join(", ")}`);
        },
      ),
      { seed: 18, numRuns: 40 },
    );
  });
});
