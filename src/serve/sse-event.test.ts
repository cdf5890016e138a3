import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeSseEvent, isSseEventName, SSE_EVENT_NAME_MAX_BYTES } from "./sse-event.ts";

test("an event is its event line, one data line per line of data, and a blank line", () => {
  assert.equal(encodeSseEvent("", "tick 0"), "data: tick 0\n\n");
  assert.equal(encodeSseEvent("chat/room", "hi"), "event: chat/room\ndata: hi\n\n");
  assert.equal(encodeSseEvent("", "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  assert.equal(encodeSseEvent("", ""), "data: \n\n");
});

test("an event name with a line break or NUL, or too long, is refused", () => {
  assert.equal(isSseEventName(""), true);
  assert.equal(isSseEventName("update"), true);
  assert.equal(isSseEventName("a\nb"), false);
  assert.equal(isSseEventName("a\rb"), false);
  assert.equal(isSseEventName("a\0b"), false);
  assert.equal(isSseEventName("x".repeat(SSE_EVENT_NAME_MAX_BYTES + 1)), false);
});
