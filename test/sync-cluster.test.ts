import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { examplePath, getJson, guestPath, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "./helpers/sync-node.ts";

const COUNTER = guestPath("counter_loop");
const VISITS = examplePath("distributed_counter");

const root = tempDir("nx-sync-");
const nodes = syncNodeTracker();
const { node, stop } = nodes;
after(async () => {
  await nodes.stopAll();
  root.remove();
});

async function converge(cluster: readonly SyncNode[], key: string, expected: bigint, timeoutMs = 15_000) {
  for (const n of cluster) {
    const value = await pollUntil(
      () => n.gcounter(key),
      (v) => v === expected,
      timeoutMs,
    );
    assert.equal(value, expected, `node ${n.nodeId} sees ${key} = ${value}, expected ${expected}`);
  }
}

describe("sync between real nx processes on loopback", { timeout: 120_000 }, () => {
  test("star topology: leaves that only know the hub converge through relay", async () => {
    const hub = await node({
      datastore: datastoreOf(root.path, "star-hub"),
      guest: VISITS,
      env: { NX_VISITS: "1" },
    });
    const leaves = await Promise.all(
      [2, 3, 4].map((visits) =>
        node({
          datastore: datastoreOf(root.path, `star-leaf-${visits}`),
          guest: VISITS,
          peers: [hub.port],
          env: { NX_VISITS: String(visits) },
        }),
      ),
    );
    await converge([hub, ...leaves], "visits", 10n);
    const ready = (await getJson(`${hub.url}/ready`)) as { status: string; checks: Record<string, boolean> };
    assert.deepEqual(ready, {
      status: "ready",
      checks: { running: true, storeOpen: true, storeWritable: true, hydrated: true, syncListening: true },
    });
    const stopped = await stop(leaves[0]);
    assert.equal(stopped.code, 0, "SIGTERM in serve mode is a clean exit");
    await Promise.all([hub, ...leaves.slice(1)].map(stop));
  });

  test("a restarted node hydrates its state and counts a re-sent op only once", async () => {
    const a = await node({
      datastore: datastoreOf(root.path, "restart-a"),
      guest: COUNTER,
      env: { NX_COUNT: "5" },
    });
    const b = await node({
      datastore: datastoreOf(root.path, "restart-b"),
      guest: COUNTER,
      peers: [a.port],
      env: { NX_COUNT: "7" },
    });
    await converge([a, b], "hits", 12n);
    await stop(a);
    const again = await node({
      datastore: datastoreOf(root.path, "restart-a"),
      guest: COUNTER,
      port: a.port,
      env: { NX_COUNT: "0" },
    });
    assert.equal(again.nodeId, a.nodeId, "the NodeId persisted");
    assert.equal(await again.gcounter("hits"), 12n, "hydrated before any peer reconnected");
    // b redials a; both run anti-entropy again: nothing is counted twice.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await converge([again, b], "hits", 12n);
    await Promise.all([again, b].map(stop));
  });

  test("kill -9 of a node under load: it restarts, hydrates and the cluster converges", async () => {
    const a = await node({
      datastore: datastoreOf(root.path, "kill-a"),
      guest: COUNTER,
      env: { NX_COUNT: "0" },
    });
    const b = await node({
      datastore: datastoreOf(root.path, "kill-b"),
      guest: COUNTER,
      peers: [a.port],
      env: { NX_COUNT: "200000" },
    });
    // Kill b while its guest is still incrementing.
    await pollUntil(
      () => a.gcounter("hits"),
      (v) => v > 1000n,
      20_000,
    );
    b.nx.child.kill("SIGKILL");
    await b.nx.exited;
    nodes.forget(b);
    const seenByA = await a.gcounter("hits");
    const restarted = await node({
      datastore: datastoreOf(root.path, "kill-b"),
      guest: COUNTER,
      port: b.port,
      peers: [a.port],
      env: { NX_COUNT: "0" },
    });
    const hydrated = await restarted.gcounter("hits");
    assert.ok(hydrated > 0n, "b's durable increments survived the kill");
    const final = await pollUntil(
      async () => [await a.gcounter("hits"), await restarted.gcounter("hits")],
      ([x, y]) => x === y,
      15_000,
    );
    assert.equal(final[0], final[1], `converged after the restart (${final[0]} vs ${final[1]})`);
    assert.ok(final[0] >= seenByA, "nothing a peer had already received was lost");
    await Promise.all([a, restarted].map(stop));
  });

  test("ops shed by a full peer queue are still delivered (re-sent from the op-log)", async () => {
    const a = await node({
      datastore: datastoreOf(root.path, "queue-a"),
      guest: COUNTER,
      env: { NX_COUNT: "0" },
    });
    const b = await node({
      datastore: datastoreOf(root.path, "queue-b"),
      guest: COUNTER,
      peers: [a.port],
      env: { NX_COUNT: "3000" },
      args: ["--queued-ops-limit", "10", "--wait-before-run", "5s"],
    });
    await converge([a, b], "hits", 3000n);
    await Promise.all([a, b].map(stop));
  });
});
