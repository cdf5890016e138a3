import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import type { HlcTimestamp } from "../../crdt/hybrid-clock.ts";
import { makeOp, type Op } from "../../crdt/op.ts";
import { opToMsgpackValue } from "../../crdt/op-codec.ts";
import { makeOpId } from "../../crdt/op-id.ts";
import { opArb, opIdArb } from "../../crdt/testing/op-arbitraries.ts";
import { propertyRuns } from "../../crdt/testing/property-runs.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { MsgpackChunks } from "./msgpack-chunks.ts";
import { opLogPageRecord } from "./op-log-page-record.ts";
import { packedRecord } from "./replica-layout.ts";
import { decodeOpPage } from "./replicated-state.ts";

/** Lengths either side of msgpack's bin8 / bin16 / bin32 boundaries, and the small ones. */
const bytesAt = (edges: readonly number[]) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc
      .constantFrom(...edges.flatMap((edge) => [edge - 1, edge, edge + 1]))
      .map((length) => new Uint8Array(length).fill(length & 0xff)),
  );

/** Stamps of every msgpack form, and a few below zero (no valid op has one: msgpackr packs those pages). */
const stamp = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.constantFrom(
      0,
      0x7f,
      0x80,
      0xff,
      0x100,
      0xffff,
      0x10000,
      2 ** 32 - 1,
      2 ** 32,
      Number.MAX_SAFE_INTEGER,
    ),
  },
  { weight: 10, arbitrary: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, -0x80, -(2 ** 31), -(2 ** 40)) },
);

/** A batch op of distinct fields (the field's index in front), entry counts either side of fixarray's 16. */
const batchOp: fc.Arbitrary<Op> = fc
  .tuple(
    opIdArb,
    fc.string({ maxLength: 300, unit: "binary" }),
    fc.array(
      fc.record({
        field: bytesAt([0x100]),
        value: fc.option(bytesAt([0x100, 0x10000]), { nil: undefined }),
        stamp,
      }),
      { minLength: 1, maxLength: 20, size: "max" },
    ),
  )
  .map(([id, key, writes]) => {
    const entries = writes.map(({ field, value, stamp }, i) => ({
      field: new Uint8Array([i, ...field]),
      value,
      timestamp: stamp as HlcTimestamp,
    }));
    const timestamp = Math.max(...entries.map((entry) => entry.timestamp)) as HlcTimestamp;
    return makeOp(id, timestamp, key, { type: "lww_map_batch", entries });
  });

const page = fc.array(fc.oneof(opArb, batchOp), { minLength: 1, maxLength: 12 });

describe("opLogPageRecord", () => {
  test("writes the bytes packedRecord(ops.map(opToMsgpackValue)) does, and they read back as the ops", () => {
    fc.assert(
      fc.property(fc.array(page, { minLength: 1, maxLength: 4 }), (pages) => {
        const chunks = new MsgpackChunks();
        const records = pages.map((ops) => opLogPageRecord(chunks, ops));
        // Compared after all are written: a later page must not touch an earlier one's bytes.
        for (const [i, ops] of pages.entries()) {
          assert.deepEqual(records[i], packedRecord(ops.map(opToMsgpackValue)).slice());
          const valid = ops.every(
            (op) => op.kind.type !== "lww_map_batch" || op.kind.entries.every((e) => e.timestamp >= 0),
          );
          if (valid)
            assert.deepEqual(
              decodeOpPage(records[i]!),
              ops.map((op) => ({ ...op })),
            );
        }
      }),
      propertyRuns(100),
    );
  });

  test("a page's decoded ops keep none of its record's bytes: zeroing the record after decoding changes none", () => {
    // The op decoder keeps the byte strings msgpackr copies out of a record as they are (no second
    // copy), so this holds only while crdtPackr copies them: a store may reuse its read buffers.
    fc.assert(
      fc.property(page, (ops) => {
        fc.pre(
          ops.every(
            (op) => op.kind.type !== "lww_map_batch" || op.kind.entries.every((e) => e.timestamp >= 0),
          ),
        );
        const record = opLogPageRecord(new MsgpackChunks(), ops);
        const decoded = decodeOpPage(record);
        record.fill(0);
        // Not assert.deepEqual: its diff of byte strings up to 64 KiB long takes minutes.
        const changed = ops.findIndex((op, i) => !isDeepStrictEqual(decoded[i], { ...op }));
        assert.equal(changed, -1, `op ${changed} of the page changed when its record was zeroed`);
      }),
      propertyRuns(100),
    );
  });

  test("a batch of 65 536 entries (msgpack's array32) is the bytes msgpackr writes", () => {
    const entries = Array.from({ length: 0x10000 }, (_, i) => ({
      field: new Uint8Array([i >> 8, i & 0xff]),
      value: i % 3 === 0 ? undefined : new Uint8Array([i & 0xff]),
      timestamp: (2 ** 40 + i) as HlcTimestamp,
    }));
    const op = makeOp(makeOpId("0".repeat(32) as NodeId, 1), (2 ** 41) as HlcTimestamp, "k", {
      type: "lww_map_batch",
      entries,
    });
    assert.deepEqual(
      opLogPageRecord(new MsgpackChunks(), [op]),
      packedRecord([opToMsgpackValue(op)]).slice(),
    );
  });
});
