/**
 * The engine advances a repair's (and a continued pull answer's) mark per origin to the highest
 * sequence it sent, so `opsSince` must return each origin's ops as a run right after the
 * vector: an op it cut off while sending a later one of the same origin was skipped until the
 * peer's next anti-entropy pull (30 s). A local LWW op amended before its flush (same sequence,
 * newer stamp) sorts after later ops by its stamp. Real ReplicatedStates (memory stores), the
 * real adapter, messages delivered in order, no time passing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Op } from "../crdt/op.ts";
import { decodeText, NODE_A, NODE_B, NODE_C, text } from "../crdt/testing/test-ops.ts";
import type { NodeId } from "../identity/node-id.ts";
import { createMemoryBackend } from "../store/memory-backend.ts";
import { openReplicatedState } from "./replica/replicated-state.ts";
import { replicaForSync } from "./replica-sync-adapter.ts";
import { type Outgoing, SyncEngine } from "./sync-engine.ts";

function node(nodeId: NodeId) {
  return openReplicatedState({ backend: createMemoryBackend(), nodeId, nowMs: () => 1_000_000 });
}

test("an amended op stamped after a later op of its origin is not skipped by a pull answered in parts", () => {
  const c = node(NODE_C);
  c.lwwSet("z", text("0"));
  c.flush();
  const a = node(NODE_A);
  a.applyRemote(c.opsSince(new Map(), 1)); // an op of another origin, stamped before A's
  a.lwwSet("x", text("1"));
  a.lwwSet("y", text("2"));
  a.lwwSet("x", text("3")); // amends seq 1: the same OpId, stamped after seq 2
  a.flush();
  assert.deepEqual(
    a.opsSince(new Map(), 2).map((op) => `${op.origin === NODE_A ? "a" : "c"}${op.id.seq}`),
    ["c1", "a1"],
    "each origin's ops in sequence order, whatever their stamps",
  );

  const b = node(NODE_B);
  const engines = new Map<NodeId, SyncEngine<Op>>([
    [NODE_A, new SyncEngine(replicaForSync(a), { pullLimit: 2 })],
    [NODE_B, new SyncEngine(replicaForSync(b), { pullLimit: 2 })],
  ]);
  const queue: { from: NodeId; out: Outgoing<Op> }[] = [];
  const send = (from: NodeId, outs: Outgoing<Op>[]) => {
    for (const out of outs) queue.push({ from, out });
  };
  send(NODE_A, engines.get(NODE_A)!.peerConnected(NODE_B, 0));
  send(NODE_B, engines.get(NODE_B)!.peerConnected(NODE_A, 0));
  for (let steps = 0; queue.length > 0 && steps < 100; steps++) {
    const { from, out } = queue.shift()!;
    send(out.peer, engines.get(out.peer)!.receive(from, out.message, 0));
  }
  assert.equal(decodeText(b.lwwGet("x")!), "3", "B got the amended op without another pull");
  assert.equal(decodeText(b.lwwGet("y")!), "2");
  assert.equal(decodeText(b.lwwGet("z")!), "0");
});
