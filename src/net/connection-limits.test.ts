import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConnectionLimits } from "./connection-limits.ts";
import { MAX_MESSAGE_SIZE_MIN_BYTES } from "./frame.ts";

test("a message size limit under the least one a Hello may announce is refused where it is set, not at every handshake", () => {
  assert.throws(
    () => resolveConnectionLimits({ maxMessageSizeBytes: MAX_MESSAGE_SIZE_MIN_BYTES - 1 }),
    RangeError,
  );
  assert.equal(
    resolveConnectionLimits({ maxMessageSizeBytes: MAX_MESSAGE_SIZE_MIN_BYTES }).maxMessageSizeBytes,
    MAX_MESSAGE_SIZE_MIN_BYTES,
  );
});
