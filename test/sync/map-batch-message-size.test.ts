/**
 * A multi-field map op (`[sync] coalesce_map_writes`) of two or more entries is cut at what the
 * smallest `max_message_size` a peer may announce carries (MAP_BATCH_BYTES_MAX), not at the writing
 * node's own budget: a peer with a smaller limit could not be sent a larger one and would lack every
 * field in it (left out of its batches, docs/design/op-size.md), where the same writes as ops of
 * their own reach it. Real LMDB, mTLS, TCP.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { resolveConfigLayers } from "../../src/config/resolve.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { createNodeMetrics } from "../../src/observe/metrics.ts";
import { openLmdbBackend } from "../../src/store/lmdb-backend.ts";
import { openReplicatedState } from "../../src/sync/replica/replicated-state.ts";
import { SyncService } from "../../src/sync/sync-service.ts";
import { tempDir } from "../helpers/nx-process.ts";
import { startServiceNode } from "../helpers/sync-service-node.ts";
import { createTestCa } from "../net/helpers/test-pki.ts";

const dir = tempDir("nx-map-batch-message-size-");
const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const stop of stops) await stop();
  dir.remove();
});

const FIELDS = 500;
const encode = (text: string) => new TextEncoder().encode(text);

for (const coalesce of [true, false]) {
  test(`${FIELDS} map writes under 1 MiB to a peer under 16 KiB, coalesce_map_writes ${coalesce}: every one arrives`, async () => {
    const ca = await createTestCa();
    const tls = await ca.node(`writer-${coalesce}`);
    const datastore = `${dir.path}/writer-${coalesce}`;
    const { config } = resolveConfigLayers({
      flags: {
        "storage.datastore_path": datastore,
        "network.listen": "127.0.0.1:0",
        "limits.max_message_size": "1MiB",
        "sync.coalesce_map_writes": coalesce,
      },
    });
    const backend = await openLmdbBackend({ path: datastore });
    const replica = openReplicatedState({ backend, nodeId: tls.nodeId, coalesceMapWrites: coalesce });
    const metrics = createNodeMetrics({ version: "test", processMetrics: false });
    const service = await SyncService.start({
      config,
      replica,
      tls,
      nodeId: tls.nodeId,
      logger: silentLogger,
      metrics,
    });
    stops.push(async () => {
      await service.stop();
      await replica.close();
      await backend.close();
    });
    const port = Number(service.peers.listenAddress()!.split(":").at(-1));
    const peer = await startServiceNode({
      datastore: `${dir.path}/peer-${coalesce}`,
      tls: await ca.node(`peer-${coalesce}`),
      peers: [port],
      flags: { "limits.max_message_size": "16KiB" },
    });
    stops.unshift(() => peer.stop());

    for (let i = 0; i < FIELDS; i++) replica.lwwMapSet("m", encode(`field-${i}`), encode(`value-${i}`));
    replica.flush();
    replica.lwwSet("after", encode("1"));
    await peer.sink.until(() => peer.replica.lwwGet("after") !== undefined, "the op after the map writes");
    await peer.sink.until(() => peer.replica.lwwMapEntries("m").length === FIELDS, "every field");
    const tooLarge = Number(/^numax_sync_ops_too_large_total (\d+)$/m.exec(await metrics.render())?.[1]);
    assert.equal(tooLarge, 0);
    // Coalesced, the writes still shared ops: fewer than one each (the lwwSet after them is one more).
    const ops = replica.versionVector().get(tls.nodeId) ?? 0;
    if (coalesce) assert.ok(ops < FIELDS / 10, `${ops} ops for ${FIELDS} writes`);
    else assert.equal(ops, FIELDS + 1);
  });
}
