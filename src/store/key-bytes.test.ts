import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  assertStorableKey,
  compareBytes,
  hasPrefix,
  isStorableKey,
  KEY_BYTES_MAX,
  prefixEnd,
} from "./key-bytes.ts";
import { StoreError } from "./store-error.ts";

const RUNS = Number(process.env.NX_PROPERTY_RUNS ?? 200);
const SEED = Number(process.env.NX_PROPERTY_SEED ?? 7);
const smallBytes = fc
  .uint8Array({ maxLength: 5 })
  .map((bytes) => bytes.map((byte) => [0, 1, 0x7f, 0x80, 0xfe, 0xff][byte % 6]!));

describe("key bytes", () => {
  it("orders like an unsigned bytewise comparison (Buffer.compare)", () => {
    fc.assert(
      fc.property(smallBytes, smallBytes, (a, b) => Math.sign(compareBytes(a, b)) === Buffer.compare(a, b)),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(
      compareBytes(Uint8Array.of(0x61), Uint8Array.of(0x61, 0x00)) < 0,
      "a proper prefix sorts first",
    );
    assert.ok(compareBytes(Uint8Array.of(0xff), Uint8Array.of(0x00, 0xff)) > 0, "bytes are unsigned");
  });

  it("prefixEnd never changes the caller's prefix, even a Buffer (whose slice is a view)", () => {
    const prefix = Buffer.from("ab");
    const end = prefixEnd(prefix);
    assert.deepEqual([...prefix], [0x61, 0x62]);
    assert.deepEqual([...(end ?? [])], [0x61, 0x63]);
  });

  it("bounds a prefix: key has the prefix exactly when prefix <= key < prefixEnd", () => {
    fc.assert(
      fc.property(smallBytes, smallBytes, (prefix, key) => {
        const end = prefixEnd(prefix);
        const inside = compareBytes(key, prefix) >= 0 && (end === undefined || compareBytes(key, end) < 0);
        return inside === hasPrefix(key, prefix);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.deepEqual(prefixEnd(Uint8Array.of(0x61, 0xff, 0xff)), Uint8Array.of(0x62));
    assert.equal(prefixEnd(Uint8Array.of(0xff, 0xff)), undefined);
    assert.equal(prefixEnd(new Uint8Array(0)), undefined);
  });

  it("accepts 1..KEY_BYTES_MAX byte keys only", () => {
    assert.equal(isStorableKey(new Uint8Array(0)), false);
    assert.equal(isStorableKey(new Uint8Array(1)), true);
    assert.equal(isStorableKey(new Uint8Array(KEY_BYTES_MAX)), true);
    assert.equal(isStorableKey(new Uint8Array(KEY_BYTES_MAX + 1)), false);
    assert.throws(
      () => assertStorableKey(new Uint8Array(KEY_BYTES_MAX + 1)),
      (error) =>
        error instanceof StoreError &&
        error.code === "STORE_KEY_INVALID" &&
        /1979 bytes; the limit is 1978/.test(error.message),
    );
    assert.throws(() => assertStorableKey(new Uint8Array(0)), /store key is empty/);
  });
});
