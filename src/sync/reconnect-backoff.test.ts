import assert from "node:assert/strict";
import { test } from "node:test";
import { REFUSED_PEER_REDIAL_DELAY_MS, reconnectDelayMs } from "./reconnect-backoff.ts";

const policy = { initialDelayMs: 100, maxDelayMs: 30_000, deadAfterFailures: 5 };

test("a failure a retry may fix climbs from the initial delay; a refusal waits REFUSED_PEER_REDIAL_DELAY_MS", () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((failures) => reconnectDelayMs(failures, policy, 0, false)),
    [50, 100, 200, 400],
  );
  assert.equal(reconnectDelayMs(5, policy, 0, false), 30_000, "dead: the longest delay");
  for (const failures of [1, 2, 3])
    assert.equal(
      reconnectDelayMs(failures, policy, 0, true),
      REFUSED_PEER_REDIAL_DELAY_MS,
      `refused ${failures} times`,
    );
});
