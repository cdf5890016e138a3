import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { firstRefusedExtensionType } from "./msgpack-extension-scan.ts";

// The wire's options (src/net/msgpack-payload-codec.ts): values of every MessagePack header size.
const packr = new Packr({ useRecords: false, variableMapSize: true, int64AsType: "bigint" });
const leaf = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 70_000 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined), // fixext 1 of type 0
);
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.array(tie("node"), { maxLength: 20 }),
    fc.dictionary(fc.string(), tie("node"), { maxKeys: 20 }),
  ),
})).node;

describe("firstRefusedExtensionType", () => {
  test("finds none in any value the wire packer writes", () => {
    fc.assert(
      fc.property(value, (v) => firstRefusedExtensionType(packr.pack(v)) === -1),
      { seed: 20261207, numRuns: 300 },
    );
  });

  test("finds an extension of any form wherever it sits, after values of every size", () => {
    const forms = (type: number): number[][] => [
      [0xd4, type, 0],
      [0xd5, type, 0, 0],
      [0xd6, type, 0, 0, 0, 0],
      [0xd7, type, ...new Array(8).fill(0)],
      [0xd8, type, ...new Array(16).fill(0)],
      [0xc7, 3, type, 1, 2, 3],
      [0xc8, 0, 3, type, 1, 2, 3],
      [0xc9, 0, 0, 0, 3, type, 1, 2, 3],
    ];
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 6 }),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(7),
        (before, type, form) => {
          const prefix = packr.pack([...before, "x"]);
          // The array's header counts one more value: the extension, written in place of "x".
          const bytes = new Uint8Array([...prefix.subarray(0, prefix.length - 2), ...forms(type)[form]]);
          return firstRefusedExtensionType(bytes) === type;
        },
      ),
      { seed: 20261207, numRuns: 300 },
    );
  });

  test("steps exactly over the headers msgpackr's packer does not write for these values", () => {
    // float32, bin 16, str 32, array 32, map 32: each a one-value array's element, then an extension.
    const headers = [
      [0xca, 1, 2, 3, 4],
      [0xc5, 0, 2, 0xd4, 0x42],
      [0xdb, 0, 0, 0, 2, 0xd4, 0x42],
      [0xdd, 0, 0, 0, 1, 0xc0],
      [0xdf, 0, 0, 0, 1, 0xa1, 0x61, 0xc0],
      [0xd4, 0x00, 0x42],
    ];
    for (const header of headers) {
      const bytes = new Uint8Array([0x92, ...header, 0xd4, 0x65, 0]);
      assert.equal(firstRefusedExtensionType(bytes), 0x65, Buffer.from(bytes).toString("hex"));
    }
  });

  test("stops at the end of a truncated payload or one whose counts lie", () => {
    assert.equal(firstRefusedExtensionType(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01])), -1);
    assert.equal(firstRefusedExtensionType(new Uint8Array([0xc6, 0xff, 0xff, 0xff, 0xff])), -1);
    assert.equal(firstRefusedExtensionType(new Uint8Array([0xc9, 0, 0])), -1);
    assert.equal(firstRefusedExtensionType(new Uint8Array([])), -1);
  });
});
