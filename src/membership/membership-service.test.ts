/**
 * The membership I/O half with a bounded set of connections: a member this node has no
 * connection to is left to the neighbours connected to it (the state machine probes only members
 * it is connected to or heard from), and an indirect probe asked of this node goes only through a
 * neighbour linked to the target.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { createVirtualClock } from "../clock/virtual-clock.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { MemberUpdate } from "../net/messages.ts";
import { silentLogger } from "../observe/logger.ts";
import { MembershipService } from "./membership-service.ts";
import type { MembershipMessage } from "./swim-membership.ts";
import { DEFAULT_SWIM_OPTIONS } from "./swim-options.ts";

const id = (n: number): NodeId => n.toString(16).padStart(32, "0") as NodeId;
const [A, B, C, D, E] = [1, 2, 3, 4, 5].map(id) as [NodeId, NodeId, NodeId, NodeId, NodeId];

const alive = (nodeId: NodeId): MemberUpdate => ({
  nodeId,
  address: `10.0.0.${parseInt(nodeId, 16)}:9000`,
  state: "alive",
  incarnation: 0,
  by: nodeId,
});

/** A at the centre: connected to B and C only; C says it is connected to D; nobody to E. */
function harness() {
  const clock = createVirtualClock();
  const sent: { peer: NodeId; message: MembershipMessage }[] = [];
  const connected = [B, C];
  const links = new Map<NodeId, NodeId[]>([[C, [A, D]]]);
  const membership = new MembershipService({
    self: A,
    swim: DEFAULT_SWIM_OPTIONS,
    peers: {
      connectedPeers: () =>
        connected.map((nodeId) => ({ nodeId, address: "x:1", features: ["membership"] as const })),
      sendTo: (peer, message) => sent.push({ peer, message }),
      neighboursLinkedTo: (target) => connected.filter((peer) => links.get(peer)?.includes(target)),
    },
    clock,
    random: () => 0,
    logger: silentLogger,
  });
  membership.start("10.0.0.1:9000");
  membership.connected(B);
  membership.connected(C);
  membership.received(B, { type: "MemberSync", members: [alive(B), alive(D), alive(E)] });
  membership.received(C, { type: "MemberSync", members: [alive(C)] });
  return { clock, sent, membership, connected };
}

test("a member with no connection is neither probed nor suspected by this node: its neighbours watch it", () => {
  const { clock, sent, membership } = harness();
  const before = sent.length;
  clock.advance(30 * DEFAULT_SWIM_OPTIONS.probeIntervalMs);
  for (const { peer, message } of sent.slice(before)) {
    assert.notEqual(peer, D, "nothing is sent to a member without a connection");
    if (message.type === "MemberPingReq")
      assert.notEqual(message.target, D, "nor a probe through a neighbour");
  }
  assert.equal(membership.members().find((m) => m.nodeId === D)?.state, "alive");
});

test("an indirect probe run for another node goes only through a neighbour linked to the target", () => {
  const { sent, membership } = harness();
  const before = sent.length;
  membership.received(B, { type: "MemberPingReq", seq: 41, target: D, updates: [] });
  const forD = sent.slice(before).filter(({ message }) => message.type === "MemberPingReq");
  assert.deepEqual(
    forD.map(({ peer, message }) => [peer, message.type === "MemberPingReq" && message.target]),
    [[C, D]],
  );
  const next = sent.length;
  membership.received(B, { type: "MemberPingReq", seq: 42, target: E, updates: [] });
  assert.deepEqual(
    sent.slice(next).filter(({ message }) => message.type === "MemberPingReq"),
    [],
    "no neighbour is linked to E: the request is not passed on at random (it nacks instead)",
  );
});
