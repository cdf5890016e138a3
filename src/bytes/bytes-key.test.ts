import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { bytesKey } from "./bytes-key.ts";

describe("bytesKey", () => {
  test("is the latin1 string of the bytes at every length, short (built char by char) and long", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(8), (bytes, offset) => {
        // A view into a larger buffer too: the key covers the view, not the buffer.
        const backing = new Uint8Array(offset + bytes.length + 3);
        backing.set(bytes, offset);
        const view = backing.subarray(offset, offset + bytes.length);
        const expected = Buffer.from(bytes).toString("latin1");
        assert.equal(bytesKey(bytes), expected);
        assert.equal(bytesKey(view), expected);
      }),
      propertyRuns(500),
    );
  });

  test("tells apart byte strings that differ only in length or in one high byte", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), (bytes) => {
        assert.notEqual(bytesKey(bytes), bytesKey(bytes.subarray(0, bytes.length - 1)));
        const flipped = bytes.slice();
        flipped[0] = flipped[0]! ^ 0x80;
        assert.notEqual(bytesKey(bytes), bytesKey(flipped));
      }),
      propertyRuns(300),
    );
  });
});
