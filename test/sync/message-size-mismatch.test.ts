/**
 * Nodes with different `max_message_size`: a PushOps between the two limits, sent by the node
 * with the larger one, was over the receiver's limit; the receiver ended the connection (the frame
 * refused before it was read), the sender redialed and sent the same batch again: a reconnect
 * loop, no op delivered, and no line saying why. Now each node announces its limit in its
 * handshake and the other cuts what it sends to it. Two SyncServices over mTLS on LMDB stores,
 * `max_message_size` 1 MiB and 64 KiB.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { serviceNodesIn } from "../helpers/sync-service-node.ts";
import { recordingLogger } from "../net/helpers/recording-logger.ts";
import { createTestCa } from "../net/helpers/test-pki.ts";

/** 400 writes of 1 KiB, in one commit: one batch of about 560 KB as the sender counts ops, over 64 KiB. */
const WRITES = 400;
const VALUE_BYTES = 1024;

const start = serviceNodesIn("nx-message-size-mismatch-");

const counter = (text: string, name: string): number =>
  Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? Number.NaN);

test("nodes with different max_message_size converge on batches between the two limits, in one connection", async () => {
  const ca = await createTestCa();
  const bigLog = recordingLogger();
  const big = await start("big", {
    tls: await ca.node("big"),
    flags: { "limits.max_message_size": "1MiB" },
    logger: bigLog,
  });
  const small = await start("small", {
    tls: await ca.node("small"),
    peers: [big.port],
    flags: { "limits.max_message_size": "64KiB" },
  });
  await small.sink.until(() => small.service.peers.connectedPeers().length === 1, "the nodes connected");

  const value = new Uint8Array(VALUE_BYTES).fill(1);
  for (let i = 0; i < WRITES; i++) big.replica.lwwSet(`k${i}`, value);
  small.replica.lwwSet("from-small", value);
  // Each node's sink wakes its own wait: a wait on both from one sink missed the other's last write.
  await small.sink.until(
    () => small.replica.lwwGet(`k${WRITES - 1}`) !== undefined,
    "the small node holds every write of the big one",
    20_000,
  );
  await big.sink.until(
    () => big.replica.lwwGet("from-small") !== undefined,
    "the big node holds the small one's write",
  );
  for (let i = 0; i < WRITES; i++) assert.ok(small.replica.lwwGet(`k${i}`), `k${i} reached the small node`);

  // One connection for the whole exchange: no refusal, no redial.
  const smallMetrics = await small.metrics.render();
  const bigMetrics = await big.metrics.render();
  assert.equal(counter(smallMetrics, "numax_peer_connects_total"), 1, smallMetrics);
  assert.equal(counter(bigMetrics, "numax_peer_connects_total"), 1);
  assert.equal(counter(bigMetrics, "numax_peer_disconnects_total"), 0);
  assert.doesNotMatch(bigMetrics, /numax_sync_errors_total\{kind="send"\} [1-9]/);
  // The one line that says why the batches are smaller.
  const said = bigLog.lines.filter((line) => /reads messages of up to 65536 bytes/.test(line.message));
  assert.equal(said.length, 1, bigLog.lines.map((l) => l.message).join("\n"));
  assert.match(said[0]!.message, new RegExp(`^peer ${small.nodeId} .*less than this node's 1048576`));
});
