/**
 * An op larger than one sync message (`max_message_size` less the PushOps envelope) went out
 * alone, was refused by the sender's own framing (NET_FRAME_TOO_LARGE), taken as lost and sent
 * again for good: never delivered. Now such a write is refused before anything changes
 * (CRDT_OP_TOO_LARGE; the ABI answers -10), and an ORSet remove whose tags do not fit one message
 * goes as several removes that do. Two SyncServices over mTLS on LMDB stores, `max_message_size`
 * 64 KiB.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { serviceNodesIn } from "../helpers/sync-service-node.ts";
import { createTestCa } from "../net/helpers/test-pki.ts";

/** About 24 bytes per tag in MessagePack: 5 000 tags make a remove of about 120 KB, over 64 KiB. */
const ADDS = 5_000;

const start = serviceNodesIn("nx-op-too-large-");

test("a write over one sync message is refused, an ORSet remove over it is split: delivered, never re-sent", async () => {
  const ca = await createTestCa();
  const flags = { "limits.max_message_size": "64KiB" };
  const a = await start("a", { tls: await ca.node("a"), flags });
  const b = await start("b", { tls: await ca.node("b"), peers: [a.port], flags });

  a.replica.lwwSet("doc", new TextEncoder().encode("v1"));
  await b.sink.until(() => b.replica.lwwGet("doc") !== undefined, "B holds the first write", 10_000);

  assert.throws(
    () => a.replica.lwwSet("doc", new Uint8Array(100 * 1024).fill(7)),
    (error: Error & { code?: string }) =>
      error.code === "CRDT_OP_TOO_LARGE" && /"doc".*up to \d+ bytes.*over the 65408/.test(error.message),
  );
  assert.equal(new TextDecoder().decode(a.replica.lwwGet("doc")), "v1", "the refused write changed nothing");

  const element = new TextEncoder().encode("e");
  for (let i = 0; i < ADDS; i++) a.replica.orsetAdd("set", element);
  await b.sink.until(() => b.replica.orsetContains("set", element), "B holds the element", 10_000);
  a.replica.orsetRemove("set", element);
  a.replica.lwwSet("doc", new TextEncoder().encode("v2"));
  await b.sink.until(
    () =>
      !b.replica.orsetContains("set", element) && new TextDecoder().decode(b.replica.lwwGet("doc")) === "v2",
    "B took the remove of every tag and the write after it",
    10_000,
  );
  // A batch the sender's framing refuses is a send error (NET_FRAME_TOO_LARGE). A batch can still
  // be counted lost when a loaded machine holds its ack past 2 s: that is not what is checked.
  assert.doesNotMatch(await a.metrics.render(), /numax_sync_errors_total\{kind="send"\} [1-9]/);
});
