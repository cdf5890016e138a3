import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ClockDriftError,
  HLC_LOGICAL_RANGE,
  type HlcTimestamp,
  HybridClock,
  hlcPhysicalMs,
} from "./hybrid-clock.ts";

test("stamps strictly increase within one millisecond and follow physical time", () => {
  let now = 1_000;
  const clock = new HybridClock({ nowMs: () => now });
  const first = clock.now();
  const second = clock.now();
  assert.ok(second > first);
  assert.equal(hlcPhysicalMs(second), 1_000);
  now = 2_000;
  assert.equal(clock.now(), 2_000 * HLC_LOGICAL_RANGE);
});

test("a physical clock that steps back does not make stamps go back", () => {
  let now = 5_000;
  const clock = new HybridClock({ nowMs: () => now });
  const before = clock.now();
  now = 4_000;
  assert.ok(clock.now() > before);
});

test("more stamps than fit in one millisecond borrow from the next, still increasing", () => {
  const clock = new HybridClock({ nowMs: () => 7 });
  let last = clock.now();
  for (let i = 0; i < 3 * HLC_LOGICAL_RANGE; i++) {
    const next = clock.now();
    assert.ok(next > last);
    last = next;
  }
});

test("after receiving a remote stamp, local stamps are greater than it", () => {
  const clock = new HybridClock({ nowMs: () => 1_000, maxDriftMs: 10_000 });
  const remote = (5_000 * HLC_LOGICAL_RANGE + 3) as HlcTimestamp;
  clock.receive(remote);
  assert.ok(clock.now() > remote);
});

test("a remote stamp beyond the drift bound is refused and leaves the clock alone", () => {
  const clock = new HybridClock({ nowMs: () => 1_000, maxDriftMs: 500 });
  const before = clock.last();
  assert.throws(
    () => clock.receive((2_000 * HLC_LOGICAL_RANGE) as HlcTimestamp),
    (error: unknown) =>
      error instanceof ClockDriftError && error.code === "CLOCK_DRIFT" && error.aheadMs === 1_000,
  );
  assert.equal(clock.last(), before);
  clock.receive((1_400 * HLC_LOGICAL_RANGE) as HlcTimestamp);
  assert.equal(hlcPhysicalMs(clock.last()), 1_400);
});

test("restarts continue after the persisted last stamp", () => {
  const clock = new HybridClock({ nowMs: () => 10, last: (99_999 * HLC_LOGICAL_RANGE) as HlcTimestamp });
  assert.ok(clock.now() > 99_999 * HLC_LOGICAL_RANGE);
});
