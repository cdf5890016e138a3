import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isReservedKey,
  overlapsReserved,
  RESERVED_END,
  RESERVED_PREFIX,
  reservedKey,
} from "./reserved-keys.ts";

const bytes = (value: string) => new TextEncoder().encode(value);

describe("reserved keys", () => {
  it("reserves exactly the keys starting with __nx/", () => {
    assert.equal(new TextDecoder().decode(RESERVED_PREFIX), "__nx/");
    for (const key of ["__nx/", "__nx/a", "__nx//", "__nx/\u0000"])
      assert.equal(isReservedKey(bytes(key)), true, key);
    for (const key of ["", "_", "__nx", "__nx0", "__NX/a", "_nx/a", "a__nx/", "__nx.", " __nx/"]) {
      assert.equal(isReservedKey(bytes(key)), false, key);
    }
  });

  it("flags the listing prefixes that could reach a reserved key", () => {
    for (const prefix of ["", "_", "__", "__n", "__nx", "__nx/", "__nx/abc"]) {
      assert.equal(overlapsReserved(bytes(prefix)), true, prefix);
    }
    for (const prefix of ["a", "__nx0", "__nx.", "_a", "___", "__NX"])
      assert.equal(overlapsReserved(bytes(prefix)), false, prefix);
  });

  it("names the first key past the namespace and builds runtime keys", () => {
    assert.equal(new TextDecoder().decode(RESERVED_END), "__nx0");
    assert.equal(new TextDecoder().decode(reservedKey("sync/seq")), "__nx/sync/seq");
    assert.equal(isReservedKey(reservedKey("")), true);
  });
});
