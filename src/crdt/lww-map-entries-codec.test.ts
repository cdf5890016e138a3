import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { duplicateField } from "./entry-fields.ts";
import {
  bytesCodec,
  CrdtCodecError,
  listCodec,
  optionalCodec,
  recordCodec,
  timestampCodec,
} from "./field-codec.ts";
import { lwwMapEntriesCodec, MAX_MAP_BATCH_ENTRIES } from "./lww-map-entries-codec.ts";
import type { LwwMapEntryWrite } from "./op.ts";
import { propertyRuns } from "./testing/property-runs.ts";

const BYTES_MAX = 8;
const bytes = bytesCodec(BYTES_MAX);
const entries = lwwMapEntriesCodec(bytes);
/** How an entry list was read before the hand-written reader: the record codec, entry by entry. */
const byRecordCodec = listCodec(
  recordCodec<LwwMapEntryWrite>("map entry", {
    field: bytes,
    value: optionalCodec(bytes),
    timestamp: timestampCodec,
  }),
  MAX_MAP_BATCH_ENTRIES,
);

/** What msgpackr may hand a decoder, near the edges of what an entry's parts accept. */
const anyRaw = fc.oneof(
  fc.uint8Array({ maxLength: BYTES_MAX + 2 }),
  fc.uint8Array({ maxLength: BYTES_MAX }).map((array) => Buffer.from(array)),
  fc.constantFrom(null, undefined, true, -1, 0.5, 2 ** 53, Number.MAX_SAFE_INTEGER, Number.NaN, "", "ab"),
  fc.constantFrom(2n, new Uint8ClampedArray(2), new Uint16Array(1), [], {}),
  fc.nat(),
);
const timestampRaw = fc.oneof({ weight: 9, arbitrary: fc.nat() }, { weight: 1, arbitrary: anyRaw });
const bytesRaw = fc.oneof(
  { weight: 9, arbitrary: fc.uint8Array({ maxLength: 3 }) },
  { weight: 1, arbitrary: anyRaw },
);
const entryRaw = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(bytesRaw, fc.oneof(fc.constant(null), bytesRaw), timestampRaw) },
  { weight: 1, arbitrary: fc.array(fc.oneof(bytesRaw, timestampRaw), { maxLength: 5 }) },
  { weight: 1, arbitrary: anyRaw },
);

type Outcome = { value: unknown } | { error: string };

function outcome(read: () => unknown): Outcome {
  try {
    return { value: read() };
  } catch (error) {
    if (!(error instanceof CrdtCodecError)) throw error;
    return { error: error.message };
  }
}

describe("lww_map_batch entries codec", () => {
  test("the hand-written entry reader accepts, reads and refuses (with the same message) exactly what the record codec does (seeded property)", () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: fc.array(entryRaw, { maxLength: 6 }) }, anyRaw), (raw) => {
        const read = outcome(() => entries.fromMsgpack(raw, "op.kind.entries"));
        const expected = outcome(() => byRecordCodec.fromMsgpack(raw, "op.kind.entries"));
        if ("value" in expected) {
          const list = expected.value as LwwMapEntryWrite[];
          // An empty list or a repeated field is refused after the entries are read, as it was.
          if (list.length === 0 || duplicateField(list)[0] !== -1) {
            assert.ok("error" in read, "an empty list or a repeated field was accepted");
            return;
          }
        }
        assert.deepStrictEqual(read, expected);
      }),
      propertyRuns(2000),
    );
  });
});
