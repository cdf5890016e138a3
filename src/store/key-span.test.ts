import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { KvSpanQuery } from "./extended-kv-backend.ts";
import { compareBytes, hasPrefix, KEY_BYTES_MAX } from "./key-bytes.ts";
import { isInSpan, keySpanOf } from "./key-span.ts";

const bytes = fc
  .uint8Array({ maxLength: 4 })
  .map((value) => value.map((byte) => [0, 1, 0x61, 0xff][byte % 4]!));
const key = bytes.filter((value) => value.length > 0);
const optional = (arbitrary: fc.Arbitrary<Uint8Array>) => fc.option(arbitrary, { nil: undefined });

/** The span semantics spelled out directly: every bound is one more filter. */
function matches(candidate: Uint8Array, query: KvSpanQuery): boolean {
  return (
    hasPrefix(candidate, query.prefix) &&
    (query.after === undefined || compareBytes(candidate, query.after) > 0) &&
    (query.from === undefined || compareBytes(candidate, query.from) >= 0) &&
    (query.before === undefined || compareBytes(candidate, query.before) < 0)
  );
}

describe("key span", () => {
  it("holds exactly the keys that pass every bound of the query", () => {
    fc.assert(
      fc.property(
        fc.record({ prefix: bytes, after: optional(bytes), from: optional(bytes), before: optional(bytes) }),
        fc.array(key, { maxLength: 12 }),
        (query, keys) => {
          const span = keySpanOf(query);
          for (const candidate of keys) {
            assert.equal(span !== undefined && isInSpan(candidate, span), matches(candidate, query));
          }
        },
      ),
      {
        numRuns: Number(process.env.NX_PROPERTY_RUNS ?? 300),
        seed: Number(process.env.NX_PROPERTY_SEED ?? 11),
      },
    );
  });

  it("copies its bounds, so the query's buffers can be reused at once", () => {
    const prefix = Uint8Array.of(0x61);
    const after = Uint8Array.of(0x61, 0x62);
    const span = keySpanOf({ prefix, after })!;
    prefix[0] = 0;
    after[0] = 0;
    assert.deepEqual(span, {
      start: Uint8Array.of(0x61, 0x62),
      startExclusive: true,
      end: Uint8Array.of(0x62),
    });
  });

  it("is empty when the bounds cross, and refuses bounds longer than any key", () => {
    assert.equal(keySpanOf({ prefix: Uint8Array.of(0x62), before: Uint8Array.of(0x61) }), undefined);
    assert.equal(keySpanOf({ prefix: new Uint8Array(0), before: new Uint8Array(0) }), undefined);
    assert.equal(keySpanOf({ prefix: new Uint8Array(KEY_BYTES_MAX + 1) }), undefined);
    assert.throws(
      () => keySpanOf({ prefix: new Uint8Array(0), from: new Uint8Array(KEY_BYTES_MAX + 1) }),
      /range bound/,
    );
  });
});
