/**
 * A node holding multi-field map ops (`lww_map_batch`) against a flood of NodeIds claimed over
 * plain TCP (`--tls-insecure`, where a NodeId is whatever a Hello says): each dialer without the
 * wire feature `map-batch` whose vector lacks those ops is refused at the handshake, whatever
 * NodeId it claims, and the node remembers none of them: the same NodeId announcing a vector that
 * covers the ops is accepted. A node used to remember, until it restarted, every NodeId it had
 * ended a session with for such an op, so a dialer could grow that memory by one NodeId a dial.
 * Real processes, TCP and LMDB; the dialers are this build's TCP transport, announcing no feature
 * (as Numax 0.1.0 does).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { guestModulePath } from "../bench/gate/guest-modules.ts";
import type { NodeId } from "../src/identity/node-id.ts";
import { createTcpTransport } from "../src/net/tcp-transport.ts";
import { createSyncMessageCodec } from "../src/sync/crdt-op-codec.ts";
import { freePort, getJson, pollUntil, REPO_ROOT, tempDir } from "./helpers/nx-process.ts";
import { type SyncNode, syncNodeTracker } from "./helpers/sync-node.ts";
import { nodeIdFor } from "./net/transport-contract.ts";

const COUNTER_GUEST = join(REPO_ROOT, "test/fixtures/releases/0.1.0/guests/counter_load.wasm");
const MAP_GUEST = guestModulePath("counter_load");
const MAP_KEY = "fields";
/** More NodeIds than any per-peer table of the node keeps (REFUSAL_LOG_SOURCES_MAX: 256). */
const CLAIMED_IDS = 400;
const SYNC_WAIT_MS = 30_000;
const HELD_OP_REFUSAL = /refused inbound connection from .*node [0-9a-f]{32} holds such an op/;

describe("a node holding multi-field map ops, dialed under many claimed NodeIds", {
  timeout: 180_000,
}, () => {
  const root = tempDir("nx-map-batch-ids-");
  const nodes = syncNodeTracker();
  after(async () => {
    await nodes.stopAll();
    root.remove();
  });
  const vectorOf = async (node: SyncNode): Promise<Map<NodeId, number>> => {
    const body = (await getJson(`${node.url}/v1/node`)) as {
      sync: { versionVector: Record<string, number> };
    };
    return new Map(Object.entries(body.sync.versionVector) as [NodeId, number][]);
  };
  const fieldsOf = async (node: SyncNode): Promise<number> => {
    const body = (await getJson(`${node.url}/v1/crdt/lww-map/${MAP_KEY}`)) as {
      entries?: Record<string, unknown>;
    };
    return Object.keys(body.entries ?? {}).length;
  };
  /** Dials `node` as `claimed`, a build without map-batch at `vector`: the connection, or the refusal. */
  const dialAs = (node: SyncNode, claimed: NodeId, vector: ReadonlyMap<NodeId, number>) =>
    createTcpTransport({
      nodeId: claimed,
      codec: createSyncMessageCodec(),
      versionVector: () => vector,
      features: [],
      limits: { socketTimeoutMs: 5000 },
    }).dial(`127.0.0.1:${node.port}`, AbortSignal.timeout(5000));

  test("each claimed NodeId lacking the ops is refused at the handshake; none is remembered", async () => {
    const [aPort, bPort] = [await freePort(), await freePort()];
    // b: the switch off, holding a's multi-field ops.
    const b = await nodes.node({
      datastore: join(root.path, "b"),
      guest: COUNTER_GUEST,
      port: bPort,
      peers: [aPort],
      env: { NX_GATE_RATE: "20", NX_GATE_DURATION_MS: "600000", NX_GATE_COUNTER_KEY: "b" },
    });
    const a = await nodes.node({
      datastore: join(root.path, "a"),
      guest: MAP_GUEST,
      port: aPort,
      peers: [bPort],
      env: {
        NX_GATE_RATE: "500",
        NX_GATE_DURATION_MS: "1000",
        NX_GATE_COUNTER_KEY: MAP_KEY,
        NX_GATE_KEYS: "1000000",
        NX_GATE_FIELD_PREFIX: "a-",
        NX_GATE_MIN_PEERS: "1",
      },
      args: ["--sync-coalesce-map-writes"],
    });
    const written = Number((await a.nx.waitFor(/@gate \{"type":"final","done":(\d+)/, SYNC_WAIT_MS))[1]);
    await pollUntil(
      () => fieldsOf(b),
      (n) => n === written,
      SYNC_WAIT_MS,
    );
    await nodes.stop(a);

    const claimed = Array.from({ length: CLAIMED_IDS }, (_, i) => nodeIdFor(`claimed-${i}`));
    for (const id of claimed) {
      await assert.rejects(dialAs(b, id, new Map()), (error: Error) => {
        assert.match(error.message, /refused the connection \(rejected\): .*holds such an op/);
        return true;
      });
    }
    assert.ok(b.nx.child.exitCode === null, "b keeps running");
    const refusalLines = () =>
      (b.nx.stderr() + b.nx.stdout()).split("\n").filter((l) => HELD_OP_REFUSAL.test(l));
    assert.equal(refusalLines().length, 1, `one line for ${CLAIMED_IDS} refusals from one address`);

    // The first NodeId of the flood, now at a vector that covers a's ops: accepted, a session.
    const covering = await vectorOf(b);
    const connection = await dialAs(b, claimed[0]!, covering);
    try {
      assert.equal(connection.remoteNodeId, b.nodeId);
      // It stays up: b pulls from it (nothing it could not read is sent).
      const first = await connection[Symbol.asyncIterator]().next();
      assert.equal(first.done, false);
    } finally {
      await connection.close("test done");
    }
  });
});
