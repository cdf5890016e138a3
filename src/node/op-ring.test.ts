import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NodeId } from "../identity/node-id.ts";
import { OP_RING_PAGE_MAX, OpRing, opFlowQueryOf } from "./op-ring.ts";

const A = "a1".padEnd(32, "0") as NodeId;
const B = "b2".padEnd(32, "0") as NodeId;

function op(key: string, direction: "in" | "out" = "out", family: "gcounter" | "lww-map" = "gcounter") {
  return {
    at: "2026-01-01T00:00:00.000Z",
    direction,
    peer: direction === "in" ? B : null,
    origin: direction === "in" ? B : A,
    key,
    family,
    type: family === "gcounter" ? "gcounter_inc" : "lww_map_set",
  } as const;
}

describe("OpRing", () => {
  test("keeps the newest entries up to its capacity, oldest first, with increasing seqs", () => {
    const ring = new OpRing(3);
    for (const key of ["k1", "k2", "k3", "k4", "k5"]) ring.record(op(key));
    assert.equal(ring.lastSeq, 5);
    assert.deepEqual(
      ring.recent().map(({ seq, key }) => [seq, key]),
      [
        [3, "k3"],
        [4, "k4"],
        [5, "k5"],
      ],
    );
    assert.deepEqual(
      ring.recent({ after: 4 }).map(({ key }) => key),
      ["k5"],
    );
    assert.deepEqual(ring.recent({ after: 5 }), []);
  });

  test("filters by key prefix, family and peer (sender or origin, by NodeId prefix)", () => {
    const ring = new OpRing(10);
    ring.record(op("todo/1"));
    ring.record(op("todo/2", "in", "lww-map"));
    ring.record(op("other", "in"));
    assert.deepEqual(
      ring.recent({ keyPrefix: "todo/" }).map(({ key }) => key),
      ["todo/1", "todo/2"],
    );
    assert.deepEqual(
      ring.recent({ family: "lww-map" }).map(({ key }) => key),
      ["todo/2"],
    );
    assert.deepEqual(
      ring.recent({ peer: "b2" }).map(({ key }) => key),
      ["todo/2", "other"],
    );
    assert.deepEqual(
      ring.recent({ peer: A }).map(({ key }) => key),
      ["todo/1"],
    );
    assert.deepEqual(
      ring.recent({ limit: 1 }).map(({ key }) => key),
      ["other"],
    );
  });

  test("a page holds at most OP_RING_PAGE_MAX entries", () => {
    const ring = new OpRing(OP_RING_PAGE_MAX + 10);
    for (let index = 0; index < OP_RING_PAGE_MAX + 10; index++) ring.record(op(`k${index}`));
    assert.equal(ring.recent({ limit: 10_000 }).length, OP_RING_PAGE_MAX);
  });
});

describe("opFlowQueryOf", () => {
  test("reads the parameters, leaving empty ones out", () => {
    assert.deepEqual(opFlowQueryOf(new URLSearchParams("after=3&key=todo/&peer=&family=orset&limit=20")), {
      after: 3,
      keyPrefix: "todo/",
      peer: undefined,
      family: "orset",
      limit: 20,
    });
  });

  test("says in one line what is wrong", () => {
    assert.equal(
      opFlowQueryOf(new URLSearchParams("family=set")),
      "family must be one of gcounter, pncounter, lww-register, lww-map, orset, rga",
    );
    assert.equal(
      opFlowQueryOf(new URLSearchParams("limit=-1")),
      `limit must be a whole number from 0 to ${OP_RING_PAGE_MAX}`,
    );
    assert.match(String(opFlowQueryOf(new URLSearchParams("after=x"))), /^after must be a whole number/);
  });
});
