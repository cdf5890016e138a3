/**
 * Peer exchange with a peer of the build before features (commit 1fa890d, run from its own
 * sources): that build never announces `peer-exchange`, so it is never sent a PeerAddresses (it
 * would end the connection on one), and it still syncs with bootstrap nodes of this build. A
 * second bootstrap node, which knows only the first, learns the older node's address from it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  examplePath,
  getJson,
  type NxProcess,
  pollUntil,
  startNx,
  stopNx,
  tempDir,
} from "./helpers/nx-process.ts";
import { extractOlderBuild, olderBuildMissing } from "./helpers/older-build.ts";
import { type SyncNode, syncNodeTracker } from "./helpers/sync-node.ts";

const VISITS = examplePath("distributed_counter");

describe("bootstrap nodes and a peer of the build before features", {
  skip: olderBuildMissing,
  timeout: 120_000,
}, () => {
  const root = tempDir("nx-exchange-older-");
  const nodes = syncNodeTracker();
  let older: NxProcess | undefined;
  after(async () => {
    if (older !== undefined) await stopNx(older, 3000);
    await nodes.stopAll();
    root.remove();
  });

  test("sync both ways; the older node gets no PeerAddresses and keeps its connections", async () => {
    const tree = extractOlderBuild(root.path);
    older = startNx(
      [
        "run",
        VISITS,
        "--datastore-path",
        join(root.path, "older-data"),
        "--listen",
        "127.0.0.1:0",
        "--tls-insecure",
        "--observability-listen",
        "127.0.0.1:0",
        "--observability-expose-data",
        "--reconnect-initial-delay",
        "100ms",
      ],
      { NX_VISITS: "1", NX_FROM_SOURCE: "1" },
      { bin: join(tree, "bin/nx.js") },
    );
    const started = await older.waitFor(
      /sync started nodeId=([0-9a-f]{32}) listen=127\.0\.0\.1:(\d+)/,
      60_000,
    );
    const olderId = started[1];
    const olderUrl = (await older.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1];

    const first = await nodes.node({
      datastore: join(root.path, "first"),
      guest: VISITS,
      env: { NX_VISITS: "2" },
      args: ["--discovery", "bootstrap", "--bootstrap", `127.0.0.1:${started[2]}`],
    });
    const second = await nodes.node({
      datastore: join(root.path, "second"),
      guest: VISITS,
      env: { NX_VISITS: "3" },
      args: ["--discovery", "bootstrap", "--bootstrap", `127.0.0.1:${first.port}`],
    });

    const peersOf = async (node: SyncNode) =>
      (
        (await getJson(`${node.url}/v1/node`)) as { sync: { connectedPeers: { nodeId: string }[] } }
      ).sync.connectedPeers
        .map((p) => p.nodeId)
        .sort();
    // The second node dials the older one, whose address it learned from the first.
    const seen = await pollUntil(
      () => peersOf(second),
      (ids) => ids.length === 2,
      20_000,
    );
    assert.deepEqual(seen, [first.nodeId, olderId].sort());
    for (const url of [olderUrl, first.url, second.url]) {
      const value = await pollUntil(
        async () => ((await getJson(`${url}/v1/crdt/gcounter/visits`)) as { value?: string }).value,
        (v) => v === "6",
        20_000,
      );
      assert.equal(value, "6", url);
    }
    const olderView = (await getJson(`${olderUrl}/v1/node`)) as { sync: { connectedPeers: unknown[] } };
    assert.equal(olderView.sync.connectedPeers.length, 2);
    assert.doesNotMatch(older.stderr() + older.stdout(), /malformed|unknown message type|peer disconnected/);
  });
});
