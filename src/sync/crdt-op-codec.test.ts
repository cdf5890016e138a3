import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { opArb } from "../crdt/testing/op-arbitraries.ts";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { frameLength } from "../net/frame.ts";
import { WIRE_FORMATS } from "../net/wire-format.ts";
import { createSyncMessageCodec, opWireBytesMax, PUSH_OPS_ENVELOPE_BYTES_MAX } from "./crdt-op-codec.ts";

const codec = createSyncMessageCodec();

describe("CRDT ops inside sync messages", () => {
  for (const format of WIRE_FORMATS) {
    test(`every op kind round-trips through a PushOps frame body in ${format}`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 8 }), fc.nat(), (ops, batchId) => {
          const decoded = codec.decode(codec.encode({ type: "PushOps", batchId, ops }, format), format);
          assert.deepEqual(decoded, { type: "PushOps", batchId, ops });
        }),
        propertyRuns(200),
      );
    });
  }

  test("a PushOps of ops whose opWireBytesMax sum to B encodes to a frame of at most B + PUSH_OPS_ENVELOPE_BYTES_MAX, in either format", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 8 }), fc.nat(), (ops, batchId) => {
        const budget = ops.reduce((sum, op) => sum + opWireBytesMax(op), 0) + PUSH_OPS_ENVELOPE_BYTES_MAX;
        for (const format of WIRE_FORMATS) {
          const length = frameLength(codec.encode({ type: "PushOps", batchId, ops }, format).byteLength);
          assert.ok(length <= budget, `${format}: ${length} bytes, counted ${budget}`);
        }
      }),
      propertyRuns(500),
    );
  });

  test("a JSON frame names the op's fields, so --debug-protocol captures read as what they mean", () => {
    fc.assert(
      fc.property(opArb, (op) => {
        const text = new TextDecoder().decode(
          codec.encode({ type: "PushOps", batchId: 1, ops: [op] }, "json"),
        );
        assert.match(text, new RegExp(`"type":"${op.kind.type}"`));
        assert.ok(text.includes(op.origin), "the origin NodeId is readable");
      }),
      propertyRuns(50),
    );
  });
});
