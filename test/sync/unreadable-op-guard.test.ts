/**
 * The send guard for ops a peer cannot decode (`map-batch`, docs/design/compatibility.md): a
 * PushOps holding such an op is never sent to a peer that did not announce the feature; the
 * session ends instead with an Error frame that says a retry does not help, one warn line here,
 * and no redial loop on either side. Ops every peer reads go on as before. Over the in-memory
 * transport (the real-process cases are in test/map-batch-compat.test.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeId } from "../../src/identity/node-id.ts";
import { createMemoryNetwork } from "../../src/net/memory-transport.ts";
import type { Transport } from "../../src/net/transport.ts";
import type { WireFeature } from "../../src/net/wire-features.ts";
import type { Logger } from "../../src/observe/logger.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { firstUnreadableOp, type OpFeature } from "../../src/sync/op-feature-guard.ts";
import { SyncEngine } from "../../src/sync/sync-engine.ts";
import { recordingLogger } from "../net/helpers/recording-logger.ts";
import type { TestOp } from "../net/helpers/test-op.ts";
import { baseOptions, nodeIdFor } from "../net/transport-contract.ts";
import { countingManager, emptyReplica, until } from "./helpers/counting-peers.ts";

/** Long enough for the backoff (TEST_BACKOFF) to redial at least five times (it never waits over 50 ms). */
const WATCH_MS = 400;
/** The stand-in of an `lww_map_batch` op: its tag. */
const featureOf: OpFeature<TestOp> = (op) => (op.meta.tag === "batch" ? "map-batch" : undefined);

function opTagged(tag: string, seq: number): TestOp {
  return { origin: "o", seq, delta: 1n, payload: new Uint8Array(), meta: { tag, weight: 1 } };
}

test("firstUnreadableOp: the first op whose feature the peer lacks, none when it has them all", () => {
  const ops = [opTagged("plain", 1), opTagged("batch", 2), opTagged("batch", 3)];
  assert.equal(firstUnreadableOp(ops, [], featureOf), ops[1]);
  assert.equal(firstUnreadableOp(ops, ["pubsub", "rga-ghosts"], featureOf), ops[1]);
  assert.equal(firstUnreadableOp(ops, ["map-batch"], featureOf), undefined);
  assert.equal(firstUnreadableOp([ops[0]!], [], featureOf), undefined);
  assert.equal(firstUnreadableOp([], [], featureOf), undefined);
});

/** A peer manager over `inner` with the guard (`featureOf`), recording what it dials and is pushed. */
function node(nodeId: NodeId, inner: Transport<TestOp>, options: { listen: string; logger?: Logger }) {
  const received: TestOp[] = [];
  const { peers, dials } = countingManager(nodeId, inner, {
    engine: new SyncEngine(emptyReplica(nodeId, received)),
    listen: options.listen,
    logger: options.logger ?? silentLogger,
    nowMs: () => Date.now(),
    opFeature: featureOf,
  });
  return { peers, dials, received };
}

for (const dialer of ["the sender", "the older peer"] as const) {
  test(`an op the peer cannot decode ends the session, not sent, no redial loop (${dialer} dialed)`, async (t) => {
    const network = createMemoryNetwork();
    const senderId = nodeIdFor(`guard-sender-${dialer}`);
    const olderId = nodeIdFor(`guard-older-${dialer}`);
    const senderAddress = `10.3.0.1:${dialer === "the sender" ? 9001 : 9002}`;
    const olderAddress = `10.3.0.2:${dialer === "the sender" ? 9001 : 9002}`;
    const log = recordingLogger();
    const sender = node(senderId, network.transport({ ...baseOptions(), nodeId: senderId }), {
      listen: senderAddress,
      logger: log,
    });
    // A build before the feature: it announces none (as Numax 0.1.0 does).
    const olderFeatures: WireFeature[] = [];
    const older = node(
      olderId,
      network.transport({ ...baseOptions(), nodeId: olderId, features: olderFeatures }),
      {
        listen: olderAddress,
      },
    );
    await Promise.all([sender.peers.start(), older.peers.start()]);
    t.after(() => Promise.all([sender.peers.stop(), older.peers.stop()]));
    if (dialer === "the sender") sender.peers.addCandidate(olderAddress, "static");
    else older.peers.addCandidate(senderAddress, "static");
    await until(() => sender.peers.connectedPeers().length === 1, "the connection");

    // An op every peer reads goes as before.
    sender.peers.sendTo(olderId, { type: "PushOps", batchId: 1, ops: [opTagged("plain", 1)] });
    await until(() => older.received.length === 1, "the plain op");

    sender.peers.sendTo(olderId, {
      type: "PushOps",
      batchId: 2,
      ops: [opTagged("plain", 2), opTagged("batch", 3)],
    });
    // Sent before the session is closed: nothing more goes on it (the ops after the batch op would
    // leave a gap in the peer's version vector).
    sender.peers.sendTo(olderId, { type: "PushOps", batchId: 3, ops: [opTagged("plain", 4)] });
    const line = await log.waitFor(/runs a build that cannot read multi-field map ops/);
    assert.equal(line.level, "warn");
    assert.match(
      line.message,
      new RegExp(`^peer ${olderId} at .*upgrade it to a Numax build that announces map-batch`),
    );
    assert.match(line.message, /the op stays in the op-log and goes once the peer is upgraded/);
    await until(() => sender.peers.connectedPeers().length === 0, "the end of the session");

    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    assert.deepEqual(
      older.received.map((op) => op.seq),
      [1],
      "nothing of the refused batch, nor sent after it, reached the older peer",
    );
    const dials = dialer === "the sender" ? sender.dials : older.dials;
    assert.equal(dials.length, 1, `redialed ${dials.length - 1} times within ${WATCH_MS} ms`);
    if (dialer === "the older peer") {
      // It read the refusal in the Error frame: not retryable, and why.
      assert.match(
        older.peers.configuredPeers()[0]?.refusal ?? "",
        /\(rejected\): peer .* runs a build that cannot read multi-field map ops/,
      );
    } else {
      assert.match(sender.peers.configuredPeers()[0]?.refusal ?? "", /cannot read multi-field map ops/);
    }
    assert.equal(
      log.lines.filter((l) => /cannot read multi-field map ops/.test(l.message)).length,
      1,
      "one line on the sender",
    );
  });
}
