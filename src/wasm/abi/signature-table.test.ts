import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignatureTable, signatureTypes } from "./signature-table.ts";

describe("signature tables", () => {
  test("a signature text reads as its parameters and results, alternatives apart, each text parsed once", () => {
    assert.deepEqual(signatureTypes("i32 i64 -> i32"), [{ params: ["i32", "i64"], results: ["i32"] }]);
    assert.deepEqual(signatureTypes("-> i64"), [{ params: [], results: ["i64"] }]);
    assert.deepEqual(signatureTypes("i32 i32 ->"), [{ params: ["i32", "i32"], results: [] }]);
    assert.deepEqual(signatureTypes("i32 i32 i32 -> | i32 i32 -> i32"), [
      { params: ["i32", "i32", "i32"], results: [] },
      { params: ["i32", "i32"], results: ["i32"] },
    ]);
    assert.equal(signatureTypes("i32 -> i32"), signatureTypes("i32 -> i32"));
  });

  test("a table reads as the Map of its lines, the first text giving a name", () => {
    const table = new SignatureTable(
      "\na: i32 -> i32\n# a comment: not a name\nb: -> i64\n",
      "\nb: i32 ->\nc: i32 -> i32",
    );
    assert.equal(table.size, 3);
    assert.deepEqual([...table.keys()], ["a", "b", "c"]);
    assert.equal(table.get("b"), signatureTypes("-> i64"));
    assert.equal(table.get("a"), table.get("c"));
    assert.equal(table.get("toString"), undefined);
    assert.equal(table.has("constructor"), false);
    assert.equal(table.has("c"), true);
    // A name spanning lines, or a comment's text, is no function of the table.
    assert.equal(table.get("b: i32 ->\nc"), undefined);
    assert.equal(table.has("# a comment"), false);
    assert.deepEqual(new Map(table), new Map([...table.entries()]));
    const seen: string[] = [];
    table.forEach((types, name, map) => {
      assert.equal(map, table);
      assert.equal(types, table.get(name));
      seen.push(name);
    });
    assert.deepEqual(seen, ["a", "b", "c"]);
    assert.deepEqual(
      [...table.values()],
      [...table.keys()].map((name) => table.get(name)),
    );
  });
});
