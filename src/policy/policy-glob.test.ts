import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { byteString, compileGlob, globCoversPrefix, globMatches, globProblem } from "./policy-glob.ts";

/** The reference model: a glob is the regular expression with `*` as `.*`, anchored. */
function referenceMatches(glob: string, subject: string): boolean {
  const pattern = glob
    .split("*")
    .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${pattern}$`, "su").test(subject);
}

// A small alphabet makes matches common; `*` and `/` are in it on purpose.
const alphabet = fc.constantFrom("a", "b", "/", "*", "é");
const globText = fc.array(alphabet, { minLength: 1, maxLength: 8 }).map((chars) => chars.join(""));
const subjectText = fc
  .array(fc.constantFrom("a", "b", "/", "*", "é", "c"), { maxLength: 10 })
  .map((chars) => chars.join(""));
const utf8 = new TextEncoder();

describe("policy globs", () => {
  test("a glob matches exactly what the reference regular expression matches", () => {
    fc.assert(
      fc.property(globText, subjectText, (glob, subject) => {
        assert.equal(globMatches(compileGlob(glob).text, subject), referenceMatches(glob, subject));
      }),
      propertyRuns(2000),
    );
  });

  test("matching the bytes of a key agrees with matching its text", () => {
    fc.assert(
      fc.property(globText, subjectText, (glob, subject) => {
        const key = utf8.encode(subject);
        const compiled = compileGlob(glob);
        assert.equal(globMatches(compiled.bytes, byteString(key)), referenceMatches(glob, subject));
      }),
      propertyRuns(2000),
    );
  });

  test("a covered prefix has every extension matching; an uncovered one has a counterexample", () => {
    // "c" appears in no glob: after the prefix it ends a subject no non-star tail can match.
    fc.assert(
      fc.property(globText, subjectText, subjectText, (glob, prefix, extension) => {
        const pieces = compileGlob(glob).text;
        if (globCoversPrefix(pieces, prefix)) {
          assert.ok(referenceMatches(glob, prefix + extension));
        } else {
          assert.ok(!referenceMatches(glob, prefix) || !referenceMatches(glob, `${prefix}c`));
        }
      }),
      propertyRuns(2000),
    );
  });

  test("examples of docs/design/policies.md", () => {
    const kv = compileGlob("kv/*").text;
    assert.ok(globMatches(kv, "kv/"));
    assert.ok(globMatches(kv, "kv/a/b"));
    assert.ok(!globMatches(kv, "kv"));
    assert.ok(globMatches(compileGlob("visits").text, "visits"));
    assert.ok(!globMatches(compileGlob("visits").text, "visits2"));
    assert.ok(globMatches(compileGlob("*").text, ""));
    assert.ok(globCoversPrefix(kv, "kv/users/"));
    assert.ok(!globCoversPrefix(kv, "kv"));
    assert.ok(!globCoversPrefix(kv, ""));
    assert.ok(!globCoversPrefix(compileGlob("kv/a").text, "kv/a"));
  });

  test("a key that is not UTF-8 matches only through a star", () => {
    const key = byteString(Uint8Array.of(0x6b, 0x2f, 0xff));
    assert.ok(globMatches(compileGlob("k/*").bytes, key));
    assert.ok(!globMatches(compileGlob("k/\uFFFD").bytes, key));
  });

  test("empty and overlong globs are refused with a hint", () => {
    assert.match(globProblem("") ?? "", /empty glob.*"\*"/);
    assert.match(globProblem("a".repeat(1025)) ?? "", /1025 bytes is longer than 1024/);
    assert.equal(globProblem("a".repeat(1024)), undefined);
  });
});
