/**
 * What sync gives the node's reactive modules (src/sync/sync-events.ts), over real TLS
 * connections between SyncServices on LMDB stores: module messages between nodes in order per
 * sender, one change per key for a peer's batch of ops with the op's origin, peer connect and
 * disconnect events across a restart.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TlsMaterial } from "../src/net/tls-material.ts";
import { freePort, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { type ServiceNode, serviceNodesIn, startServiceNode } from "./helpers/sync-service-node.ts";
import { createTestCa } from "./net/helpers/test-pki.ts";

const text = new TextEncoder();
const fromText = new TextDecoder();

describe("sync events between three TLS nodes", () => {
  const dir = tempDir("nx-sync-events-");
  const tls: TlsMaterial[] = [];
  const running = new Set<ServiceNode>();
  let a: ServiceNode;
  let b: ServiceNode;
  let c: ServiceNode;

  const start = async (name: string, index: number, peers: number[], port?: number) => {
    const node = await startServiceNode({ datastore: `${dir.path}/${name}`, tls: tls[index], peers, port });
    running.add(node);
    return node;
  };
  const stop = async (node: ServiceNode) => {
    await node.stop();
    running.delete(node);
  };

  before(async () => {
    const ca = await createTestCa();
    for (const name of ["a", "b", "c"]) tls.push(await ca.node(name));
    a = await start("a", 0, []);
    // A batch of many ops on one key, made while A has no peer: B's first pull brings all of them in one PushOps.
    for (let i = 0; i < 300; i++) {
      a.replica.gcounterInc("visits", 1n);
      await new Promise((resolve) => setImmediate(resolve));
    }
    a.replica.lwwSet("title", text.encode("hello"));
    await a.replica.flushed();
    b = await start("b", 1, [a.port]);
    c = await start("c", 2, [a.port, b.port]);
    const connected = (node: ServiceNode, n: number) => () =>
      node.sink.peerEvents.filter((e) => e.startsWith("connected")).length >= n;
    await Promise.all([
      a.sink.until(connected(a, 2), "A connected to B and C"),
      b.sink.until(connected(b, 2), "B connected to A and C"),
      c.sink.until(connected(c, 2), "C connected to A and B"),
    ]);
  });
  after(async () => {
    await Promise.all([...running].map((node) => node.stop()));
    dir.remove();
  });

  test("a peer's batch of 300 ops on one key is one change, with the key, family and origin", async () => {
    await b.sink.until(() => b.replica.gcounterValue("visits") === 300n, "B holds A's 300 increments");
    assert.deepEqual(
      b.sink.changes.filter((change) => change.key === "visits"),
      [{ key: "visits", family: "gcounter", origin: a.nodeId }],
    );
    assert.deepEqual(
      b.sink.changes.filter((change) => change.key === "title"),
      [{ key: "title", family: "lww_register", origin: a.nodeId }],
    );
  });

  test("a live op on A is a change on B and C with origin A; A's own op is no change on A", async () => {
    a.replica.orsetAdd("members", text.encode("ada"));
    const seen = (node: ServiceNode) => () => node.sink.changes.some((change) => change.key === "members");
    await Promise.all([b.sink.until(seen(b), "B sees members"), c.sink.until(seen(c), "C sees members")]);
    for (const node of [b, c]) {
      assert.deepEqual(
        node.sink.changes.filter((change) => change.key === "members"),
        [{ key: "members", family: "orset", origin: a.nodeId }],
      );
    }
    assert.equal(a.sink.changes.filter((change) => change.key === "members").length, 0);
  });

  test("1000 messages from A reach B and C in order; B's and C's reach A in order too", async () => {
    const count = 1000;
    for (let i = 0; i < count; i++) {
      assert.equal(a.service.publish("bench/seq", text.encode(`a${i}`)), 2);
      if (i % 2 === 0) b.service.publish("bench/seq", text.encode(`b${i / 2}`));
      if (i % 4 === 0) c.service.publish("chat/c", text.encode(`c${i / 4}`));
    }
    const fromA = (node: ServiceNode) => () =>
      node.sink.messages.filter((m) => m.from === a.nodeId).length >= count;
    await Promise.all([
      b.sink.until(fromA(b), "B gets A's messages"),
      c.sink.until(fromA(c), "C gets A's messages"),
    ]);
    await a.sink.until(() => a.sink.messages.length >= count / 2 + count / 4, "A gets B's and C's messages");
    const sequence = (node: ServiceNode, from: ServiceNode) =>
      node.sink.messages
        .filter((m) => m.from === from.nodeId)
        .map((m) => `${m.topic} ${fromText.decode(m.payload)}`);
    const expected = (prefix: string, topic: string, n: number) =>
      Array.from({ length: n }, (_, i) => `${topic} ${prefix}${i}`);
    assert.deepEqual(sequence(b, a), expected("a", "bench/seq", count));
    assert.deepEqual(sequence(c, a), expected("a", "bench/seq", count));
    assert.deepEqual(sequence(a, b), expected("b", "bench/seq", count / 2));
    assert.deepEqual(sequence(a, c), expected("c", "chat/c", count / 4));
    const metrics = await a.metrics.render();
    assert.match(metrics, new RegExp(`numax_messages_published_total ${2 * count}\\b`));
    assert.match(metrics, new RegExp(`numax_messages_received_total ${count / 2 + count / 4}\\b`));
  });

  test("a node that stops is a disconnect on its peers, and a connect again when it comes back", async () => {
    const port = c.port;
    const cNodeId = c.nodeId;
    await stop(c);
    for (const node of [a, b]) {
      await node.sink.until(() => node.sink.peerEvents.includes(`disconnected ${cNodeId}`), "C's disconnect");
    }
    assert.equal(a.service.publish("chat/c", text.encode("while C is away")), 1, "only B gets it");
    c = await start("c", 2, [a.port, b.port], port);
    for (const node of [a, b]) {
      await node.sink.until(
        () => node.sink.peerEvents.filter((e) => e === `connected ${cNodeId}`).length === 2,
        "C's second connect",
      );
      assert.deepEqual(
        node.sink.peerEvents.filter((e) => e.endsWith(cNodeId)),
        [`connected ${cNodeId}`, `disconnected ${cNodeId}`, `connected ${cNodeId}`],
      );
    }
    await c.sink.until(() => c.sink.peerEvents.length >= 2, "C connected again");
    assert.deepEqual(c.sink.peerEvents.sort(), [`connected ${a.nodeId}`, `connected ${b.nodeId}`].sort());
    assert.equal(c.sink.messages.length, 0, "a message published while C was away never reaches it");
  });
});

describe("sync events from a state snapshot", () => {
  const start = serviceNodesIn("nx-sync-events-snapshot-");

  test("objects a snapshot changed are changes, with the peer that sent it as origin", async () => {
    const a = await start("a", { flags: { "limits.op_log_limit": 4 } });
    for (let i = 0; i < 8; i++) {
      a.replica.gcounterInc(`k${i}`, 1n);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await a.replica.flushed();
    assert.deepEqual(
      a.replica.compactedFor(new Map()),
      [a.nodeId],
      "k0's op left A's op-log: only a snapshot has it",
    );
    const b = await start("b", { peers: [a.port] });
    await b.sink.until(() => b.replica.gcounterValue("k0") === 1n, "B holds k0 from the snapshot");
    await b.sink.until(() => b.sink.changes.length >= 8, "a change for each of the 8 keys");
    assert.deepEqual(
      b.sink.changes.map((change) => `${change.family} ${change.key} ${change.origin === a.nodeId}`).sort(),
      Array.from({ length: 8 }, (_, i) => `gcounter k${i} true`),
    );
  });
});

describe("peer events when two nodes dial each other", () => {
  const dir = tempDir("nx-sync-events-mutual-");
  const running = new Set<ServiceNode>();
  after(async () => {
    await Promise.all([...running].map((node) => node.stop()));
    dir.remove();
  });

  test("the connection that replaces the first one is no second connect", async () => {
    // Learn both NodeIds (plain TCP: kept in the datastore), to make the replacement happen for sure.
    const ids: string[] = [];
    for (const name of ["x", "y"]) {
      const node = await startServiceNode({ datastore: `${dir.path}/${name}` });
      ids.push(node.nodeId);
      await node.stop();
    }
    const [smaller, larger] = ids[0] < ids[1] ? ["x", "y"] : ["y", "x"];
    const [smallerPort, largerPort] = [await freePort(), await freePort()];
    // The smaller NodeId's dial is the one both keep. It fails first (nobody listens yet) and
    // comes again 2 s later, once the larger one has dialed: its connection then replaces that one.
    const s = await startServiceNode({
      datastore: `${dir.path}/${smaller}`,
      port: smallerPort,
      peers: [largerPort],
      flags: { "limits.reconnect_initial_delay": "2s", "limits.reconnect_max_delay": "2s" },
    });
    running.add(s);
    const l = await startServiceNode({
      datastore: `${dir.path}/${larger}`,
      port: largerPort,
      peers: [smallerPort],
    });
    running.add(l);
    // Each side holds the connection the smaller NodeId dialed once it replaced the first one.
    const keptOutbound = (node: ServiceNode) =>
      node.service.peers.connectedPeers().map((peer) => peer.outbound);
    assert.deepEqual(
      await pollUntil(
        async () => keptOutbound(s),
        (v) => v[0] === true,
        10_000,
      ),
      [true],
    );
    assert.deepEqual(
      await pollUntil(
        async () => keptOutbound(l),
        (v) => v[0] === false,
        10_000,
      ),
      [false],
    );
    assert.match(
      await s.metrics.render(),
      /numax_peer_connects_total 2\b/,
      "two connections were established",
    );
    assert.deepEqual(s.sink.peerEvents, [`connected ${l.nodeId}`]);
    assert.deepEqual(l.sink.peerEvents, [`connected ${s.nodeId}`]);
    await l.stop();
    running.delete(l);
    await s.sink.until(() => s.sink.peerEvents.length === 2, "the disconnect");
    assert.deepEqual(s.sink.peerEvents, [`connected ${l.nodeId}`, `disconnected ${l.nodeId}`]);
  });
});
