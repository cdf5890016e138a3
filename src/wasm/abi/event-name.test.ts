import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EVENT_NAME_BYTES_MAX, isValidEventName } from "./event-name.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("event names", () => {
  test("accept ASCII letters, digits and _ - . : up to EVENT_NAME_BYTES_MAX bytes", () => {
    assert.ok(isValidEventName(bytes("order.created:v2_final-1")));
    assert.ok(isValidEventName(bytes("a".repeat(EVENT_NAME_BYTES_MAX))));
  });

  test("refuse empty, too long, spaces, control bytes, slashes and non-ASCII", () => {
    for (const bad of ["", "a".repeat(EVENT_NAME_BYTES_MAX + 1), "two words", "line\nbreak", "a/b", "café"]) {
      assert.equal(isValidEventName(bytes(bad)), false, JSON.stringify(bad));
    }
  });
});
