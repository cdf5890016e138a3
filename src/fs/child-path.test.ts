import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { childPath } from "./child-path.ts";

test("childPath of a resolved directory and one name is path.join's result", () => {
  const segment = fc.stringMatching(/^[a-z0-9._-]{1,12}$/).filter((name) => name !== "." && name !== "..");
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 4 }), segment, (parts, name) => {
      const directory = resolve("/", ...parts);
      assert.equal(childPath(directory, name), join(directory, name));
    }),
    { seed: 20, numRuns: 500 },
  );
  assert.equal(childPath("/", "store"), "/store");
});
