/**
 * Key namespaces across nodes (docs/design/policies.md#namespaces), with real `nx` child
 * processes syncing over TCP: a module with a namespaced policy names its CRDT `visits`, every
 * node stores it as `<module id>/visits` (the id, not the node, makes the prefix), so the nodes
 * converge on it; `/v1/crdt/` and `--print-gcounter` take it by that store key, and the root key
 * `visits` of a trusted module is another counter.
 */
import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { examplePath, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { syncNodeTracker } from "./helpers/sync-node.ts";

const nodes = syncNodeTracker();
const root = tempDir("nx-sync-namespaces-");
after(async () => {
  await nodes.stopAll();
  root.remove();
});

test("a namespaced CRDT converges under <module id>/<key> on every node, apart from the root key", async () => {
  // The example with a minimal policy: its counter is in its namespace, not shared.
  const guest = join(root.path, "distributed_counter.wasm");
  copyFileSync(examplePath("distributed_counter"), guest);
  writeFileSync(
    join(root.path, "distributed_counter.policy.toml"),
    '[capabilities]\ncrdt.gcounter = ["*"]\nenv = ["NX_VISITS"]\nnet.peers = true\n',
  );
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
