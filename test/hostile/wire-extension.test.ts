import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { hlcFromPhysicalMs } from "../../src/crdt/hybrid-clock.ts";
import { makeOp } from "../../src/crdt/op.ts";
import { makeOpId } from "../../src/crdt/op-id.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES, encodeFrame } from "../../src/net/frame.ts";
import { msgpackPayloadCodec } from "../../src/net/msgpack-payload-codec.ts";
import { createSyncMessageCodec } from "../../src/sync/crdt-op-codec.ts";
import { pushOpsWithLargeBatchId } from "../helpers/hostile-push-ops.ts";
import { getJson, guestPath, pollUntil, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "../helpers/sync-node.ts";
import { helloFrom, rawPeer } from "../net/helpers/raw-peer.ts";

const COUNTER = guestPath("counter_loop");
const root = tempDir("nx-wire-extension-");
const nodes = syncNodeTracker();
after(async () => {
  await nodes.stopAll();
  root.remove();
});

const GOOD = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a000" as NodeId;
const codec = createSyncMessageCodec();
const HOSTILE = "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e000" as NodeId;
/** One BigInt extension of 4 MiB took 59-72 ms to decode (`npm run bench -- wire`, hostile_bigint_ext). */
const BIGINT_BYTES = 4 * 1024 * 1024;

/** `{ type: "PushOps", batchId: <a 4 MiB msgpackr BigInt extension>, ops: [] }`, framed. */
function bigIntPushOpsFrame(): Uint8Array {
  return encodeFrame(
    { format: "msgpack", body: pushOpsWithLargeBatchId(0x42, BIGINT_BYTES) },
    DEFAULT_MAX_MESSAGE_SIZE_BYTES,
  );
}

async function vectorOf(node: SyncNode, origin: string): Promise<number> {
  const body = (await getJson(`${node.url}/v1/node`)) as { sync: { versionVector: Record<string, number> } };
  return body.sync.versionVector[origin] ?? 0;
}

describe("a peer that sends a MessagePack extension", { timeout: 120_000 }, () => {
  test("is refused in one line, and the node keeps syncing with its good peer", async () => {
    const a = await nodes.node({
      datastore: datastoreOf(root.path, "a"),
      guest: COUNTER,
      env: { NX_COUNT: "1" },
    });
    const b = await nodes.node({
      datastore: datastoreOf(root.path, "b"),
      guest: COUNTER,
      peers: [a.port],
      env: { NX_COUNT: "2" },
    });
    await a.nx.waitFor(new RegExp(`connected to peer ${b.nodeId}`));

    // A hand-driven peer past the handshake (plaintext: any NodeId gets in), over real TCP.
    const peer = await rawPeer(`127.0.0.1:${a.port}`);
    await peer.send(helloFrom(HOSTILE));
    await peer.frame(0);
    await peer.write(bigIntPushOpsFrame()).catch(() => {});
    await peer.closed;
    // The node's last frame before it closed (the ones before may be its own PushOps).
    const reply = msgpackPayloadCodec.decode(peer.frames.at(-1)?.body ?? new Uint8Array([0xc0])) as {
      type?: string;
      code?: string;
    } | null;
    assert.equal(reply?.type, "Error", JSON.stringify(reply));
    assert.equal(reply?.code, "malformed", JSON.stringify(reply));

    // The refusal names the extension: before the fix the BigInt was decoded (59-72 ms for 4 MiB)
    // and only the schema then refused the batchId.
    const refusal = new RegExp(
      `connection to peer ${HOSTILE} ended: .*extension type 0x42 is not part of the wire protocol`,
    );
    await a.nx.waitFor(refusal, 10_000);
    assert.equal(
      a.nx
        .stderr()
        .split("\n")
        .filter((line) => line.includes(HOSTILE) && line.includes("ended")).length,
      1,
      a.nx.stderr(),
    );

    // a keeps syncing: ops a well-behaved peer pushes to a afterwards reach b through a.
    const good = await rawPeer(`127.0.0.1:${a.port}`);
    await good.send(helloFrom(GOOD));
    await good.frame(0);
    const stamp = hlcFromPhysicalMs(Date.now());
    const ops = [1, 2, 3].map((seq) =>
      makeOp(makeOpId(GOOD, seq), stamp, "visits", { type: "gcounter_inc", slot: BigInt(seq) }),
    );
    const body = codec.encode({ type: "PushOps", batchId: 1, ops }, "msgpack");
    await good.write(encodeFrame({ format: "msgpack", body }, DEFAULT_MAX_MESSAGE_SIZE_BYTES));
    const relayed = await pollUntil(
      () => vectorOf(b, GOOD),
      (seq) => seq === ops.length,
      30_000,
    );
    good.destroy();
    assert.equal(relayed, ops.length, "b got the good peer's ops through a");
    assert.doesNotMatch(a.nx.stderr(), new RegExp(`connection to peer ${b.nodeId} ended`));
  });
});
