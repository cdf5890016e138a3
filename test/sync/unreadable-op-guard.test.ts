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
import { type OpFeature, opsForPeer } from "../../src/sync/op-feature-guard.ts";
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

test("opsForPeer: every op when the peer decodes them all, without those it cannot decode but holds, none when it lacks one", () => {
  const ops = [opTagged("plain", 1), opTagged("batch", 2), opTagged("batch", 3), opTagged("plain", 4)];
  const holdsNone = () => false;
  const holdsUpTo = (seq: number) => (op: TestOp) => op.seq <= seq;
  assert.equal(opsForPeer(ops, ["map-batch"], featureOf, holdsNone), ops, "the same array: nothing copied");
  assert.equal(opsForPeer([ops[0]!, ops[3]!], [], featureOf, holdsNone)?.length, 2);
  assert.equal(opsForPeer(ops, [], featureOf, holdsNone), undefined);
  assert.equal(opsForPeer(ops, ["pubsub", "rga-ghosts"], featureOf, holdsUpTo(2)), undefined, "it lacks 3");
  assert.deepEqual(
    opsForPeer(ops, [], featureOf, holdsUpTo(3))?.map((op) => op.seq),
    [1, 4],
    "it holds 2 and 3: left out; plain ops go whatever it holds",
  );
  assert.deepEqual(opsForPeer([], [], featureOf, holdsNone), []);
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

test("an op the peer cannot decode but holds (its pull's vector covers it) is left out, and the session goes on", async (t) => {
  const network = createMemoryNetwork();
  const senderId = nodeIdFor("guard-sender-holds");
  const olderId = nodeIdFor("guard-older-holds");
  const log = recordingLogger();
  const engine = new SyncEngine(emptyReplica(senderId));
  // A NodeId: a version vector's keys are (the codec refuses others).
  const origin = nodeIdFor("guard-origin");
  const opOf = (tag: string, seq: number): TestOp => ({ ...opTagged(tag, seq), origin });
  const { peers: sender } = countingManager(
    senderId,
    network.transport({ ...baseOptions(), nodeId: senderId }),
    {
      engine,
      listen: "10.3.1.1:9001",
      logger: log,
      nowMs: () => Date.now(),
      opFeature: featureOf,
      opId: (op) => ({ origin: op.origin as NodeId, seq: op.seq }),
    },
  );
  // An older build that got origin o's ops up to 3 through a snapshot: its Hello says nothing of
  // them (an empty vector), its pull says 3.
  const received: TestOp[] = [];
  const { peers: older } = countingManager(
    olderId,
    network.transport({ ...baseOptions(), nodeId: olderId, features: [] }),
    {
      engine: new SyncEngine({
        ...emptyReplica(olderId, received),
        versionVector: () => new Map([[origin, 3]]),
      }),
      listen: "10.3.1.2:9001",
      nowMs: () => Date.now(),
    },
  );
  await Promise.all([sender.start(), older.start()]);
  t.after(() => Promise.all([sender.stop(), older.stop()]));
  older.addCandidate("10.3.1.1:9001", "static");
  await until(() => engine.reportedVectors().has(olderId), "the older peer's pull");

  sender.sendTo(olderId, { type: "PushOps", batchId: 1, ops: [opOf("batch", 3), opOf("plain", 4)] });
  await until(() => received.length === 1, "the plain op");
  assert.deepEqual(
    received.map((op) => op.seq),
    [4],
  );
  assert.equal(sender.connectedPeers().length, 1, "the session goes on");

  sender.sendTo(olderId, { type: "PushOps", batchId: 2, ops: [opOf("batch", 5)] });
  await log.waitFor(/runs a build that cannot read multi-field map ops/);
  await until(() => sender.connectedPeers().length === 0, "the end of the session: it lacks 5");
});

test("before the peer's first pull, its Hello's vector decides: an op it cannot decode but holds is left out of a repair at connect", async (t) => {
  const network = createMemoryNetwork();
  const senderId = nodeIdFor("guard-sender-hello");
  const olderId = nodeIdFor("guard-older-hello");
  const log = recordingLogger();
  const origin = nodeIdFor("guard-origin-hello");
  const opOf = (tag: string, seq: number): TestOp => ({ ...opTagged(tag, seq), origin });
  const { peers: sender } = countingManager(
    senderId,
    network.transport({ ...baseOptions(), nodeId: senderId }),
    {
      engine: new SyncEngine(emptyReplica(senderId)),
      listen: "10.3.2.1:9001",
      logger: log,
      nowMs: () => Date.now(),
      opFeature: featureOf,
      opId: (op) => ({ origin: op.origin as NodeId, seq: op.seq }),
    },
  );
  await sender.start();
  t.after(() => sender.stop());
  // An older build whose Hello says it holds origin o's ops up to 3 (a snapshot gave them), and
  // which has not pulled yet: what the engine's repair at connect meets.
  const older = await network
    .transport({ ...baseOptions(new Map([[origin, 3]])), nodeId: olderId, features: [] })
    .dial("10.3.2.1:9001");
  t.after(() => older.close("test done"));
  await until(() => sender.connectedPeers().length === 1, "the connection");

  sender.sendTo(olderId, { type: "PushOps", batchId: 1, ops: [opOf("batch", 3), opOf("plain", 4)] });
  sender.sendTo(olderId, { type: "PushOps", batchId: 2, ops: [opOf("batch", 4)] });
  const pushed: number[][] = [];
  for await (const message of older) {
    if (message.type === "PushOps") pushed.push(message.ops.map((op) => op.seq));
    if (message.type === "Error") break;
  }
  assert.deepEqual(pushed, [[4]], "3 left out (held), and nothing of the batch holding 4 (lacked)");
  await log.waitFor(/runs a build that cannot read multi-field map ops/);
});
