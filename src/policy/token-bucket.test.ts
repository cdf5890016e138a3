import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { TokenBucket } from "./token-bucket.ts";

test("a full bucket gives its burst at once, then one token per 1/rate s of waiting", () => {
  const bucket = new TokenBucket(10, 0);
  for (let i = 0; i < 10; i++) assert.equal(bucket.take(1, 0, 1000), 0);
  assert.equal(bucket.take(1, 0, 1000), 100);
  assert.equal(bucket.take(1, 0, 1000), 200);
  // Past the longest wait: refused, nothing taken.
  assert.equal(bucket.take(9, 0, 1000), undefined);
  assert.equal(bucket.take(1, 0, 1000), 300);
  // Time pays the debt back; tokens never pile up beyond the burst.
  assert.equal(bucket.take(1, 10_000, 1000), 0);
  for (let i = 0; i < 9; i++) assert.equal(bucket.take(1, 10_000, 1000), 0);
  assert.equal(bucket.take(1, 10_000, 1000), 100);
});

test("a call larger than the burst passes when the bucket is full, and the calls after it pay its debt", () => {
  const bucket = new TokenBucket(100, 0);
  // 400 bytes under 100 bytes/s: it would have waited 3 s, past any longest wait, every time.
  assert.equal(bucket.take(400, 0, 2_000), 0);
  assert.equal(bucket.take(1, 0, 2_000), undefined, "3.01 s of debt to pay first");
  assert.equal(bucket.take(1, 1_500, 2_000), 1_510);
  // Not full: a large call waits (or is refused) like any other.
  assert.equal(bucket.take(400, 10_000, 2_000), 0);
  assert.equal(bucket.take(400, 14_000, 2_000), 0, "full again after 4 s");
  assert.equal(bucket.take(50, 15_000, 2_000), undefined, "200 in debt: 50 more would wait 2.5 s");
});

test("a taker that waits as told never exceeds rate x time + the larger of burst and its largest call (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1000 }),
      fc.array(fc.record({ cost: fc.integer({ min: 1, max: 500 }), pauseMs: fc.nat(50) }), {
        maxLength: 200,
      }),
      (rate, calls) => {
        const bucket = new TokenBucket(rate, 0);
        let now = 0;
        let taken = 0;
        let largest = rate;
        for (const { cost, pauseMs } of calls) {
          now += pauseMs;
          const waitMs = bucket.take(cost, now, 5_000);
          if (waitMs === undefined) continue;
          now += waitMs;
          taken += cost;
          largest = Math.max(largest, cost);
          assert.ok(taken <= largest + (rate * now) / 1000 + 1e-6, `${taken} tokens by ${now} ms`);
        }
      },
    ),
    propertyRuns(200),
  );
});
