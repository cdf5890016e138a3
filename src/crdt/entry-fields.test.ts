import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { duplicateField, lastWritePerField } from "./entry-fields.ts";
import type { HlcTimestamp } from "./hybrid-clock.ts";
import type { LwwMapEntryWrite } from "./op.ts";
import { propertyRuns } from "./testing/property-runs.ts";

const FNV_PRIME = 0x01000193;

/**
 * At least `count` distinct 4-byte fields whose FNV-1a hashes share their low `bits` bits, as a
 * hostile peer would craft them: the low bits of FNV-1a depend only on the low bits of its state,
 * so a last byte that clears bits 0-7 of the state fits whenever bits 8 and up are clear already.
 */
function collidingFields(count: number, bits: number): Uint8Array[] {
  const mask = 2 ** bits - 1;
  const fields: Uint8Array[] = [];
  for (let prefix = 0; prefix < 1 << 24 && fields.length < count; prefix++) {
    let state = 0x811c9dc5;
    for (const byte of [prefix & 255, (prefix >> 8) & 255, prefix >>> 16])
      state = Math.imul(state ^ byte, FNV_PRIME);
    if (((state >>> 0) & mask) >>> 8 !== 0) continue;
    fields.push(new Uint8Array([prefix & 255, (prefix >> 8) & 255, prefix >>> 16, state & 255]));
  }
  return fields;
}

function entriesOf(fields: readonly Uint8Array[]): LwwMapEntryWrite[] {
  return fields.map((field, i) => ({ field, value: undefined, timestamp: i as HlcTimestamp }));
}

function msOf(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

/** The answers the entry-field functions must give, the slow and obvious way. */
function expectedOf(entries: readonly LwwMapEntryWrite[]) {
  const keys = entries.map((entry) => Buffer.from(entry.field).toString("hex"));
  const at = keys.findIndex((key, i) => keys.indexOf(key) !== i);
  return {
    duplicate: at === -1 ? [-1, -1] : [at, keys.indexOf(keys[at]!)],
    lastWrites: entries.filter((_, i) => keys.lastIndexOf(keys[i]!) === i),
  };
}

describe("entry fields", () => {
  test("fields crafted to share a hash do not make finding a repeat quadratic", () => {
    // 32 768 entries get a table of 2^16 slots: every crafted field lands in one run of them.
    const crafted = entriesOf(collidingFields(32_768, 16));
    assert.equal(crafted.length, 32_768);
    const plain = entriesOf(crafted.map((_, i) => new Uint8Array([i & 255, i >> 8, 1, 2])));
    const reference = msOf(() => duplicateField(plain));
    let answer: [number, number] = [0, 0];
    const elapsed = msOf(() => {
      answer = duplicateField(crafted);
    });
    assert.deepEqual(answer, [-1, -1]);
    // Probed slot by slot, this took seconds (a half-million-entry message: hours).
    assert.ok(elapsed < 30 * reference + 200, `${elapsed.toFixed(0)} ms against ${reference.toFixed(1)} ms`);
  });

  test("property: with crafted fields among them, the repeat and the last writes found are the obvious ones", () => {
    const pool = collidingFields(600, 11);
    const fieldArb = fc.oneof(
      fc.constantFrom(...pool),
      fc.uint8Array({ maxLength: 2, max: 3 }), // a few plain fields too, repeats common
    );
    fc.assert(
      fc.property(fc.array(fieldArb, { minLength: 1, maxLength: 900, size: "max" }), (fields) => {
        const entries = entriesOf(fields);
        const expected = expectedOf(entries);
        assert.deepEqual(duplicateField(entries), expected.duplicate);
        assert.deepEqual(lastWritePerField(entries), expected.lastWrites);
      }),
      propertyRuns(100),
    );
  });
});
