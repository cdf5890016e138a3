import assert from "node:assert/strict";
import { test } from "node:test";
import { APPLY_SLICE_WRITES, applySliceEnd } from "./apply-slice.ts";

/** The slices `weights` (each op's writes) are cut into, as lists of weights. */
function slices(weights: readonly number[]): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < weights.length; ) {
    const end = applySliceEnd(weights, start, (w) => w);
    out.push(weights.slice(start, end));
    start = end;
  }
  return out;
}

test("a slice holds APPLY_SLICE_WRITES single-write ops", () => {
  const ones = new Array<number>(APPLY_SLICE_WRITES * 2 + 3).fill(1);
  assert.deepEqual(
    slices(ones).map((slice) => slice.length),
    [APPLY_SLICE_WRITES, APPLY_SLICE_WRITES, 3],
  );
});

test("batch ops count their entries: a large one is a slice of its own, small ones share", () => {
  assert.deepEqual(slices([1000, 1, 1, 1000, 100, 20, 20, 1]), [[1000], [1, 1], [1000], [100, 20], [20, 1]]);
  assert.deepEqual(slices([1, 1000]), [[1], [1000]]);
});
