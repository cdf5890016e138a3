/**
 * A node of this build and a node of the build before features (commit 1fa890d, run from its own
 * sources taken from git) connect and sync ops both ways; this build sends the older one no
 * Publish (it would end the connection on one), and nothing breaks.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  getJson,
  guestPath,
  type NxProcess,
  pollUntil,
  startNx,
  stopNx,
  tempDir,
} from "./helpers/nx-process.ts";
import { extractOlderBuild, olderBuildMissing } from "./helpers/older-build.ts";
import { type ServiceNode, startServiceNode } from "./helpers/sync-service-node.ts";

describe("a peer of the build before features", {
  skip: olderBuildMissing,
}, () => {
  const root = tempDir("nx-older-peer-");
  let older: NxProcess | undefined;
  let node: ServiceNode | undefined;
  after(async () => {
    if (older !== undefined) await stopNx(older, 3000);
    await node?.stop();
    root.remove();
  });

  test("syncs ops both ways, gets no Publish, and keeps the connection", async () => {
    const tree = extractOlderBuild(root.path);
    node = await startServiceNode({ datastore: join(root.path, "new") });
    older = startNx(
      [
        "run",
        guestPath("counter_loop"),
        "--datastore-path",
        join(root.path, "older-data"),
        "--listen",
        "127.0.0.1:0",
        "--peer",
        `127.0.0.1:${node.port}`,
        "--tls-insecure",
        "--observability-listen",
        "127.0.0.1:0",
        "--observability-expose-data",
        "--reconnect-initial-delay",
        "100ms",
      ],
      { NX_COUNT: "5", NX_FROM_SOURCE: "1" },
      { bin: join(tree, "bin/nx.js") },
    );
    const olderId = (await older.waitFor(/sync started nodeId=([0-9a-f]{32})/, 60_000))[1];
    const url = (await older.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1];
    const sink = node.sink;
    await sink.until(() => sink.peerEvents.includes(`connected ${olderId}`), "the older peer's connection");

    // The older node's ops reach this one, as a change with its origin.
    await sink.until(() => node!.replica.gcounterValue("hits") === 5n, "the older node's 5 increments");
    const hits = sink.changes.filter((change) => change.key === "hits");
    assert.ok(hits.length >= 1, "a change for hits");
    for (const change of hits) assert.deepEqual(change, { key: "hits", family: "gcounter", origin: olderId });
    // This node's ops reach the older one.
    node.replica.gcounterInc("from-new", 3n);
    await pollUntil(
      async () => ((await getJson(`${url}/v1/crdt/gcounter/from-new`)) as { value?: string }).value,
      (value) => value === "3",
      20_000,
    );
    // No Publish goes to it: it did not announce pubsub.
    assert.equal(node.service.publish("chat/general", new Uint8Array([1])), 0);
    node.replica.gcounterInc("from-new", 1n);
    await pollUntil(
      async () => ((await getJson(`${url}/v1/crdt/gcounter/from-new`)) as { value?: string }).value,
      (value) => value === "4",
      20_000,
    );
    assert.deepEqual(sink.peerEvents, [`connected ${olderId}`], "the connection never dropped");
    assert.doesNotMatch(older.stderr() + older.stdout(), /malformed|unknown field|unknown message type/);
  });
});
