import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { CRDT_FAMILY_NAMES } from "./crdt-values.ts";
import { type KeyEntry, pageOfKeys, parseKeyCursor } from "./key-page.ts";

const entries = fc.uniqueArray(
  fc.record({ key: fc.string({ maxLength: 6 }), family: fc.constantFrom(...CRDT_FAMILY_NAMES) }),
  { selector: ({ key, family }) => `${key}\0${family}`, maxLength: 40 },
);

/** Every page from the first to the one with no nextCursor. */
function allPages(items: readonly KeyEntry[], prefix: string, limit: number): KeyEntry[][] {
  const pages: KeyEntry[][] = [];
  let after: KeyEntry | undefined;
  for (;;) {
    const page = pageOfKeys(items, { prefix, limit, after });
    pages.push([...page.keys]);
    if (page.nextCursor === null) return pages;
    after = parseKeyCursor(page.nextCursor);
    assert.ok(after !== undefined);
  }
}

describe("pageOfKeys", () => {
  test("the pages, in order, are every entry with the prefix sorted by key then family, each at most `limit`", () => {
    fc.assert(
      fc.property(
        entries,
        fc.string({ maxLength: 2 }),
        fc.integer({ min: 1, max: 7 }),
        (items, prefix, limit) => {
          const pages = allPages(items, prefix, limit);
          const expected = items
            .filter((entry) => entry.key.startsWith(prefix))
            .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.family < b.family ? -1 : 1));
          assert.deepEqual(pages.flat(), expected);
          assert.ok(pages.every((page) => page.length <= limit));
          // Only the last page may be short, and only an empty listing has an empty page.
          assert.ok(pages.slice(0, -1).every((page) => page.length === limit));
          assert.equal(pages.at(-1)!.length === 0, expected.length === 0);
        },
      ),
      propertyRuns(200),
    );
  });

  test("a key added behind the cursor is not seen, one ahead is, nothing repeats", () => {
    const items: KeyEntry[] = [
      { key: "a", family: "gcounter" },
      { key: "c", family: "gcounter" },
    ];
    const first = pageOfKeys(items, { prefix: "", limit: 1, after: undefined });
    items.push({ key: "0", family: "rga" }, { key: "b", family: "orset" });
    const second = pageOfKeys(items, { prefix: "", limit: 5, after: parseKeyCursor(first.nextCursor!) });
    assert.deepEqual(second.keys, [
      { key: "b", family: "orset" },
      { key: "c", family: "gcounter" },
    ]);
  });

  test("a cursor this node did not make parses as undefined", () => {
    for (const text of [
      "",
      "nope",
      Buffer.from('["k","sets"]').toString("base64url"),
      Buffer.from("[1,2]").toString("base64url"),
    ]) {
      assert.equal(parseKeyCursor(text), undefined, text);
    }
  });
});
