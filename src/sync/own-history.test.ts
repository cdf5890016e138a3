import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NODE_A, NODE_B } from "../crdt/testing/test-ops.ts";
import { ownOpsBehindPeers } from "./own-history.ts";

describe("ownOpsBehindPeers", () => {
  const peers = (...seqs: number[]) => seqs.map((seq) => ({ announcedVector: new Map([[NODE_A, seq]]) }));

  test("how far the peers' highest announcement of this node's ops runs ahead of its own", () => {
    assert.equal(ownOpsBehindPeers(NODE_A, 0, peers(4, 9, 2)), 9);
    assert.equal(ownOpsBehindPeers(NODE_A, 7, peers(4, 9)), 2);
  });

  test("0 when this node holds everything, when peers know less, or know nothing of it", () => {
    assert.equal(ownOpsBehindPeers(NODE_A, 9, peers(9)), 0);
    assert.equal(ownOpsBehindPeers(NODE_A, 12, peers(9)), 0);
    assert.equal(ownOpsBehindPeers(NODE_B, 0, peers(9)), 0);
    assert.equal(ownOpsBehindPeers(NODE_A, 0, []), 0);
  });
});
