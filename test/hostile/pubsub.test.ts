/**
 * Hostile module messages: a peer that sends a Publish with an invalid topic or an oversized
 * payload loses just that message (one clear log line per peer per 10 s, a counted drop); its
 * connection stays open and its ops still flow. A peer that did not announce `pubsub` is sent no
 * Publish.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { hlcFromPhysicalMs } from "../../src/crdt/hybrid-clock.ts";
import { makeOp } from "../../src/crdt/op.ts";
import { makeOpId } from "../../src/crdt/op-id.ts";
import { MESSAGE_PAYLOAD_MAX_BYTES } from "../../src/events/topic.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES, encodeFrame } from "../../src/net/frame.ts";
import type { Message } from "../../src/net/messages.ts";
import { WIRE_FEATURES } from "../../src/net/wire-features.ts";
import { createSyncMessageCodec } from "../../src/sync/crdt-op-codec.ts";
import { tempDir } from "../helpers/nx-process.ts";
import { type ServiceNode, startServiceNode } from "../helpers/sync-service-node.ts";
import { helloFrom, type RawPeer, rawPeer } from "../net/helpers/raw-peer.ts";
import { recordingLogger } from "../net/helpers/recording-logger.ts";
import type { TestOp } from "../net/helpers/test-op.ts";

const HOSTILE = "badbadbadbadbadbadbadbadbadbad00" as NodeId;
const QUIET = "0123456789abcdef0123456789abcdef" as NodeId;
const syncCodec = createSyncMessageCodec();

/** The first message of `type` the peer received, once it came. */
async function received<T extends Message<TestOp>["type"]>(
  peer: RawPeer,
  type: T,
): Promise<Extract<Message<TestOp>, { type: T }>> {
  for (let index = 0; ; index++) {
    await peer.frame(index);
    const message = peer.messages()[index];
    if (message.type === type) return message as Extract<Message<TestOp>, { type: T }>;
  }
}

async function connect(node: ServiceNode, nodeId: NodeId, features: readonly string[]): Promise<RawPeer> {
  const peer = await rawPeer(`127.0.0.1:${node.port}`);
  await peer.send(helloFrom(nodeId, { features }));
  await peer.frame(0);
  const ack = peer.messages()[0];
  assert.ok(ack.type === "HelloAck", ack.type);
  assert.deepEqual(ack.features, WIRE_FEATURES);
  return peer;
}

describe("hostile Publish messages", () => {
  const dir = tempDir("nx-hostile-pubsub-");
  const logger = recordingLogger();
  let node: ServiceNode;
  before(async () => {
    node = await startServiceNode({ datastore: dir.path, logger });
  });
  after(async () => {
    await node.stop();
    dir.remove();
  });

  test("an invalid topic or an oversized payload is dropped with one clear line; the connection and its ops go on", async () => {
    const peer = await connect(node, HOSTILE, ["pubsub"]);
    await peer.send({ type: "Publish", topic: "no spaces allowed", payload: new Uint8Array([1]) });
    await peer.send({ type: "Publish", topic: "chat/ok", payload: new Uint8Array([2]) });
    await peer.send({
      type: "Publish",
      topic: "chat/big",
      payload: new Uint8Array(MESSAGE_PAYLOAD_MAX_BYTES + 1),
    });
    await peer.send({ type: "Publish", topic: "*", payload: new Uint8Array([3]) });
    const op = makeOp(makeOpId(HOSTILE, 1), hlcFromPhysicalMs(Date.now()), "hits", {
      type: "gcounter_inc",
      slot: 5n,
    });
    await peer.write(
      encodeFrame(
        { format: "msgpack", body: syncCodec.encode({ type: "PushOps", batchId: 1, ops: [op] }, "msgpack") },
        DEFAULT_MAX_MESSAGE_SIZE_BYTES,
      ),
    );
    await peer.send({ type: "Publish", topic: "chat/ok", payload: new Uint8Array([4]) });

    await node.sink.until(() => node.sink.messages.length === 2, "the two valid messages");
    assert.deepEqual(
      node.sink.messages.map((m) => [m.from, m.topic, [...m.payload]]),
      [
        [HOSTILE, "chat/ok", [2]],
        [HOSTILE, "chat/ok", [4]],
      ],
    );
    assert.equal(node.replica.gcounterValue("hits"), 5n, "the op after the refused messages was applied");
    assert.deepEqual(node.sink.changes, [{ key: "hits", family: "gcounter", origin: HOSTILE }]);
    assert.deepEqual(await received(peer, "PushOpsAck"), { type: "PushOpsAck", batchId: 1, applied: 1 });
    assert.equal(peer.socket.destroyed, false, "the connection stays open");

    const lines = logger.lines.filter((line) => line.message.startsWith("dropped a Publish"));
    assert.deepEqual(
      lines.map((line) => [line.level, line.message]),
      [
        [
          "warn",
          `dropped a Publish from peer ${HOSTILE}: topic "no spaces allowed" is not a valid topic (1 to 256 ASCII letters, digits and _ - . : /) (the peer's module published what this node refuses; the connection stays open)`,
        ],
      ],
      "one line per peer per 10 s: the next two were counted",
    );
    assert.match(await node.metrics.render(), /numax_messages_dropped_total\{reason="invalid"\} 3\b/);
    peer.destroy();
  });

  test("an oversized payload is named in its line", async () => {
    const peer = await connect(node, "00000000000000000000000000000b16" as NodeId, ["pubsub"]);
    await peer.send({
      type: "Publish",
      topic: "chat/big",
      payload: new Uint8Array(MESSAGE_PAYLOAD_MAX_BYTES + 1),
    });
    const line = await logger.waitFor(/payload of 65537 bytes/);
    assert.match(
      line.message,
      /^dropped a Publish from peer 0{29}b16: payload of 65537 bytes on topic chat\/big exceeds MESSAGE_PAYLOAD_MAX_BYTES \(65536 bytes\)/,
    );
    peer.destroy();
  });

  test("messages for a peer that stops reading are dropped and counted, not queued", async () => {
    const slow = await connect(node, "5105105105105105105105105105105a" as NodeId, ["pubsub"]);
    await node.sink.until(
      () => node.service.peers.connectedPeers().some((p) => p.nodeId === "5105105105105105105105105105105a"),
      "the slow peer",
    );
    slow.socket.pause();
    const payload = new Uint8Array(MESSAGE_PAYLOAD_MAX_BYTES);
    let sent = 0;
    // Loopback socket buffers hold some megabytes; past them and PUBLISH_BACKLOG_BYTES_MAX the peer gets nothing more.
    for (let i = 0; i < 5000 && node.service.publish("bulk/x", payload) === 1; i++) {
      sent++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(sent < 5000, `publishing stopped reaching the slow peer (after ${sent} messages)`);
    assert.equal(node.service.publish("bulk/x", payload), 0, "still backed up");
    assert.match(await node.metrics.render(), /numax_messages_dropped_total\{reason="backlog"\} [1-9]/);
    slow.destroy();
  });

  test("publishing what peers would refuse is a bug of the caller: it throws and sends nothing", () => {
    assert.throws(() => node.service.publish("no spaces", new Uint8Array(1)), RangeError);
    assert.throws(
      () => node.service.publish("chat", new Uint8Array(MESSAGE_PAYLOAD_MAX_BYTES + 1)),
      /a payload of at most 65536 bytes, got topic "chat" and 65537 bytes/,
    );
  });

  test("a peer that did not announce pubsub is sent no Publish; one that did gets it", async () => {
    const quiet = await connect(node, QUIET, []);
    const listener = await connect(node, "1111111111111111111111111111111f" as NodeId, ["pubsub"]);
    await node.sink.until(
      () => node.service.peers.connectedPeers().length === 2,
      "the two peers, and the earlier ones gone",
    );
    assert.equal(node.service.publish("chat/all", new Uint8Array([9])), 1);
    const publish = await received(listener, "Publish");
    assert.deepEqual([publish.topic, [...publish.payload]], ["chat/all", [9]]);
    await quiet.send({ type: "Ping", nonce: 1 });
    await received(quiet, "Pong");
    assert.ok(
      quiet.messages().every((m) => m.type !== "Publish"),
      "the quiet peer got no Publish",
    );
    quiet.destroy();
    listener.destroy();
  });
});
