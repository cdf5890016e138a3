import assert from "node:assert/strict";
import { test } from "node:test";
import { makeOpId, type OpId } from "../crdt/op-id.ts";
import { Rga, type RgaCell } from "../crdt/rga.ts";
import { decodeState, encodeState } from "../crdt/state-codec.ts";
import { decodeText, NODE_A, NODE_B, opFrom, text } from "../crdt/testing/test-ops.ts";
import type { PushStateMessage } from "../net/messages.ts";
import { withoutRgaGhosts } from "./legacy-rga-state.ts";

/** A queue of 12 under a root, the first 10 deleted; `collect` turns them into a ghost. */
function queue(collect: boolean): Rga {
  const rga = new Rga();
  rga.applyOp(opFrom(NODE_B, 1, 1, { type: "rga_insert", parent: undefined, value: text("root") }));
  let parent: OpId = makeOpId(NODE_B, 1);
  for (let i = 1; i <= 12; i++) {
    const op = opFrom(NODE_A, i, 10 + i, { type: "rga_insert", parent, value: text(`m${i}`) });
    rga.applyOp(op);
    parent = op.id;
    if (i <= 10) rga.applyOp(opFrom(NODE_B, 1 + i, 100 + i, { type: "rga_delete", target: op.id }));
  }
  if (collect) rga.collectTombstones(0, () => true);
  return rga;
}

const show = (rga: Rga): string => rga.values().map(decodeText).join(",");

test("a peer without rga-ghosts gets a ghost and anchored elements as plain elements, in the same places", () => {
  const collected = queue(true);
  const counter = encodeState({ family: "gcounter", cells: [{ origin: NODE_A, slot: 3n }] });
  const part: PushStateMessage = {
    type: "PushState",
    versionVector: new Map(),
    objects: [
      { key: "log", state: encodeState({ family: "rga", cells: collected.cells() }) },
      { key: "hits", state: counter },
    ],
    final: true,
  };
  const plain = withoutRgaGhosts(part);
  assert.equal(plain.objects[1].state, counter, "other objects keep their bytes");
  const cells = decodeState(plain.objects[0].state).cells as RgaCell[];
  assert.deepEqual(
    [...new Set(cells.map((cell) => cell.type))],
    ["element"],
    "only cells an older build decodes",
  );
  // A replica holding nothing takes the same sequence; one holding the whole history keeps its own.
  const fresh = new Rga();
  for (const cell of cells) fresh.mergeCell(cell);
  const uncollected = queue(false);
  for (const cell of cells) uncollected.mergeCell(cell);
  assert.deepEqual([show(fresh), show(uncollected)], ["root,m11,m12", "root,m11,m12"]);
  assert.equal(withoutRgaGhosts(plain), plain, "nothing to change: the same part");
});
