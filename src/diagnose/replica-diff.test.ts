import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { NodeId } from "../identity/node-id.ts";
import { openLmdbBackend } from "../store/lmdb-backend.ts";
import { openReplicatedState, type ReplicatedState } from "../sync/replica/replicated-state.ts";
import { inspectObject } from "./crdt-inspection.ts";
import { diffReplicas, renderDiff } from "./replica-diff.ts";
import { objectId, readStoredReplica } from "./stored-replica.ts";

const root = mkdtempSync(join(tmpdir(), "nx-diagnose-"));
after(() => rmSync(root, { recursive: true, force: true }));
const bytes = (text: string) => new TextEncoder().encode(text);
const NODE_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" as NodeId;
const NODE_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" as NodeId;

/** A datastore written by a replica of `nodeId` doing `write`. */
async function datastore(
  name: string,
  nodeId: NodeId,
  write: (replica: ReplicatedState) => void,
): Promise<string> {
  const path = join(root, name);
  const backend = await openLmdbBackend({ path });
  const replica = openReplicatedState({ backend, nodeId, nowMs: () => Date.UTC(2026, 11, 6) });
  write(replica);
  await replica.close();
  await backend.close();
  return path;
}

function common(replica: ReplicatedState): void {
  replica.gcounterInc("hits", 3n);
  replica.orsetAdd("tags", bytes("red"));
  replica.orsetAdd("tags", bytes("blue"));
  replica.orsetRemove("tags", bytes("blue"));
  replica.lwwMapSet("user", bytes("name"), bytes("ada"));
  replica.lwwMapSet("user", bytes("city"), bytes("paris"));
  replica.lwwMapRemove("user", bytes("city")); // amends the set of the same field: 6 ops in all
}

test("inspect shows value, last writer, tombstones and cells of each family", async () => {
  const path = await datastore("inspect", NODE_A, (replica) => {
    common(replica);
    const first = replica.rgaInsert("doc", undefined, bytes("a"))!;
    replica.rgaInsert("doc", first, bytes("b"));
    replica.rgaDelete("doc", first);
  });
  const replica = await readStoredReplica(path);
  assert.equal(replica.nodeId, null, "a replica alone records no identity (the node does)");
  assert.equal(replica.vector.get(NODE_A), 9);
  const view = (family: Parameters<typeof objectId>[0], key: string) =>
    inspectObject(replica.objects.get(objectId(family, key))!);
  assert.deepEqual(view("gcounter", "hits"), {
    key: "hits",
    family: "gcounter",
    value: "3",
    lastWriter: null,
    tombstones: 0,
    cells: [{ origin: NODE_A, slot: "3" }],
  });
  const tags = view("orset", "tags");
  assert.deepEqual(tags.value, ["red"]);
  assert.equal(tags.tombstones, 1, "blue's add tag, covered by the remove");
  const user = view("lww_map", "user");
  assert.deepEqual(user.value, { name: "ada" });
  assert.equal(user.tombstones, 1, "the removed field");
  assert.equal(user.lastWriter?.origin, NODE_A);
  assert.equal(user.lastWriter?.at, "2026-12-06T00:00:00.000Z");
  const doc = view("rga", "doc");
  assert.deepEqual(doc.value, ["b"]);
  assert.equal(doc.tombstones, 1);
});

test("diff: the same state is the same, whoever wrote it; each difference says how", async () => {
  const a = await readStoredReplica(await datastore("a", NODE_A, common));
  const same = await readStoredReplica(await datastore("same", NODE_A, common));
  assert.deepEqual(diffReplicas(a, same), { differences: [], vectors: [] });

  const b = await readStoredReplica(
    await datastore("b", NODE_A, (replica) => {
      common(replica);
      replica.gcounterInc("hits", 1n); // value differs
      replica.orsetAdd("tags", bytes("red")); // same value, one more tag
      replica.gcounterInc("only-b", 1n);
    }),
  );
  const diff = diffReplicas(a, b);
  assert.deepEqual(
    diff.differences.map(({ key, family, kind }) => [key, family, kind]),
    [
      ["hits", "gcounter", "value"],
      ["only-b", "gcounter", "only-in-b"],
      ["tags", "orset", "state"],
    ],
  );
  assert.deepEqual(diff.vectors, [{ origin: NODE_A, a: 6, b: 8 }]);
  const other = await readStoredReplica(await datastore("other", NODE_B, common));
  assert.equal(diffReplicas(a, other).differences.length, 3, "another writer is another state");
});

test("diff: values whose bytes differ differ, even where their text shows alike", async () => {
  // Neither value is UTF-8: as JSON both show as U+FFFD, yet users hold different bytes.
  const register = (value: number) => (replica: ReplicatedState) => {
    replica.lwwSet("flag", Uint8Array.of(value));
  };
  const a = await readStoredReplica(await datastore("bytes-a", NODE_A, register(0xfe)));
  const b = await readStoredReplica(await datastore("bytes-b", NODE_A, register(0xff)));
  const diff = diffReplicas(a, b);
  assert.deepEqual(
    diff.differences.map(({ key, kind }) => [key, kind]),
    [["flag", "value"]],
  );
  // The line shows them as the cells do, as hex: not "A has \"\ufffd\", B has \"\ufffd\"".
  assert.match(renderDiff(diff, "a", "b"), /^flag \(lww-register\): A has "0xfe", B has "0xff"$/m);
});
