/**
 * A peer that refuses this node for a reason a retry does not fix (its Error frame says
 * `retryable: false`) is redialed at `reconnect_max_delay`, not in the quick climb a lost
 * connection gets: the Error frame drives the backoff.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { advanceSettled } from "../../src/clock/settled-advance.ts";
import { createVirtualClock } from "../../src/clock/virtual-clock.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { NetError } from "../../src/net/net-error.ts";
import type { Transport } from "../../src/net/transport.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { PeerManager } from "../../src/sync/peer-manager.ts";
import { SyncEngine, type SyncReplica } from "../../src/sync/sync-engine.ts";
import type { TestOp } from "../net/helpers/test-op.ts";
import { nodeIdFor } from "../net/transport-contract.ts";

function emptyReplica(nodeId: NodeId): SyncReplica<TestOp> {
  return {
    versionVector: () => new Map(),
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

/** Dials during `windowMs` (virtual time) of a node whose only peer fails every dial with `error`. */
async function dialsWithin(error: NetError, windowMs: number): Promise<number> {
  const nodeId = nodeIdFor("refused-dialer");
  const clock = createVirtualClock();
  let dials = 0;
  const transport = {
    localNodeId: nodeId,
    listen: async () => ({ address: "10.9.0.1:9000", close: async () => {} }),
    dial: () => {
      dials++;
      return Promise.reject(error);
    },
  } as unknown as Transport<TestOp>;
  const peers = new PeerManager<TestOp>({
    transport,
    engine: new SyncEngine(emptyReplica(nodeId)),
    listen: undefined,
    maxPeers: 8,
    backoff: { initialDelayMs: 10, maxDelayMs: 5_000, deadAfterFailures: 50 },
    tickIntervalMs: 1000,
    dialTimeoutMs: 1000,
    logger: silentLogger,
    random01: () => 0.5,
    nowMs: () => clock.now(),
    clock,
  });
  peers.addCandidate("10.9.0.2:9000", "static");
  await peers.start();
  await advanceSettled(clock, windowMs);
  await peers.stop();
  return dials;
}

test("a non-retryable refusal is not redialed in a loop; a failure a retry may fix is", async () => {
  const refused = new NetError("NET_PEER_REFUSED", "peer refused this node: not in its allowed peers", {
    retryable: false,
  });
  assert.equal(await dialsWithin(refused, 600), 1, "the next dial waits reconnect_max_delay");
  const lost = new NetError("NET_DIAL_FAILED", "connection refused");
  assert.ok((await dialsWithin(lost, 600)) >= 3, "a lost peer is redialed quickly");
});
