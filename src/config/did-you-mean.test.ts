import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { closestMatch, editDistance } from "./did-you-mean.ts";

const PROPERTY_RUNS = { seed: 20_261_206, numRuns: 300 };
const word = fc.string({ maxLength: 12 });

describe("editDistance", () => {
  test("is a metric: zero only for equal words (case aside), symmetric, triangle inequality", () => {
    fc.assert(
      fc.property(word, word, word, (a, b, c) => {
        assert.equal(editDistance(a, a.toUpperCase()), 0);
        assert.equal(editDistance(a, b), editDistance(b, a));
        assert.ok(editDistance(a, c) <= editDistance(a, b) + editDistance(b, c));
        assert.ok(editDistance(a, b) <= Math.max(a.length, b.length));
      }),
      PROPERTY_RUNS,
    );
  });

  test("counts insertions, deletions and substitutions", () => {
    assert.equal(editDistance("max_peers", "max_peer"), 1);
    assert.equal(editDistance("listen", "lisetn"), 2);
    assert.equal(editDistance("", "abc"), 3);
  });
});

describe("closestMatch", () => {
  const keys = ["max_peers", "max_message_size", "listen", "log_level"];

  test("names the nearest candidate for a likely typo, the first one on a tie", () => {
    assert.equal(closestMatch("max_peer", keys), "max_peers");
    assert.equal(closestMatch("LISTEN", keys), "listen");
    assert.equal(closestMatch("ab", ["ax", "ay"]), "ax");
  });

  test("is the first nearest candidate within the allowed edits, as comparing with every candidate finds", () => {
    const anyWord = fc.string({ maxLength: 10, unit: fc.constantFrom("a", "b", "A", "_", "İ", "ß", "Σ") });
    fc.assert(
      fc.property(anyWord, fc.array(anyWord, { maxLength: 8 }), (input, candidates) => {
        const allowed = Math.min(3, Math.max(1, Math.floor(input.length / 3)));
        let expected: string | undefined;
        for (const candidate of candidates) {
          const distance = editDistance(input, candidate);
          if (distance <= allowed && (expected === undefined || distance < editDistance(input, expected))) {
            expected = candidate;
          }
        }
        assert.equal(closestMatch(input, candidates), expected);
      }),
      PROPERTY_RUNS,
    );
  });

  test("stays silent when nothing is close (at most a third of the input, and 3 edits)", () => {
    assert.equal(closestMatch("port", keys), undefined);
    assert.equal(closestMatch("max_message_size_in_bytes", keys), undefined);
    assert.equal(closestMatch("anything", []), undefined);
  });
});
