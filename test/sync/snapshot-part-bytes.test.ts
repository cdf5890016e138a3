/**
 * A node whose peer needs a snapshot (its ops were evicted from the op-log) sends the state in
 * PushState parts. Parts were cut at SNAPSHOT_PART_BYTES_MAX (4 MiB) whatever `max_message_size`:
 * under a lower limit the sender's own framing refused every part (NET_FRAME_TOO_LARGE), and the
 * peer, asking again at each anti-entropy round, never caught up. Two SyncServices over mTLS on
 * LMDB stores, `max_message_size` 64 KiB, 40 values of 4 KiB (160 KiB of state), an op-log of 4 ops.
 */
import { test } from "node:test";
import { serviceNodesIn } from "../helpers/sync-service-node.ts";
import { createTestCa } from "../net/helpers/test-pki.ts";

const VALUE_BYTES = 4096;
const KEYS = 40;

const start = serviceNodesIn("nx-snapshot-part-bytes-");

test("a snapshot larger than max_message_size arrives, in parts that fit", async () => {
  const ca = await createTestCa();
  const flags = { "limits.max_message_size": "64KiB", "limits.op_log_limit": 4 };
  const a = await start("a", { tls: await ca.node("a"), flags });
  for (let i = 0; i < KEYS; i++) a.replica.lwwSet(`k${i}`, new Uint8Array(VALUE_BYTES).fill(i));
  await a.replica.flushed();
  const b = await start("b", { tls: await ca.node("b"), peers: [a.port], flags });
  await b.sink.until(
    () =>
      Array.from({ length: KEYS }, (_, i) => b.replica.lwwGet(`k${i}`)).every(
        (value) => value?.length === VALUE_BYTES,
      ),
    "B holds A's whole state (a snapshot: the op-log kept 4 ops)",
    10_000,
  );
});
