import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { outboundTarget, rotationVictim } from "./connection-bound.ts";

test("a cluster that fits in the bound is a full mesh; a larger one dials fewer than half the bound", () => {
  assert.equal(outboundTarget(8, 0), 8);
  assert.equal(outboundTarget(8, 8), 8);
  assert.equal(outboundTarget(8, 9), 3);
  assert.equal(outboundTarget(5, 7), 2);
  fc.assert(
    fc.property(fc.integer({ min: 5, max: 1024 }), fc.integer({ min: 0, max: 2048 }), (bound, candidates) => {
      const target = outboundTarget(bound, candidates);
      // Two ends of every dialed connection: N nodes dialing `target` each use at most 2·N·target
      // slots of N·bound, so one node always has room for one more.
      if (candidates > bound) assert.ok(target >= 2 && 2 * target < bound);
      else assert.equal(target, bound, "every candidate is dialed");
    }),
    { seed: 16 },
  );
});

test("a rotation closes the oldest connection whose peer has another path, never a peer's only one", () => {
  assert.equal(
    rotationVictim([
      { peer: "a", sinceMs: 1, peerLinks: 1 },
      { peer: "b", sinceMs: 2, peerLinks: undefined },
      { peer: "c", sinceMs: 5, peerLinks: 3 },
      { peer: "d", sinceMs: 4, peerLinks: 2 },
    ]),
    "d",
  );
  assert.equal(rotationVictim([{ peer: "a", sinceMs: 1, peerLinks: 1 }]), undefined);
});
