/**
 * A peer that needs a snapshot (its ops were evicted from the op-log) gets the state in PushState
 * parts within `max_message_size`. A part held one object at least, so an object whose state
 * alone was larger (a map of many large fields) went in a part over the limit, which the sender's
 * own framing refused: the peer never got that object, and when it was in the last part it never
 * got the vector either and asked again at every anti-entropy round. Now such an object's cells
 * are spread over several parts (the receiver merges a part cell by cell: parts of an object's
 * cells, in order, do what the whole does). Two SyncServices over mTLS on LMDB stores,
 * `max_message_size` 64 KiB, one LWW map of 40 fields of 4 KiB (160 KiB of state), an op-log of
 * 4 ops.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pollUntil } from "../helpers/nx-process.ts";
import { serviceNodesIn } from "../helpers/sync-service-node.ts";
import { createTestCa } from "../net/helpers/test-pki.ts";

const VALUE_BYTES = 4096;
const FIELDS = 40;

const start = serviceNodesIn("nx-snapshot-object-bytes-");
const field = (i: number) => new TextEncoder().encode(`f${i}`);

test("an object whose state is larger than max_message_size arrives in a snapshot, over several parts", async () => {
  const ca = await createTestCa();
  const flags = { "limits.max_message_size": "64KiB", "limits.op_log_limit": 4 };
  const a = await start("a", { tls: await ca.node("a"), flags });
  for (let i = 0; i < FIELDS; i++) a.replica.lwwMapSet("map", field(i), new Uint8Array(VALUE_BYTES).fill(i));
  a.replica.lwwSet("small", new TextEncoder().encode("s"));
  await a.replica.flushed();
  const b = await start("b", { tls: await ca.node("b"), peers: [a.port], flags });
  await b.sink.until(
    () => b.replica.lwwMapEntries("map").length === FIELDS && b.replica.lwwGet("small") !== undefined,
    "B holds A's whole state (a snapshot: the op-log kept 4 ops)",
    10_000,
  );
  for (let i = 0; i < FIELDS; i++) assert.equal(b.replica.lwwMapGet("map", field(i))?.[0], i);
  // The final part carries the vector: B holds everything A's state holds.
  const vector = await pollUntil(
    async () => b.replica.versionVector(),
    (held) => held.get(a.nodeId) === a.replica.versionVector().get(a.nodeId),
    10_000,
  );
  assert.deepEqual(vector, a.replica.versionVector());
  assert.doesNotMatch(await a.metrics.render(), /numax_sync_errors_total\{kind="send"\} [1-9]/);
});
