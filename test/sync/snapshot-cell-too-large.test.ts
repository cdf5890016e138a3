/**
 * A snapshot cell too large for one message to the peer (a field written under a larger
 * `max_message_size` than the peer's) was left out while the snapshot's final vector still
 * covered it: the peer lacked the field for good, never asked again, and passed the loss on to
 * nodes snapshotting from it. Now such a snapshot ends without its vector: the peer claims none
 * of it, asks again at every anti-entropy round, and once it is restarted with a larger limit the
 * field arrives. Two SyncServices over mTLS on LMDB stores; A at 1 MiB with an op-log of 4 ops,
 * B at 16 KiB, then at 1 MiB.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { pollUntil, tempDir } from "../helpers/nx-process.ts";
import { type ServiceNode, startServiceNode } from "../helpers/sync-service-node.ts";
import { createTestCa } from "../net/helpers/test-pki.ts";

const dir = tempDir("nx-snapshot-cell-too-large-");
const running = new Set<ServiceNode>();
after(async () => {
  await Promise.all([...running].map((node) => node.stop()));
  dir.remove();
});

const LARGE_BYTES = 40 * 1024;
const field = (name: string) => new TextEncoder().encode(name);
const cellsLeftOut = async (node: ServiceNode): Promise<number> =>
  Number(/^numax_sync_snapshot_cells_too_large_total (\d+)$/m.exec(await node.metrics.render())?.[1]);

test("a snapshot leaving a cell out does not claim it; the peer asks again and gets it once its limit is raised", async () => {
  const ca = await createTestCa();
  const tlsB = await ca.node("b");
  const common = { "limits.op_log_limit": 4, "limits.anti_entropy_interval": "300ms" };
  const a = await startServiceNode({
    datastore: `${dir.path}/a`,
    tls: await ca.node("a"),
    flags: { ...common, "limits.max_message_size": "1MiB" },
  });
  running.add(a);
  a.replica.lwwMapSet("map", field("small"), new Uint8Array(10).fill(1));
  a.replica.lwwMapSet("map", field("large"), new Uint8Array(LARGE_BYTES).fill(7));
  // Four more ops: the large one leaves the op-log, so B needs a snapshot.
  for (let i = 0; i < 4; i++) a.replica.lwwSet(`k${i}`, new Uint8Array(4).fill(i));
  await a.replica.flushed();

  const small = await startServiceNode({
    datastore: `${dir.path}/b`,
    tls: tlsB,
    peers: [a.port],
    flags: { ...common, "limits.max_message_size": "16KiB" },
  });
  running.add(small);
  await small.sink.until(
    () =>
      small.replica.lwwMapGet("map", field("small")) !== undefined &&
      small.replica.lwwGet("k3") !== undefined,
    "B holds the rest of A's state",
    10_000,
  );
  assert.equal(small.replica.lwwMapGet("map", field("large")), undefined, "no message B reads carries it");
  // B asks again at its anti-entropy rounds (a snapshot each), and the cell is left out again.
  await pollUntil(
    () => cellsLeftOut(a),
    (count) => count >= 2,
    10_000,
  );
  assert.ok(
    (small.replica.versionVector().get(a.nodeId) ?? 0) < a.replica.versionVector().get(a.nodeId)!,
    `B's vector claims none of A's ops it may lack: ${JSON.stringify([...small.replica.versionVector()])}`,
  );
  assert.doesNotMatch(await a.metrics.render(), /numax_sync_errors_total\{kind="send"\} [1-9]/);
  running.delete(small);
  await small.stop();

  const b = await startServiceNode({
    datastore: `${dir.path}/b`,
    tls: tlsB,
    peers: [a.port],
    flags: { ...common, "limits.max_message_size": "1MiB" },
  });
  running.add(b);
  await b.sink.until(
    () => b.replica.lwwMapGet("map", field("large"))?.length === LARGE_BYTES,
    "B, restarted at 1 MiB, holds the field",
    10_000,
  );
  assert.equal(b.replica.lwwMapGet("map", field("large"))?.[0], 7);
  const vector = await pollUntil(
    async () => b.replica.versionVector(),
    (held) => held.get(a.nodeId) === a.replica.versionVector().get(a.nodeId),
    10_000,
  );
  assert.equal(vector.get(a.nodeId), a.replica.versionVector().get(a.nodeId));
});
