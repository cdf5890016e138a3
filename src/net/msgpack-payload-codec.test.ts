import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crdtPackr } from "../crdt/msgpack.ts";
import { msgpackPayloadCodec } from "./msgpack-payload-codec.ts";
import { NetError } from "./net-error.ts";
import type { WireValue } from "./wire-value.ts";

/**
 * One fixext 1 of `type` with a zero data byte, followed by `["Error", "x", nil]`: enough for
 * every msgpackr extension to decode (those that read the value after them: Error, Set, RegExp).
 */
function extensionFrame(type: number): Uint8Array {
  return new Uint8Array([
    0xd4,
    type,
    0x00,
    0x93,
    0xa5,
    ...new TextEncoder().encode("Error"),
    0xa1,
    0x78,
    0xc0,
  ]);
}

function assertRefused(bytes: Uint8Array, detail: RegExp): void {
  assert.throws(
    () => msgpackPayloadCodec.decode(bytes),
    (error: unknown) =>
      error instanceof NetError &&
      error.code === "NET_MESSAGE_MALFORMED" &&
      detail.test(error.message) &&
      !error.message.includes("\n"),
  );
}

describe("msgpackPayloadCodec refuses MessagePack extensions the wire protocol does not use", () => {
  const types: Array<[number, string]> = [
    [0x42, "BigInt of any size"],
    [0x62, "bundled strings"],
    [0x65, "Error"],
    [0x69, "structured clone id"],
    [0x70, "structured clone pointer"],
    [0x73, "Set"],
    [0x74, "typed array"],
    [0x78, "RegExp"],
    [0xff, "Date"],
  ];
  for (const [type, name] of types) {
    const hex = type.toString(16).padStart(2, "0");
    test(`type 0x${hex} (${name})`, () => {
      assertRefused(
        extensionFrame(type),
        new RegExp(`extension type 0x${hex} is not part of the wire protocol`),
      );
    });
  }

  test("a large BigInt extension (ext 32) is refused inside a message, before its digits are read", () => {
    const digits = 1024 * 1024;
    const bytes = new Uint8Array(3 + 6 + digits);
    bytes.set([0x91, 0xc9]); // [ext 32]
    new DataView(bytes.buffer).setUint32(2, digits);
    bytes[6] = 0x42;
    bytes.fill(0x5a, 7);
    assertRefused(bytes.subarray(0, 7 + digits), /extension type 0x42 is not part of the wire protocol/);
  });

  test("a msgpackr record definition (0x72) is refused: small integers stay integers", () => {
    // [record 0x40 = ["a"] with a = 1, then 0x40 again]: msgpackr would give [{a: 1}, {a: 5}].
    assertRefused(
      new Uint8Array([0x92, 0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61, 0x01, 0x40, 0x05]),
      /extension type 0x72 is not part of the wire protocol/,
    );
    assert.deepEqual(msgpackPayloadCodec.decode(new Uint8Array([0x92, 0x40, 0x7f])), [64, 127]);
  });

  test("an undefined property (fixext 1 of type 0), as msgpackr packs it, decodes: any build may send one", () => {
    // The wire's own encoder (msgpackr's): an optional field left undefined is sent so.
    const bytes = msgpackPayloadCodec.encode({ a: undefined, b: [undefined, 1] } as unknown as WireValue);
    assert.deepEqual([...bytes.subarray(1, 6)], [0xa1, 0x61, 0xd4, 0x00, 0x00]);
    const decoded = msgpackPayloadCodec.decode(bytes) as Record<string, unknown>;
    assert.deepEqual(decoded, { a: undefined, b: [undefined, 1] });
    assert.ok(Object.hasOwn(decoded, "a"));
    // Stepped over, not a pass for the rest of the frame; and type 0 in any other form is refused.
    assertRefused(new Uint8Array([0x92, 0xd4, 0x00, 0x00, 0xd4, 0x42, 0x05]), /extension type 0x42 /);
    assertRefused(new Uint8Array([0xd5, 0x00, 0x00, 0x00]), /extension type 0x00 /);
    assertRefused(new Uint8Array([0xc7, 0x01, 0x00, 0x00]), /extension type 0x00 /);
  });

  test("an extension type msgpackr does not know is refused too", () => {
    assertRefused(new Uint8Array([0xd4, 0x05, 0x00]), /extension type 0x05 is not part of the wire protocol/);
  });

  test("u64 stamps stay MessagePack integers, and the store's packer still decodes its extensions", () => {
    const stamp = 2n ** 63n + 5n;
    const bytes = msgpackPayloadCodec.encode({ stamp });
    assert.equal(bytes[7], 0xcf, "uint64, not an extension");
    assert.deepEqual(msgpackPayloadCodec.decode(bytes), { stamp });
    // The refusal is the wire codec's own: msgpackr's (global) extension table is untouched.
    assert.equal(crdtPackr.unpack(new Uint8Array([0xd4, 0x42, 0x05])), 5n);
    assert.ok(crdtPackr.unpack(extensionFrame(0x73)) instanceof Set);
  });
});
