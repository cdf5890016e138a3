import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeId } from "../identity/node-id.ts";
import { convergenceView, DIVERGENCE_SUSPECT_ROUNDS } from "./convergence.ts";

const [A, B, C, D] = ["a", "b", "c", "d"].map((c) => c.repeat(32) as NodeId) as [
  NodeId,
  NodeId,
  NodeId,
  NodeId,
];
const NOW = 1_800_000_000_000;
const INTERVAL = 500;

test("lag both ways from each peer's latest report; divergence suspected only once the report is stale", () => {
  const view = convergenceView({
    nodeId: A,
    versionVector: new Map([
      [A, 10],
      [B, 4],
    ]),
    peers: [
      { address: "127.0.0.1:1", nodeId: B, state: "connected" },
      { address: "127.0.0.1:2", nodeId: C, state: "connected" },
      { address: "127.0.0.1:3", nodeId: undefined, state: "backoff" },
    ],
    reported: new Map([
      // fresh, behind by 2 of A's ops: a healthy peer between rounds
      [
        B,
        {
          vector: new Map([
            [A, 8],
            [B, 4],
          ]),
          atMs: NOW - INTERVAL,
        },
      ],
      // stale and behind: partitioned
      [
        C,
        {
          vector: new Map([
            [A, 7],
            [B, 4],
            [C, 3],
          ]),
          atMs: NOW - DIVERGENCE_SUSPECT_ROUNDS * INTERVAL - 1,
        },
      ],
      // gone from the peer list, in step
      [
        D,
        {
          vector: new Map([
            [A, 10],
            [B, 4],
          ]),
          atMs: NOW - 60_000,
        },
      ],
    ]),
    antiEntropyIntervalMs: INTERVAL,
    nowMs: NOW,
  });
  assert.equal(view.suspectAfterMs, DIVERGENCE_SUSPECT_ROUNDS * INTERVAL);
  assert.deepEqual(
    view.peers.map(({ nodeId, state, missingOps, extraOps, suspectedDivergence }) => [
      nodeId,
      state,
      missingOps,
      extraOps,
      suspectedDivergence,
    ]),
    [
      [B, "connected", 2, 0, false],
      [C, "connected", 3, 3, true],
      [D, null, 0, 0, false],
    ],
  );
  assert.equal(view.suspectedDivergence, true);
  assert.equal(view.peers[1]!.reportAgeMs, DIVERGENCE_SUSPECT_ROUNDS * INTERVAL + 1);
  assert.deepEqual(view.peers[1]!.versionVector, { [A]: 7, [B]: 4, [C]: 3 });
});

test("a peer that never reported has no figures and is not suspected", () => {
  const view = convergenceView({
    nodeId: A,
    versionVector: new Map([[A, 1]]),
    peers: [{ address: "127.0.0.1:1", nodeId: B, state: "connecting" }],
    reported: new Map(),
    antiEntropyIntervalMs: INTERVAL,
    nowMs: NOW,
  });
  assert.deepEqual(view.peers[0], {
    nodeId: B,
    address: "127.0.0.1:1",
    state: "connecting",
    versionVector: null,
    reportedAt: null,
    reportAgeMs: null,
    missingOps: null,
    extraOps: null,
    suspectedDivergence: false,
  });
  assert.equal(view.suspectedDivergence, false);
});
