import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_REMOVE_TAGS } from "../crdt/op-codec.ts";
import { makeOpId } from "../crdt/op-id.ts";
import { OpTooLargeError } from "../crdt/op-too-large-error.ts";
import type { NodeId } from "../identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES } from "../net/frame.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "../wasm/abi/abi-limits.ts";
import { opWireBytesMax } from "./crdt-op-codec.ts";
import { assertOpFits, opBytesMaxOf, removeParts } from "./op-wire-budget.ts";

const ORIGIN = "0123456789abcdef0123456789abcdef" as NodeId;
const tagsOf = (count: number) => Array.from({ length: count }, (_, i) => makeOpId(ORIGIN, i + 1));

test("an op over the budget is refused naming its key and sizes; one at the budget passes", () => {
  const kind = { type: "lww_set" as const, value: new Uint8Array(3000) };
  const bytes = opWireBytesMax({ key: "k", kind });
  assertOpFits("k", kind, bytes);
  assert.throws(
    () => assertOpFits("k", kind, bytes - 1),
    (error) =>
      error instanceof OpTooLargeError &&
      error.code === "CRDT_OP_TOO_LARGE" &&
      error.message.includes(`"k"`) &&
      error.message.includes(`up to ${bytes} bytes`) &&
      error.message.includes(`over the ${bytes - 1}`),
  );
});

test("a remove is split into removes that each fit and together cover every tag, in order", () => {
  const element = new Uint8Array(100);
  const kind = { type: "orset_remove" as const, element, tags: tagsOf(1000) };
  const bytesMax = 16 * 1024;
  const parts = removeParts("set", kind, bytesMax);
  assert.ok(parts.length > 1);
  for (const part of parts) {
    assert.ok(opWireBytesMax({ key: "set", kind: part }) <= bytesMax);
    assert.equal(part.element, element);
  }
  assert.deepEqual(
    parts.flatMap((part) => part.tags),
    kind.tags,
  );
  assert.deepEqual(
    removeParts("set", kind, opWireBytesMax({ key: "set", kind })),
    [kind],
    "one that fits stays whole",
  );
});

test("no remove carries more than MAX_REMOVE_TAGS, which decoders refuse beyond, whatever the budget", () => {
  const kind = {
    type: "orset_remove" as const,
    element: new Uint8Array(1),
    tags: tagsOf(MAX_REMOVE_TAGS + 3),
  };
  const parts = removeParts("set", kind, 1024 * 1024 * 1024);
  assert.deepEqual(
    parts.map((part) => part.tags.length),
    [MAX_REMOVE_TAGS, 3],
  );
});

test("a remove whose element leaves no room for one tag is refused", () => {
  const kind = { type: "orset_remove" as const, element: new Uint8Array(6000), tags: tagsOf(2) };
  assert.throws(() => removeParts("set", kind, 8000), OpTooLargeError);
});

test("under the default max_message_size every op a guest can make fits, the largest value with the largest key and field", () => {
  const bytesMax = opBytesMaxOf(DEFAULT_MAX_MESSAGE_SIZE_BYTES);
  const key = "\u0000".repeat(KEY_BYTES_MAX); // escaped to 6 bytes each in JSON
  const value = new Uint8Array(VALUE_BYTES_MAX);
  const field = new Uint8Array(KEY_BYTES_MAX);
  assertOpFits(key, { type: "lww_map_set", field, value }, bytesMax);
  assertOpFits(key, { type: "rga_insert", parent: makeOpId(ORIGIN, 1), value }, bytesMax);
  assertOpFits(key, { type: "orset_add", element: value }, bytesMax);
});

test("an element an ORSet add may carry can be removed: the add keeps room for the remove's tag", () => {
  for (const bytesMax of [4096 - 128, 8000, 64 * 1024]) {
    // The largest element whose add fits, as the add alone counts it: its remove needs one tag more.
    let size = 0;
    while (
      opWireBytesMax({ key: "set", kind: { type: "orset_add", element: new Uint8Array(size + 1) } }) <=
      bytesMax
    )
      size++;
    for (const element of [new Uint8Array(size), new Uint8Array(Math.max(0, size - 60))]) {
      let added = true;
      try {
        assertOpFits("set", { type: "orset_add", element }, bytesMax);
      } catch (error) {
        assert.ok(error instanceof OpTooLargeError);
        added = false;
      }
      if (!added) continue;
      const remove = { type: "orset_remove" as const, element, tags: tagsOf(1) };
      assert.doesNotThrow(() => removeParts("set", remove, bytesMax), `element of ${element.length} bytes`);
    }
  }
});
