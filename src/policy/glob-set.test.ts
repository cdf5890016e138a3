import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { GlobSet } from "./glob-set.ts";
import { compileGlob } from "./policy-glob.ts";

/** The reference model: some glob, as an anchored regular expression with `*` as `.*`, matches. */
function referenceMatches(globs: readonly string[], subject: string): boolean {
  return globs.some((glob) => {
    const body = glob
      .split("*")
      .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    return new RegExp(`^${body}$`, "su").test(subject);
  });
}

// Mostly exact and prefix globs sharing prefixes (the shapes the literal sets answer), some patterns.
const glob = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[ab/é]{1,5}\*?$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[ab*/é]{1,6}$/) },
);
const subject = fc.stringMatching(/^[ab/é]{0,7}$/);
const utf8 = new TextEncoder();

test("a glob set matches text and store-key bytes exactly as the reference model", () => {
  fc.assert(
    fc.property(
      fc.array(glob, { maxLength: 30 }),
      fc.array(subject, { maxLength: 20 }),
      (globs, subjects) => {
        const set = new GlobSet(globs.map(compileGlob));
        for (const text of subjects) {
          const expected = referenceMatches(globs, text);
          assert.equal(set.matches(text), expected, `text ${text}`);
          assert.equal(set.matches(utf8.encode(text)), expected, `bytes ${text}`);
        }
      },
    ),
    propertyRuns(1000),
  );
});

test("a glob set whose literal globs all start alike (a namespace's) matches as the reference model", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("a/", "ab", "é/"),
      fc.array(glob, { maxLength: 30 }),
      fc.array(subject, { maxLength: 20 }),
      (namespace, globs, subjects) => {
        // Some globs shared (as they are), most in the namespace, as a policy's store-key globs.
        const namespaced = globs.map((source, i) => (i % 7 === 6 ? source : `${namespace}${source}`));
        const compiled = namespaced.map(compileGlob);
        const set = new GlobSet(compiled);
        // Told the namespace's prefix, a set answers a key vouched to be in it from after the prefix.
        const knowing = new GlobSet(compiled, utf8.encode(namespace));
        for (const text of subjects) {
          const inside = `${namespace}${text}`;
          for (const each of [text, inside]) {
            const expected = referenceMatches(namespaced, each);
            assert.equal(set.matches(each), expected, `text ${each}`);
            assert.equal(set.matches(utf8.encode(each)), expected, `bytes ${each}`);
            assert.equal(knowing.matches(utf8.encode(each)), expected, `bytes ${each}, prefix known`);
          }
          assert.equal(
            knowing.matches(utf8.encode(inside), true),
            referenceMatches(namespaced, inside),
            `bytes ${inside}, vouched in the namespace`,
          );
        }
      },
    ),
    propertyRuns(1000),
  );
});

test("a glob set answers each subject as a fresh set would, whatever it matched before", () => {
  // The set tries the prefix that matched last first: a run of subjects under one glob, then
  // others, must not carry a match over.
  fc.assert(
    fc.property(
      fc.array(glob, { maxLength: 30 }),
      fc.array(subject, { maxLength: 40 }),
      (globs, subjects) => {
        const compiled = globs.map(compileGlob);
        const reused = new GlobSet(compiled);
        for (const text of subjects) {
          assert.equal(reused.matches(text), new GlobSet(compiled).matches(text), `text ${text}`);
          const bytes = utf8.encode(text);
          assert.equal(reused.matches(bytes), new GlobSet(compiled).matches(bytes), `bytes ${text}`);
        }
      },
    ),
    propertyRuns(1000),
  );
});
