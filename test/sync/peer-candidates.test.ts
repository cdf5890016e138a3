/**
 * The peer manager's candidates (addCandidate / removeCandidate), over the in-memory transport:
 * sources are recorded and merged, a candidate is dialled until its last source removes it, and
 * a removed candidate keeps its open connection but is not redialled once it ends; with a bound
 * (`maxConnections`), the operator's peers are all dialled still, and a full node refuses a peer
 * and tells it where else to go.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { createMemoryNetwork } from "../../src/net/memory-transport.ts";
import { type PeerManagerOptions, RUNTIME_PEER_SOURCE } from "../../src/sync/peer-manager.ts";
import type { TestOp } from "../net/helpers/test-op.ts";
import { baseOptions, nodeIdFor } from "../net/transport-contract.ts";
import { countingManager, until } from "./helpers/counting-peers.ts";

const network = createMemoryNetwork();

function manager(
  name: string,
  listen: string,
  bounded: Partial<Pick<PeerManagerOptions<TestOp>, "maxConnections" | "redirectEntries">> = {},
) {
  const nodeId = nodeIdFor(name);
  const inner = network.transport({ ...baseOptions(), nodeId, name: listen });
  const events: string[] = [];
  const told: string[] = [];
  const { peers, dials } = countingManager(nodeId, inner, {
    ...bounded,
    onPeerAddresses: (_peer, entries) => told.push(...entries.map((entry) => entry.address)),
    listen,
    onPeerEvent: (event, peer) => events.push(`${event} ${peer}`),
  });
  return { nodeId, peers, dials, events, told };
}

test("a removed candidate keeps its connection, is not redialled after it ends; one still named is", async () => {
  const a = manager("cand-a", "10.1.0.1:9000");
  const b = manager("cand-b", "10.1.0.2:9000");
  const c = manager("cand-c", "10.1.0.3:9000");
  await b.peers.start();
  await c.peers.start();
  a.peers.addCandidate("10.1.0.2:9000", "static");
  a.peers.addCandidate("10.1.0.2:9000", "file");
  a.peers.addCandidate("10.1.0.3:9000", "file");
  await a.peers.start();
  try {
    await until(() => a.peers.connectedPeers().length === 2, "a connected to b and c");
    assert.deepEqual(
      a.peers.configuredPeers().map((p) => [p.address, p.sources]),
      [
        ["10.1.0.2:9000", ["static", "file"]],
        ["10.1.0.3:9000", ["file"]],
      ],
    );

    // b is still named by "static"; c by nobody: it leaves, its connection stays.
    a.peers.removeCandidate("10.1.0.2:9000", "file");
    a.peers.removeCandidate("10.1.0.3:9000", "file");
    assert.deepEqual(
      a.peers.configuredPeers().map((p) => [p.address, p.sources]),
      [["10.1.0.2:9000", ["static"]]],
    );
    assert.equal(a.peers.connectedPeers().length, 2, "c's connection stays open");

    const dialsBefore = a.dials.length;
    network.breakConnections((x, y) => x === a.nodeId && (y === b.nodeId || y === c.nodeId));
    await until(() => a.events.includes(`disconnected ${c.nodeId}`), "c's connection ended");
    await until(() => a.dials.length > dialsBefore, "b redialled");
    await until(() => a.peers.connectedPeers().some((p) => p.nodeId === b.nodeId), "b connected again");
    // Twenty initial backoff delays later, c has still not been dialled.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(
      a.dials.slice(dialsBefore).filter((address) => address === "10.1.0.3:9000"),
      [],
    );

    // Named again, it is dialled at once.
    a.peers.addCandidate("10.1.0.3:9000", "mdns");
    await until(() => a.peers.connectedPeers().length === 2, "c connected again");
  } finally {
    await Promise.all([a, b, c].map((m) => m.peers.stop()));
  }
});

test("the operator's addPeer pins a candidate discovery found: it stays when discovery drops it; adding twice is refused", async () => {
  const a = manager("pin-a", "10.2.0.1:9000");
  const b = manager("pin-b", "10.2.0.2:9000");
  await b.peers.start();
  a.peers.addCandidate("10.2.0.2:9000", "mdns");
  await a.peers.start();
  try {
    await until(() => a.peers.connectedPeers().length === 1, "a connected to b");
    a.peers.addPeer("10.2.0.2:9000");
    assert.deepEqual(a.peers.configuredPeers()[0]?.sources, ["mdns", RUNTIME_PEER_SOURCE]);
    assert.throws(() => a.peers.addPeer("10.2.0.2:9000"), { code: "SYNC_PEER_EXISTS" });
    a.peers.removeCandidate("10.2.0.2:9000", "mdns");
    assert.deepEqual(
      a.peers.configuredPeers().map((p) => [p.address, p.sources]),
      [["10.2.0.2:9000", [RUNTIME_PEER_SOURCE]]],
      "still a peer: the operator added it",
    );
  } finally {
    await Promise.all([a, b].map((m) => m.peers.stop()));
  }
});

test("with a bound of 3, the operator's four static peers are all connected (the bound never cuts what the operator wrote)", async () => {
  const a = manager("bound-a", "10.3.0.1:9000", { maxConnections: 3 });
  const others = [2, 3, 4, 5].map((n) => manager(`bound-${n}`, `10.3.0.${n}:9000`));
  for (const other of others) await other.peers.start();
  for (const n of [2, 3, 4, 5]) a.peers.addCandidate(`10.3.0.${n}:9000`, "static");
  await a.peers.start();
  a.peers.addCandidate("10.3.0.9:9000", "bootstrap");
  try {
    await until(() => a.peers.connectedPeers().length === 4, "a connected to its four static peers");
    assert.deepEqual(
      a.peers.alwaysDialed().map((p) => p.address),
      [2, 3, 4, 5].map((n) => `10.3.0.${n}:9000`),
      "what --wait-before-run waits for: not the discovered candidate",
    );
  } finally {
    await Promise.all([a, ...others].map((m) => m.peers.stop()));
  }
});

test("what --wait-before-run waits for is the operator's peers, whatever the order candidates came in", () => {
  const a = manager("order-a", "10.3.1.1:9000", { maxConnections: 3 });
  a.peers.addCandidate("10.3.1.9:9000", "bootstrap");
  for (const n of [5, 2, 4]) a.peers.addCandidate(`10.3.1.${n}:9000`, "static");
  a.peers.addCandidate("10.3.1.8:9000", "mdns");
  a.peers.addCandidate("10.3.1.3:9000", "static");
  const dialed = a.peers.alwaysDialed();
  assert.deepEqual(
    dialed.map((p) => p.address),
    [5, 2, 4, 3].map((n) => `10.3.1.${n}:9000`),
  );
  for (const status of dialed) assert.deepEqual(status.sources, ["static"], status.address);
});

test("with a bound of 3, a node refuses a fourth discovered peer and tells it where else to go", async () => {
  const hub = manager("full-hub", "10.4.0.1:9000", {
    maxConnections: 3,
    redirectEntries: () => [{ nodeId: nodeIdFor("elsewhere"), address: "10.4.9.9:9000" }],
  });
  await hub.peers.start();
  const joiners = [2, 3, 4, 5].map((n) => manager(`full-${n}`, `10.4.0.${n}:9000`, { maxConnections: 3 }));
  for (const joiner of joiners) joiner.peers.addCandidate("10.4.0.1:9000", "bootstrap");
  await Promise.all(joiners.map((joiner) => joiner.peers.start()));
  try {
    await until(
      () => joiners.some((j) => j.told.includes("10.4.9.9:9000")),
      "a refused joiner told where to go",
    );
    await until(() => hub.peers.connectedPeers().length === 3, "the hub holds three peers");
    await until(
      () => joiners.filter((j) => j.peers.connectedPeers().length === 1).length === 3,
      "the refused joiner's connection closed; three joiners stay connected",
    );
    assert.equal(
      hub.events.filter((e) => e.startsWith("connected")).length,
      3,
      "the fourth was never adopted",
    );
  } finally {
    await Promise.all([hub, ...joiners].map((m) => m.peers.stop()));
  }
});
