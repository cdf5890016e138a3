/**
 * A bounded set of connections between real `nx` processes over mutual TLS
 * (docs/design/peer-discovery.md#a-bounded-set-of-connections): eight nodes started with
 * `--discovery bootstrap`, one address and `--max-connections 5` each hold at most five
 * connections of the seven possible whenever /v1/node is read, yet every node ends with every
 * node's ops (relayed through the others) and lists all eight as alive members (probed through
 * neighbours), none of them ever declared dead.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { examplePath, getJson, nxCert, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "./helpers/sync-node.ts";

const VISITS = examplePath("distributed_counter");
const BOUND = 5;
const COUNT = 8;

const root = tempDir("nx-bounded-");
const nodes = syncNodeTracker();
after(async () => {
  await nodes.stopAll();
  root.remove();
});

interface NodeView {
  sync: { connectedPeers: { nodeId: string }[]; members: { nodeId: string; state: string }[] };
}

const view = async (node: SyncNode) => (await getJson(`${node.url}/v1/node`)) as NodeView;

describe("a bounded set of connections between real nx processes", { timeout: 150_000 }, () => {
  test(`${COUNT} nodes with --max-connections ${BOUND}: never more than ${BOUND} connections, all converge, all alive`, async () => {
    const pki = join(root.path, "pki");
    nxCert(["ca", "--out", join(pki, "ca")]);
    const names = Array.from({ length: COUNT }, (_, i) => `n${i}`);
    for (const name of names)
      nxCert(["node", "--ca-dir", join(pki, "ca"), "--name", name, "--out", join(pki, name)]);
    const start = (i: number, bootstrap: string[]) =>
      nodes.node({
        datastore: datastoreOf(root.path, names[i]!),
        guest: VISITS,
        env: { NX_VISITS: String(2 ** i) },
        tls: { dir: join(pki, names[i]!) },
        args: ["--discovery", "bootstrap", ...bootstrap, "--max-connections", String(BOUND)],
      });
    const seed = await start(0, []);
    const joiners = await Promise.all(
      names.slice(1).map((_, i) => start(i + 1, ["--bootstrap", `127.0.0.1:${seed.port}`])),
    );
    const cluster = [seed, ...joiners];

    // Every node's connections, read over and over while the cluster forms and converges.
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const n of cluster) most = Math.max(most, (await view(n)).sync.connectedPeers.length);
      }
    })();
    try {
      const total = BigInt(2 ** COUNT - 1);
      for (const n of cluster) {
        const value = await pollUntil(
          () => n.gcounter("visits"),
          (v) => v === total,
          60_000,
        );
        assert.equal(value, total, `node ${n.nodeId} sees visits = ${value}`);
      }
      // Over the bounded overlay a join's piggybacked gossip can die out before it reaches every
      // node; the periodic push-pull of member tables (SWIM_PUSH_PULL_INTERVAL_MS) brings it.
      for (const n of cluster) {
        const members = await pollUntil(
          async () => (await view(n)).sync.members,
          (list) => list.length === COUNT && list.every((m) => m.state === "alive"),
          30_000,
        );
        assert.deepEqual(
          members.map((m) => m.state),
          Array(COUNT).fill("alive"),
          `node ${n.nodeId} lists ${JSON.stringify(members)}`,
        );
      }
    } finally {
      sampling = false;
      await sampler;
    }
    assert.ok(most <= BOUND, `a node held ${most} connections`);
    assert.ok(most > 0);
    // While the overlay forms, a refused connection may leave a probe without a route (a
    // suspicion, refuted at once); no live node is ever declared dead.
    for (const n of cluster) assert.doesNotMatch(n.nx.stderr() + n.nx.stdout(), /member dead/);
  });
});
