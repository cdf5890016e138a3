/**
 * Discovery with real `nx` processes on loopback (docs/sync.md#discovery): five nodes that know
 * one address end fully connected, three mDNS nodes with no address find each other, and a peers
 * file edited while the node runs adds and then removes a peer.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { multicastUnavailable } from "./helpers/multicast-probe.ts";
import { examplePath, getJson, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "./helpers/sync-node.ts";

const VISITS = examplePath("distributed_counter");

const root = tempDir("nx-discovery-");
const nodes = syncNodeTracker();
after(async () => {
  await nodes.stopAll();
  root.remove();
});

interface NodeView {
  sync: {
    connectedPeers: { nodeId: string }[];
    configuredPeers: { address: string; sources: string[] }[];
  };
}

async function view(node: SyncNode): Promise<NodeView> {
  return (await getJson(`${node.url}/v1/node`)) as NodeView;
}

/** Waits until `node` is connected to exactly the NodeIds of `others`. */
async function connectedTo(node: SyncNode, others: readonly SyncNode[], timeoutMs = 20_000): Promise<void> {
  const want = others.map((n) => n.nodeId).sort();
  const got = await pollUntil(
    async () => (await view(node)).sync.connectedPeers.map((p) => p.nodeId).sort(),
    (ids) => JSON.stringify(ids) === JSON.stringify(want),
    timeoutMs,
  );
  assert.deepEqual(got, want, `node ${node.nodeId} is connected to ${got.length} of ${want.length} peers`);
}

async function converge(cluster: readonly SyncNode[], expected: bigint): Promise<void> {
  for (const n of cluster) {
    const value = await pollUntil(
      () => n.gcounter("visits"),
      (v) => v === expected,
      20_000,
    );
    assert.equal(value, expected, `node ${n.nodeId} sees visits = ${value}`);
  }
}

describe("discovery between real nx processes", { timeout: 120_000 }, () => {
  test("bootstrap: five nodes that know one address end fully connected and converge", async () => {
    const seed = await nodes.node({
      datastore: datastoreOf(root.path, "boot-1"),
      guest: VISITS,
      env: { NX_VISITS: "1" },
      args: ["--discovery", "bootstrap"],
    });
    const joiners = await Promise.all(
      [2, 3, 4, 5].map((visits) =>
        nodes.node({
          datastore: datastoreOf(root.path, `boot-${visits}`),
          guest: VISITS,
          env: { NX_VISITS: String(visits) },
          args: ["--discovery", "bootstrap", "--bootstrap", `127.0.0.1:${seed.port}`],
        }),
      ),
    );
    const cluster = [seed, ...joiners];
    for (const n of cluster)
      await connectedTo(
        n,
        cluster.filter((other) => other !== n),
      );
    await converge(cluster, 15n);
    // What a joiner dials beyond the seed, it learned from peers.
    const learned = (await view(joiners[0])).sync.configuredPeers;
    assert.equal(learned.length, 4, JSON.stringify(learned));
    assert.ok(
      learned.every((peer) => peer.sources.includes("bootstrap")),
      JSON.stringify(learned),
    );
    // The joiners are connected to each other, not through the seed: without it they stay so.
    await nodes.stop(seed);
    for (const n of joiners)
      await connectedTo(
        n,
        joiners.filter((other) => other !== n),
      );
    await Promise.all(joiners.map((n) => nodes.stop(n)));
  });

  test("mdns: three nodes with no peer address find each other on loopback multicast", async (t) => {
    const unavailable = await multicastUnavailable("127.0.0.1");
    if (unavailable !== undefined) {
      t.skip(`this machine refuses multicast on loopback: ${unavailable}`);
      return;
    }
    // A service name of this run only: other runs' nodes on the host are not this cluster.
    const service = `_nxtest${process.pid}._tcp.local`;
    const cluster = await Promise.all(
      [1, 2, 3].map((visits) =>
        nodes.node({
          datastore: datastoreOf(root.path, `mdns-${visits}`),
          guest: VISITS,
          env: { NX_VISITS: String(visits) },
          args: [
            "--discovery",
            "mdns",
            "--mdns-service",
            service,
            "--mdns-interface",
            "127.0.0.1",
            "--discovery-refresh-interval",
            "1s",
          ],
        }),
      ),
    );
    for (const n of cluster)
      await connectedTo(
        n,
        cluster.filter((other) => other !== n),
      );
    await converge(cluster, 6n);
    await Promise.all(cluster.map((n) => nodes.stop(n)));
  });

  test("file: a peers file edited while the node runs adds a peer, then removes one", async () => {
    const peersFile = join(root.path, "peers.txt");
    writeFileSync(peersFile, "# no peers yet\n");
    const [b, c] = await Promise.all(
      [2, 3].map((visits) =>
        nodes.node({
          datastore: datastoreOf(root.path, `file-${visits}`),
          guest: VISITS,
          env: { NX_VISITS: String(visits) },
        }),
      ),
    );
    const a = await nodes.node({
      datastore: datastoreOf(root.path, "file-1"),
      guest: VISITS,
      env: { NX_VISITS: "1" },
      args: ["--discovery", "file", "--peers-file", peersFile],
    });
    assert.deepEqual((await view(a)).sync.connectedPeers, []);

    writeFileSync(peersFile, `# b\n127.0.0.1:${b.port}\n`);
    await connectedTo(a, [b]);
    await converge([a, b], 3n);

    // B leaves the file and C enters it: A dials C; its open connection to B stays until it ends.
    writeFileSync(peersFile, `127.0.0.1:${c.port} # c\n`);
    await connectedTo(a, [b, c]);
    const configured = await pollUntil(
      async () => (await view(a)).sync.configuredPeers.map((p) => p.address),
      (addresses) => addresses.length === 1,
      10_000,
    );
    assert.deepEqual(configured, [`127.0.0.1:${c.port}`]);
    await converge([a, b, c], 6n);

    // Once B's connection ends, A does not dial B again (a redial would fail and say so at once).
    await nodes.stop(b);
    await connectedTo(a, [c]);
    const since = a.nx.stderr().length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.doesNotMatch(
      a.nx.stderr().slice(since),
      new RegExp(`cannot reach peer.*127\\.0\\.0\\.1:${b.port}`),
    );
    await Promise.all([a, c].map((n) => nodes.stop(n)));
  });
});
