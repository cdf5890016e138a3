/**
 * Remote writes applied in one turn of the event loop: a PushOps (up to PUSH_OPS_OPS_MAX ops) is
 * applied in slices of about this many writes (`applySliceEnd`), so that decoding, applying,
 * relaying and staging one slice stays within a few milliseconds even on a loaded machine. A
 * write is an op, or one entry of an `lww_map_batch` (`opWriteCount`): 128 batch ops of a
 * thousand entries would be 128 000 writes in one turn.
 */
export const APPLY_SLICE_WRITES = 128;

/**
 * Where the slice of `ops` starting at `start` ends (exclusive): as many ops as keep the slice
 * within APPLY_SLICE_WRITES writes, counted by `writes`, and one at least (an op is never cut,
 * so a batch op larger than the bound is a slice of its own). Pure.
 */
export function applySliceEnd<Op>(ops: readonly Op[], start: number, writes: (op: Op) => number): number {
  let end = start + 1;
  let total = writes(ops[start]!);
  while (end < ops.length) {
    total += writes(ops[end]!);
    if (total > APPLY_SLICE_WRITES) break;
    end++;
  }
  return end;
}
