import assert from "node:assert/strict";
import { backgroundClock } from "../../../src/clock/clock.ts";
import type { NodeId } from "../../../src/identity/node-id.ts";
import type { Transport } from "../../../src/net/transport.ts";
import { silentLogger } from "../../../src/observe/logger.ts";
import { PeerManager, type PeerManagerOptions } from "../../../src/sync/peer-manager.ts";
import { SyncEngine, type SyncReplica } from "../../../src/sync/sync-engine.ts";
import type { TestOp } from "../../net/helpers/test-op.ts";

/**
 * A replica with nothing in it, for tests about connections rather than ops; with `applied`, the
 * ops a peer pushes are recorded there (and new to it).
 */
export function emptyReplica(nodeId: NodeId, applied?: TestOp[]): SyncReplica<TestOp> {
  return {
    versionVector: () => new Map(),
    heldOrigins: () => [],
    opsSince: () => [],
    applyRemote: (ops) => {
      if (applied === undefined) return [];
      applied.push(...ops);
      return ops;
    },
    idOf: () => ({ origin: nodeId, seq: 0 }),
    localOrigin: () => nodeId,
    needsSnapshot: () => false,
    isStale: () => false,
    snapshotParts: () => [],
    applySnapshotPart: () => [],
  };
}

/** `inner`, recording every address it dials. */
function countingTransport(inner: Transport<TestOp>): {
  transport: Transport<TestOp>;
  dials: string[];
} {
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
  return { transport, dials };
}

/** Backoff of the managers below: a redial never waits over 50 ms. */
const TEST_BACKOFF = { initialDelayMs: 10, maxDelayMs: 50, deadAfterFailures: 3 };

/** A peer manager over `inner` (an empty replica) that records every address it dials; `options` override. */
export function countingManager(
  nodeId: NodeId,
  inner: Transport<TestOp>,
  options: Partial<PeerManagerOptions<TestOp>> = {},
) {
  const { transport, dials } = countingTransport(inner);
  const peers = new PeerManager<TestOp>({
    transport,
    engine: new SyncEngine(emptyReplica(nodeId)),
    listen: undefined,
    maxPeers: 8,
    backoff: TEST_BACKOFF,
    tickIntervalMs: 1000,
    dialTimeoutMs: 1000,
    logger: silentLogger,
    random01: () => 0.5,
    nowMs: () => 0,
    clock: backgroundClock,
    ...options,
  });
  return { peers, dials };
}

/** Polls `condition` every 5 ms; fails the test naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
