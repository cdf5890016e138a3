import assert from "node:assert/strict";
import { test } from "node:test";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { NodeId } from "../identity/node-id.ts";
import type { HlcTimestamp } from "./hybrid-clock.ts";
import { LwwMap } from "./lww-map.ts";
import { type LwwMapEntryWrite, makeOp } from "./op.ts";
import { makeOpId } from "./op-id.ts";

const ORIGIN = "0123456789abcdef0123456789abcdef" as NodeId;
const ENTRIES_PER_OP = 45; // about what MAP_BATCH_BYTES_MAX lets a batch op carry
const FIELDS = 100_000;
const TIMESTAMP = 2 ** 50; // past the small integers, as a clock's stamps are

/** A 13-byte field like the distinct-key gate's `gate/k/000000`, in an array of its own. */
function field(i: number): Uint8Array {
  return Buffer.from(`gate/k/${String(i).padStart(6, "0")}`, "latin1");
}

/** A peer's batch ops of `ENTRIES_PER_OP` writes each. */
function applyBatchOps(map: LwwMap): void {
  for (let i = 0; i < FIELDS; i += ENTRIES_PER_OP) {
    const entries: LwwMapEntryWrite[] = [];
    for (let j = i; j < Math.min(FIELDS, i + ENTRIES_PER_OP); j++)
      entries.push({ field: field(j), timestamp: (TIMESTAMP + j) as HlcTimestamp, value: new Uint8Array(8) });
    map.applyEntries(
      makeOp(makeOpId(ORIGIN, 1 + i), (TIMESTAMP + i) as HlcTimestamp, "m", {
        type: "lww_map_batch" as const,
        entries,
      }),
      () => {},
    );
  }
}

/** A peer's single set ops (a loaded cell takes the same `mergeCell`). */
function applySetOps(map: LwwMap): void {
  for (let i = 0; i < FIELDS; i++)
    map.applyOp(
      makeOp(makeOpId(ORIGIN, 1 + i), (TIMESTAMP + i) as HlcTimestamp, "m", {
        type: "lww_map_set" as const,
        field: field(i),
        value: new Uint8Array(8),
      }),
    );
}

/** Heap per stored field that `run` leaves after a full collection, from a forced one before it. */
async function heapPerField(run: () => void): Promise<number> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  const before = getHeapStatistics().used_heap_size;
  run();
  // A WeakRef's target is kept until the current job ends: collect after it.
  await new Promise(setImmediate);
  gc();
  return (getHeapStatistics().used_heap_size - before) / FIELDS;
}

for (const [how, apply] of [
  ["batch ops", applyBatchOps],
  ["single set ops", applySetOps],
] as const) {
  test(`an LwwMap keeps little heap per stored field (${how}): the field's bytes once, in its key`, async () => {
    // A node applying distinct-key writes keeps one cell per field it ever saw: hundreds of
    // thousands of them, which every old-generation collection marks. Each kept its field twice
    // (the Map key and its own Uint8Array): 470 B of heap per field here, with a 13-byte field.
    const map = new LwwMap();
    const perField = await heapPerField(() => apply(map));
    assert.equal(map.entries().length, FIELDS);
    // 470 B with the field kept twice, 357 B with it kept once (Node 26). Most of what remains is
    // the value's own array, the key string and the Map's entry.
    assert.ok(perField < 400, `${perField.toFixed(0)} bytes of heap per stored field`);
  });
}

test("a read of an LwwMap's entries does not keep the fields' bytes twice afterwards", async () => {
  // entries() makes each field's array from its key; its result, kept for the next read, must
  // not hold them for good: a map read once (a guest, /v1/crdt, the gate's runner) and then left
  // alone kept 661 B per field, more than the 543 B it kept when each field had its own array.
  const map = new LwwMap();
  const perField = await heapPerField(() => {
    applyBatchOps(map);
    assert.equal(map.entries().length, FIELDS);
  });
  assert.ok(perField < 400, `${perField.toFixed(0)} bytes of heap per stored field after a read`);
});
