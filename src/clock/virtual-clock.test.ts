import assert from "node:assert/strict";
import { test } from "node:test";
import { advanceSettled } from "./settled-advance.ts";
import { createVirtualClock } from "./virtual-clock.ts";

test("timers fire in (due time, creation order), only as time is advanced, and cleared ones never", () => {
  const clock = createVirtualClock(100);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
  clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
  const cleared = clock.setTimeout(() => fired.push("cleared"), 5);
  clock.clearTimeout(cleared);
  clock.clearTimeout(undefined);
  assert.equal(clock.pendingTimers(), 3);
  assert.equal(clock.nextDueMs(), 110);
  clock.advance(15);
  assert.deepEqual(fired, ["a@110"]);
  assert.equal(clock.now(), 115);
  clock.advance(5);
  assert.deepEqual(fired, ["a@110", "b@120", "c@120"]);
  assert.equal(clock.pendingTimers(), 0);
  assert.equal(clock.nextDueMs(), undefined);
});

test("an interval fires every period until cleared; a timer set by a callback fires within the same advance", () => {
  const clock = createVirtualClock();
  const fired: number[] = [];
  let ticks = 0;
  const interval = clock.setInterval(() => {
    fired.push(clock.now());
    if (++ticks === 3) clock.clearTimeout(interval);
  }, 10);
  clock.setTimeout(() => clock.setTimeout(() => fired.push(-clock.now()), 1), 4);
  clock.advance(100);
  assert.deepEqual(fired, [-5, 10, 20, 30]);
  assert.equal(clock.pendingTimers(), 0);
});

test("advanceSettled lets a timer's promise chain run before the next timer fires", async () => {
  const clock = createVirtualClock();
  const order: string[] = [];
  clock.setTimeout(() => {
    void Promise.resolve()
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => order.push("first's chain"));
  }, 10);
  clock.setTimeout(() => order.push("second"), 10);
  await advanceSettled(clock, 10);
  assert.deepEqual(order, ["first's chain", "second"]);
  assert.equal(clock.now(), 10);
});
