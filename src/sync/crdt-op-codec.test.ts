import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { HlcTimestamp } from "../crdt/hybrid-clock.ts";
import { makeOp, type OpKind } from "../crdt/op.ts";
import { opArb, opIdArb } from "../crdt/testing/op-arbitraries.ts";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { frameLength } from "../net/frame.ts";
import { WIRE_FORMATS } from "../net/wire-format.ts";
import { createSyncMessageCodec, opWireBytesMax, PUSH_OPS_ENVELOPE_BYTES_MAX } from "./crdt-op-codec.ts";

const codec = createSyncMessageCodec();

/**
 * Ops at the sizes the byte bound is for (opArb's are at most 40 bytes, 4 tags, 20 ASCII
 * characters of key): values up to 200 KiB, ORSet removes of up to 2,000 tags, keys (within 1 KiB) of
 * characters JSON escapes to 6 bytes (controls, lone surrogates) or UTF-8 takes 3 for.
 */
const bigBytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 2 }),
  fc.integer({ min: 0, max: 200 * 1024 }).map((length) => new Uint8Array(length).fill(0xff)),
);
const bigKeyArb = fc.oneof(
  fc.string({ unit: "binary", maxLength: 250 }),
  fc.string({ unit: fc.constantFrom("\u0000", "\u001f", "\ud800", "\\", '"', "\u2028"), maxLength: 340 }),
);
const bigOpArb = fc
  .tuple(
    opIdArb,
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    bigKeyArb,
    fc.oneof(
      bigBytesArb.map((value): OpKind => ({ type: "lww_set", value })),
      fc
        .tuple(bigBytesArb, bigBytesArb)
        .map(([field, value]): OpKind => ({ type: "lww_map_set", field, value })),
      fc
        .tuple(bigBytesArb, fc.array(opIdArb, { maxLength: 2000, size: "max" }))
        .map(([element, tags]): OpKind => ({ type: "orset_remove", element, tags })),
      fc
        .tuple(fc.option(opIdArb, { nil: undefined }), bigBytesArb)
        .map(([parent, value]): OpKind => ({ type: "rga_insert", parent, value })),
    ),
  )
  .map(([id, timestamp, key, kind]) => makeOp(id, timestamp as HlcTimestamp, key, kind));

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

  test("a decoded op's byte strings are plain arrays of its own, from a Buffer frame body or a plain one: zeroing the body after decoding changes none (property)", () => {
    fc.assert(
      fc.property(
        // bigOpArb's keys are left out: some (lone surrogates) do not survive UTF-8.
        fc.array(
          fc
            .oneof(
              opArb,
              bigOpArb.map((op) => makeOp(op.id, op.timestamp, "k", op.kind)),
            )
            .map(asDecoded)
            .filter((op) => op !== undefined),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        fc.boolean(),
        (ops, plain) => {
          const encoded = codec.encode({ type: "PushOps", batchId: 1, ops }, "msgpack");
          const body = plain ? new Uint8Array(encoded) : Buffer.from(encoded);
          const decoded = codec.decode(body, "msgpack");
          body.fill(0);
          assert.deepEqual(decoded, { type: "PushOps", batchId: 1, ops });
          if (decoded.type !== "PushOps") return;
          for (const op of decoded.ops)
            for (const bytes of opByteStrings(op.kind)) assert.equal(bytes.constructor, Uint8Array);
        },
      ),
      propertyRuns(200),
    );
  });

  test("a PushOps of ops whose opWireBytesMax sum to B encodes to a frame of at most B + PUSH_OPS_ENVELOPE_BYTES_MAX, in either format", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(opArb, bigOpArb), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (ops, batchId) => {
          const budget = ops.reduce((sum, op) => sum + opWireBytesMax(op), 0) + PUSH_OPS_ENVELOPE_BYTES_MAX;
          for (const format of WIRE_FORMATS) {
            const length = frameLength(codec.encode({ type: "PushOps", batchId, ops }, format).byteLength);
            assert.ok(length <= budget, `${format}: ${length} bytes, counted ${budget}`);
          }
        },
      ),
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

/** The byte strings an op kind carries. */
function opByteStrings(kind: OpKind): Uint8Array[] {
  const { field, value, element, entries } = kind as {
    field?: Uint8Array;
    value?: Uint8Array;
    element?: Uint8Array;
    entries?: readonly { field: Uint8Array; value: Uint8Array | undefined }[];
  };
  const found = [field, value, element, ...(entries ?? []).flatMap((entry) => [entry.field, entry.value])];
  return found.filter((bytes) => bytes !== undefined);
}

/**
 * `op` as a peer decodes it, or undefined where a peer refuses it: an arbitrary batch may repeat a
 * field or stamp an entry after its op, and its entries may be records without a prototype.
 */
function asDecoded(op: ReturnType<typeof makeOp>): ReturnType<typeof makeOp> | undefined {
  try {
    const decoded = codec.decode(
      codec.encode({ type: "PushOps", batchId: 1, ops: [op] }, "msgpack"),
      "msgpack",
    );
    return decoded.type === "PushOps" ? decoded.ops[0] : undefined;
  } catch {
    return undefined;
  }
}
