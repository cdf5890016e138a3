import assert from "node:assert/strict";
import { test } from "node:test";
import { renderColumns } from "./text-columns.ts";

test("columns are padded to their widest cell, the last column is not padded", () => {
  assert.equal(
    renderColumns([
      ["a", "bb", "c"],
      ["ddd", "e", "ffff"],
    ]),
    "a    bb  c\nddd  e   ffff\n",
  );
});

test("a short row ends where its cells end (no trailing spaces)", () => {
  assert.equal(renderColumns([["key", "value"], ["k"]]), "key  value\nk\n");
});

test("no rows, no text", () => {
  assert.equal(renderColumns([]), "");
});
