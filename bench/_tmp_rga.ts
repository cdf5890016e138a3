import * as Y from "yjs";
import { Rga } from "../src/crdt/rga.ts";
import { makeOp } from "../src/crdt/op.ts";
import { makeOpId, type OpId } from "../src/crdt/op-id.ts";
import type { HlcTimestamp } from "../src/crdt/hybrid-clock.ts";
import type { NodeId } from "../src/identity/node-id.ts";
const N = 100_000;
const node = "0123456789abcdef0123456789abcdef" as NodeId;
const vals = Array.from({ length: N }, (_, i) => new Uint8Array([i & 255, (i >> 8) & 255]));
for (let round = 0; round < 3; round++) {
  let t = performance.now();
  const rga = new Rga();
  let parent: OpId | undefined;
  for (let i = 0; i < N; i++) {
    const id = makeOpId(node, i + 1);
    rga.applyOp(makeOp(id, (1_700_000_000_000 * 1024 + i) as HlcTimestamp, "doc", { type: "rga_insert", parent, value: vals[i] }));
    parent = id;
  }
  const v = rga.values();
  const ours = performance.now() - t;
  t = performance.now();
  const doc = new Y.Doc();
  const arr = doc.getArray<Uint8Array>("a");
  for (let i = 0; i < N; i++) arr.insert(i, [vals[i]]);
  const yv = arr.toArray();
  const yjs = performance.now() - t;
  t = performance.now();
  const doc2 = new Y.Doc();
  const arr2 = doc2.getArray<number>("a");
  for (let i = 0; i < N; i++) arr2.push([i]);
  arr2.toArray();
  const yjsNum = performance.now() - t;
  console.log({ ours, yjs, yjsNum, n: v.length, yn: yv.length });
}
