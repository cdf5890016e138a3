/**
 * An op already in the op-log that no longer fits one sync message (written before writes were
 * checked at the call, or before `max_message_size` was lowered) went out alone, was refused by
 * the sender's own framing (NET_FRAME_TOO_LARGE), taken as lost and sent again, for good. Now the
 * sender leaves it out of the peer's batches with one line (budgeted per peer, and
 * `numax_sync_ops_too_large_total`), and the ops after it go on. Real op-log: a node writes a
 * 40 KB value under 1 MiB, restarts under 16 KiB, and a peer under 16 KiB syncs from it, over
 * mTLS on LMDB stores.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { tempDir } from "../helpers/nx-process.ts";
import { type ServiceNode, startServiceNode } from "../helpers/sync-service-node.ts";
import { recordingLogger } from "../net/helpers/recording-logger.ts";
import { createTestCa } from "../net/helpers/test-pki.ts";

const dir = tempDir("nx-op-log-op-too-large-");
const running = new Set<ServiceNode>();
after(async () => {
  await Promise.all([...running].map((node) => node.stop()));
  dir.remove();
});

const text = (value: Uint8Array | undefined): string | undefined =>
  value === undefined ? undefined : new TextDecoder().decode(value);

test("an op-log op over a lowered max_message_size is left out with one line, and later ops still flow", async () => {
  const ca = await createTestCa();
  const tlsA = await ca.node("a");
  const first = await startServiceNode({
    datastore: `${dir.path}/a`,
    tls: tlsA,
    flags: { "limits.max_message_size": "1MiB" },
  });
  running.add(first);
  first.replica.lwwSet("before", new TextEncoder().encode("1"));
  first.replica.lwwSet("big", new Uint8Array(40 * 1024).fill(7));
  first.replica.lwwSet("between", new TextEncoder().encode("2"));
  first.replica.lwwSet("big too", new Uint8Array(40 * 1024).fill(8));
  running.delete(first);
  await first.stop();

  const logA = recordingLogger();
  const flags = { "limits.max_message_size": "16KiB" };
  const a = await startServiceNode({ datastore: `${dir.path}/a`, tls: tlsA, flags, logger: logA });
  running.add(a);
  const b = await startServiceNode({
    datastore: `${dir.path}/b`,
    tls: await ca.node("b"),
    peers: [a.port],
    flags,
  });
  running.add(b);
  await b.sink.until(() => text(b.replica.lwwGet("between")) === "2", "B holds the op after the large one");
  a.replica.lwwSet("after", new TextEncoder().encode("3"));
  await b.sink.until(
    () => text(b.replica.lwwGet("after")) === "3",
    "B holds an op written after the restart",
  );
  assert.equal(text(b.replica.lwwGet("before")), "1");
  assert.equal(b.replica.lwwGet("big"), undefined, "no frame B reads carries the large op");
  assert.equal(b.replica.lwwGet("big too"), undefined);

  const metrics = await a.metrics.render();
  assert.ok(Number(/^numax_sync_ops_too_large_total (\d+)$/m.exec(metrics)?.[1]) >= 2, metrics);
  assert.doesNotMatch(
    metrics,
    /numax_sync_errors_total\{kind="send"\} [1-9]/,
    "no frame refused by A's framing",
  );
  // One line for the first; the second, within OP_TOO_LARGE_LOG_INTERVAL_MS, is only counted.
  const lines = logA.lines.filter((line) => /does not fit one message to peer/.test(line.message));
  assert.equal(lines.length, 1, logA.lines.map((l) => l.message).join("\n"));
  assert.match(
    lines[0]!.message,
    new RegExp(
      `^op ${a.nodeId}:2 on key "big" \\(up to \\d+ bytes on the wire\\) does not fit one message to peer ${b.nodeId} \\(16256 bytes`,
    ),
  );
  assert.equal(lines[0]!.level, "warn");
});
