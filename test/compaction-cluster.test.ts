/**
 * Compaction between real `nx` processes on loopback (docs/design/compaction.md): a peer behind
 * the op-log's truncation point gets the state, not ops; tombstones are collected once every
 * member has seen the remove; a node away for longer than the tombstone horizon comes back
 * through state transfer and cannot bring back what was removed while it was away.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { examplePath, getJson, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "./helpers/sync-node.ts";

const TAGS = examplePath("distributed_tags");

const root = tempDir("nx-compaction-");
const nodes = syncNodeTracker();
const { node, stop } = nodes;
after(async () => {
  await nodes.stopAll();
  root.remove();
});

async function tags(n: SyncNode): Promise<string[]> {
  const body = (await getJson(`${n.url}/v1/crdt/orset/tags`)) as { elements?: string[] };
  return body.elements ?? [];
}

/** A counter of the node's /metrics (0 before its first sample). */
async function counter(n: SyncNode, series: string): Promise<number> {
  const text = await (await fetch(`${n.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function converge(cluster: readonly SyncNode[], expected: readonly string[], timeoutMs = 20_000) {
  for (const n of cluster) {
    const seen = await pollUntil(
      () => tags(n),
      (v) => JSON.stringify(v) === JSON.stringify(expected),
      timeoutMs,
    );
    assert.deepEqual(seen, expected, `node ${n.nodeId}`);
  }
}

/** Quick rounds: anti-entropy, compaction and the horizon in a test's time. */
const FAST = ["--anti-entropy-interval", "300ms", "--compaction-interval", "200ms"];

describe("compaction between real nx processes", { timeout: 180_000 }, () => {
  test("a peer behind the op-log's truncation point gets the state, not ops", async () => {
    const many = Array.from({ length: 30 }, (_, i) => `t${String(i).padStart(2, "0")}`);
    const a = await node({
      datastore: datastoreOf(root.path, "lag-a"),
      guest: TAGS,
      env: { NX_TAGS: many.join(",") },
      args: [...FAST, "--op-log-limit", "5"],
    });
    await a.nx.waitFor(/tags here: \[t00/);
    const b = await node({
      datastore: datastoreOf(root.path, "lag-b"),
      guest: TAGS,
      peers: [a.port],
      args: FAST,
    });
    await converge([a, b], many);
    assert.ok((await counter(a, 'numax_state_snapshots_total{direction="sent"}')) >= 1, "a sent its state");
    assert.ok((await counter(b, 'numax_state_snapshots_total{direction="applied"}')) >= 1, "b applied it");
    await Promise.all([a, b].map(stop));
  });

  test("a node away longer than the tombstone horizon rejoins through state transfer and cannot bring back a removed tag", async () => {
    // A short op-log: the remove is out of every log by the time c is back, so only state carries it.
    const args = [...FAST, "--tombstone-horizon", "2s", "--op-log-limit", "2"];
    const a = await node({
      datastore: datastoreOf(root.path, "away-a"),
      guest: TAGS,
      env: { NX_TAGS: "gone,kept" },
      args,
    });
    const b = await node({ datastore: datastoreOf(root.path, "away-b"), guest: TAGS, peers: [a.port], args });
    const c = await node({ datastore: datastoreOf(root.path, "away-c"), guest: TAGS, peers: [a.port], args });
    await converge([a, b, c], ["gone", "kept"]);
    await stop(c);

    // b removes the tag while c is away (b restarts to run the guest with NX_UNTAG), then b adds
    // two more: the remove is the lowest op of the busiest origin, out of the op-logs first.
    const restartB = async (from: SyncNode, env: Record<string, string>, expected: string[]) => {
      await stop(from);
      const again = await node({
        datastore: datastoreOf(root.path, "away-b"),
        guest: TAGS,
        port: b.port,
        peers: [a.port],
        env,
        args,
      });
      await converge([a, again], expected);
      return again;
    };
    const b1 = await restartB(b, { NX_UNTAG: "gone" }, ["kept"]);
    const b2 = await restartB(b1, { NX_TAGS: "k2,k3" }, ["k2", "k3", "kept"]);
    await converge([a, b2], ["k2", "k3", "kept"]);
    // Once c has been silent for the horizon, a collects the tombstone without it (b did too, in
    // one of its runs: its counter starts again with each).
    const collected = await pollUntil(
      () => counter(a, "numax_tombstones_collected_total"),
      (v) => v >= 1,
      20_000,
    );
    assert.ok(collected >= 1, "a collected the tombstone");

    // c comes back holding "gone" live: a and b find it stale and give it their state.
    const c2 = await node({
      datastore: datastoreOf(root.path, "away-c"),
      guest: TAGS,
      port: c.port,
      peers: [a.port, b2.port],
      args,
    });
    await c2.nx.waitFor(/replacing this node's replicated state with a peer's/);
    await converge([c2], ["k2", "k3", "kept"]);
    // Several anti-entropy rounds later, nobody has it back.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const n of [a, b2, c2]) assert.deepEqual(await tags(n), ["k2", "k3", "kept"], `node ${n.nodeId}`);
    await Promise.all([a, b2, c2].map(stop));
  });
});
