/**
 * The peer manager's candidates (addCandidate / removeCandidate), over the in-memory transport:
 * sources are recorded and merged, a candidate is dialled until its last source removes it, and
 * a removed candidate keeps its open connection but is not redialled once it ends; with a bound
 * (`maxConnections`), the operator's peers are all dialled still, and a full node refuses a peer
 * and tells it where else to go.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { backgroundClock } from "../../src/clock/clock.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { createMemoryNetwork } from "../../src/net/memory-transport.ts";
import type { Transport } from "../../src/net/transport.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { PeerManager, type PeerManagerOptions, RUNTIME_PEER_SOURCE } from "../../src/sync/peer-manager.ts";
import { SyncEngine, type SyncReplica } from "../../src/sync/sync-engine.ts";
import type { TestOp } from "../net/helpers/test-op.ts";
import { baseOptions, nodeIdFor } from "../net/transport-contract.ts";

/** A replica with nothing in it: these tests are about connections, not ops. */
function emptyReplica(nodeId: NodeId): SyncReplica<TestOp> {
  return {
    versionVector: () => new Map(),
    heldOrigins: () => [],
    opsSince: () => [],
    applyRemote: () => [],
    idOf: () => ({ origin: nodeId, seq: 0 }),
    localOrigin: () => nodeId,
    needsSnapshot: () => false,
    isStale: () => false,
    snapshotParts: () => [],
    applySnapshotPart: () => [],
  };
}

const network = createMemoryNetwork();

function manager(
  name: string,
  listen: string,
  bounded: Partial<Pick<PeerManagerOptions<TestOp>, "maxConnections" | "redirectEntries">> = {},
) {
  const nodeId = nodeIdFor(name);
  const inner = network.transport({ ...baseOptions(), nodeId, name: listen });
  const dials: string[] = [];
  const transport: Transport<TestOp> = {
    ...inner,
    localNodeId: inner.localNodeId,
    listen: (address, onConnection) => inner.listen(address, onConnection),
    dial: (address, signal) => {
      dials.push(address);
      return inner.dial(address, signal);
    },
  };
  const events: string[] = [];
  const told: string[] = [];
  const peers = new PeerManager<TestOp>({
    ...bounded,
    onPeerAddresses: (_peer, entries) => told.push(...entries.map((entry) => entry.address)),
    transport,
    engine: new SyncEngine(emptyReplica(nodeId)),
    listen,
    maxPeers: 8,
    backoff: { initialDelayMs: 10, maxDelayMs: 50, deadAfterFailures: 3 },
    tickIntervalMs: 1000,
    dialTimeoutMs: 1000,
    logger: silentLogger,
    random01: () => 0.5,
    nowMs: () => 0,
    clock: backgroundClock,
    onPeerEvent: (event, peer) => events.push(`${event} ${peer}`),
  });
  return { nodeId, peers, dials, events, told };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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
