/**
 * The reactive examples on real nodes, by the interfaces their READMEs fix:
 * - reactive_dashboard: every 200 ms it increments `ticks/<node id>` and publishes a JSON summary
 *   on `dashboard/summary`; it prints `remote <family> <key>` for every op a peer makes;
 * - chat: a line typed on one node's stdin (`--stdin-topic chat/input`) is printed on the others
 *   and kept in the RGA `chat/history`, which a restarted node prints at start.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { examplePath, getJson, guestPath, pollUntil, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf, syncNodeTracker } from "../helpers/sync-node.ts";

const nodes = syncNodeTracker();
const dir = tempDir("nx-reactive-examples-");
after(async () => {
  await nodes.stopAll();
  dir.remove();
});

test("reactive_dashboard on three nodes: ticks as GCounters, remote lines, summaries", async () => {
  const guest = examplePath("reactive_dashboard");
  const a = await nodes.node({ datastore: datastoreOf(dir.path, "dash-a"), guest });
  const b = await nodes.node({ datastore: datastoreOf(dir.path, "dash-b"), guest, peers: [a.port] });
  const c = await nodes.node({ datastore: datastoreOf(dir.path, "dash-c"), guest, peers: [a.port, b.port] });
  // A fourth node listens to the summaries with the probe.
  const watcher = await nodes.node({
    datastore: datastoreOf(dir.path, "dash-watch"),
    guest: guestPath("reactive_probe"),
    peers: [a.port],
    env: { NX_PROBE_SUBSCRIBE: "dashboard/*" },
  });
  const all = [a, b, c];
  for (const node of all) {
    for (const other of all.filter((n) => n !== node)) {
      await node.nx.waitFor(new RegExp(`^remote gcounter ticks/${other.nodeId}$`, "m"));
    }
    assert.doesNotMatch(node.nx.stdout(), new RegExp(`^remote gcounter ticks/${node.nodeId}$`, "m"));
    assert.match(node.nx.stdout(), /^(remote \S+ \S+\n)+$/, "only `remote <family> <key>` lines");
  }
  // Ticks reach every node as increments of the ticking node's counter.
  assert.ok((await b.gcounter(`ticks/${a.nodeId}`)) >= 1n);
  const summary = await watcher.nx.waitFor(
    new RegExp(`^message dashboard/summary (\\{.*\\}) ${a.nodeId}$`, "m"),
  );
  const body = JSON.parse(summary[1]!) as {
    node: string;
    ticks: number;
    remoteOps: number;
    keys: { key: string }[];
  };
  assert.equal(body.node, a.nodeId);
  assert.ok(body.ticks >= 1);
  for (const node of [a, b, c, watcher]) assert.equal((await nodes.stop(node)).code, 0, node.nx.stderr());
});

test("chat: a line typed on one node is printed on the others and kept in the history", async () => {
  const guest = examplePath("chat");
  const args = ["--stdin-topic", "chat/input"];
  const ana = await nodes.node({
    datastore: datastoreOf(dir.path, "chat-ana"),
    guest,
    args,
    stdin: true,
    env: { NX_CHAT_NAME: "ana" },
  });
  const bob = await nodes.node({
    datastore: datastoreOf(dir.path, "chat-bob"),
    guest,
    args,
    peers: [ana.port],
    env: { NX_CHAT_NAME: "bob" },
  });
  await ana.nx.waitFor(new RegExp(`connected to peer ${bob.nodeId}`));
  // Messages are at most once: bob must have subscribed (run init) before ana's line is sent.
  const bobNode = await pollUntil(
    () => getJson(`${bob.url}/v1/node`) as Promise<{ modules: { state: string }[] }>,
    (body) => body.modules[0]?.state === "running",
    20_000,
  );
  assert.equal(bobNode.modules[0]?.state, "running");
  ana.nx.child.stdin!.write("hello from ana\n");
  await bob.nx.waitFor(/^ana: hello from ana$/m);
  assert.doesNotMatch(ana.nx.stdout(), /^ana: hello from ana$/m, "a node does not print its own lines");
  // The message and the history op travel apart: bob keeps the line once the op has arrived.
  const history = await pollUntil(
    () =>
      getJson(`${bob.url}/v1/crdt/rga/${encodeURIComponent("chat/history")}`) as Promise<{
        values: string[];
      }>,
    (body) => body.values.includes("ana: hello from ana"),
    20_000,
  );
  assert.deepEqual(history.values, ["ana: hello from ana"]);
  assert.equal((await nodes.stop(bob)).code, 0, bob.nx.stderr());
  // Restarted on its datastore, bob prints the history it kept.
  const again = await nodes.node({
    datastore: datastoreOf(dir.path, "chat-bob"),
    guest,
    args,
    peers: [ana.port],
    env: { NX_CHAT_NAME: "bob" },
  });
  await again.nx.waitFor(/^ana: hello from ana$/m);
  for (const node of [ana, again]) assert.equal((await nodes.stop(node)).code, 0, node.nx.stderr());
});
