/**
 * Key namespaces across nodes (docs/design/policies.md#namespaces), with real `nx` child
 * processes syncing over TCP: a module with a namespaced policy names its CRDT `visits`, every
 * node stores it as `<module id>/visits` (the id, not the node, makes the prefix), so the nodes
 * converge on it; `/v1/crdt/`, `--print-gcounter` and the management API's `/keys` take it by
 * that store key, and the root key `visits` (of the example's shipped policy, which shares it) is
 * another counter.
 */
import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { managedNodeTracker } from "./helpers/management-node.ts";
import { examplePath, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { syncNodeTracker } from "./helpers/sync-node.ts";

const nodes = syncNodeTracker();
const managed = managedNodeTracker();
const root = tempDir("nx-sync-namespaces-");
after(async () => {
  await Promise.all([nodes.stopAll(), managed.stopAll()]);
  root.remove();
});

/** The example with a minimal policy beside it: its counter is in its namespace, not shared. */
let guest: string;
before(() => {
  guest = join(root.path, "distributed_counter.wasm");
  copyFileSync(examplePath("distributed_counter"), guest);
  writeFileSync(
    join(root.path, "distributed_counter.policy.toml"),
    '[capabilities]\ncrdt.gcounter = ["*"]\nenv = ["NX_VISITS"]\nnet.peers = true\n',
  );
});

test("a namespaced CRDT converges under <module id>/<key> on every node, apart from the root key", async () => {
  const a = await nodes.node({ datastore: join(root.path, "a"), guest, env: { NX_VISITS: "3" } });
  const b = await nodes.node({
    datastore: join(root.path, "b"),
    guest,
    peers: [a.port],
    env: { NX_VISITS: "4" },
  });
  for (const node of [a, b]) {
    assert.equal(
      await pollUntil(
        () => node.gcounter("distributed_counter/visits"),
        (value) => value === 7n,
        30_000,
      ),
      7n,
    );
    assert.equal(await node.gcounter("visits"), 0n, "the root key is not the module's");
  }
  // --print-gcounter names the store key too. The example's shipped policy shares "/visits":
  // the same code under it counts the root key, apart from the namespaced one.
  const shared = await nodes.node({
    datastore: join(root.path, "c"),
    guest: examplePath("distributed_counter"),
    peers: [a.port],
    env: { NX_VISITS: "5" },
    args: [
      "--settle-for",
      "2s",
      "--print-gcounter",
      "distributed_counter/visits",
      "--print-gcounter",
      "visits",
    ],
  });
  const { code } = await shared.nx.exited;
  nodes.forget(shared);
  assert.equal(code, 0, shared.nx.stderr());
  assert.match(shared.nx.stdout(), /^distributed_counter\/visits = 7\nvisits = 5\n$/m);
  assert.equal(
    await pollUntil(
      () => a.gcounter("visits"),
      (value) => value === 5n,
      30_000,
    ),
    5n,
  );
});

test("the management API lists and reads a namespaced CRDT by its store key", async () => {
  const node = await managed.node({
    datastore: join(root.path, "managed"),
    modules: [guest],
    env: { NX_VISITS: "3" },
  });
  const listed = await pollUntil(
    () => node.api("GET", "/keys?prefix=distributed_counter/"),
    (answer) => (answer.body as { keys: unknown[] }).keys.length > 0,
    30_000,
  );
  assert.deepEqual((listed.body as { keys: unknown[] }).keys, [
    { key: "distributed_counter/visits", family: "gcounter" },
  ]);
  const read = await node.api("GET", `/keys/${encodeURIComponent("distributed_counter/visits")}`);
  assert.equal(read.status, 200, JSON.stringify(read.body));
  assert.equal((read.body as { value: unknown }).value, "3");
  assert.equal((await node.api("GET", "/keys/visits")).status, 404, "no root key was written");
});
