import assert from "node:assert/strict";
import { test } from "node:test";
import { hlcFromPhysicalMs } from "../crdt/hybrid-clock.ts";
import { makeOp, type Op, type OpKind } from "../crdt/op.ts";
import { makeOpId } from "../crdt/op-id.ts";
import { NODE_A, NODE_B, text } from "../crdt/testing/test-ops.ts";
import type { NodeId } from "../identity/node-id.ts";
import { remoteChangesOf } from "./sync-events.ts";

let seq = 0;
const op = (origin: NodeId, key: string, kind: OpKind): Op =>
  makeOp(makeOpId(origin, ++seq), hlcFromPhysicalMs(1), key, kind);

test("one change per (family, key) in first-seen order, with the origin of the last op on it", () => {
  const ops = [
    op(NODE_A, "hits", { type: "gcounter_inc", slot: 1n }),
    op(NODE_A, "title", { type: "lww_set", value: text("a") }),
    op(NODE_B, "hits", { type: "gcounter_inc", slot: 4n }),
    op(NODE_A, "hits", { type: "pncounter_dec", slot: 1n }),
    ...Array.from({ length: 500 }, (_, i) =>
      op(i === 499 ? NODE_B : NODE_A, "title", { type: "lww_set", value: text(`${i}`) }),
    ),
  ];
  assert.deepEqual(remoteChangesOf(ops), [
    { key: "hits", family: "gcounter", origin: NODE_B },
    { key: "title", family: "lww_register", origin: NODE_B },
    { key: "hits", family: "pncounter", origin: NODE_A },
  ]);
  assert.deepEqual(remoteChangesOf([]), []);
});

test("a multi-field map op is one change of its map, as the separate field ops are", () => {
  const stamp = hlcFromPhysicalMs(1);
  const entries = ["a", "b", "c"].map((field) => ({
    field: text(field),
    value: text("v"),
    timestamp: stamp,
  }));
  const separate = entries.map((e) =>
    op(NODE_A, "m", { type: "lww_map_set", field: e.field, value: e.value! }),
  );
  const batch = op(NODE_A, "m", { type: "lww_map_batch", entries });
  const expected = [{ key: "m", family: "lww_map", origin: NODE_A }];
  assert.deepEqual(remoteChangesOf(separate), expected);
  assert.deepEqual(remoteChangesOf([batch]), expected);
});
