import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FuelGovernor, type GovernorStop, REFILL_UNITS_MAX, REFILL_UNITS_MIN } from "./fuel-governor.ts";
import { REFILL_STOPPED } from "./refill-trampoline.ts";

/** A governor on a hand-driven clock; yielding resolves at once (and is counted). */
function governorAt(options: { cpuMsPerRun?: number; sliceMs?: number } = {}) {
  const clock = { ms: 1000 };
  let yields = 0;
  const governor = new FuelGovernor({
    cpuMsPerRun: options.cpuMsPerRun,
    sliceMs: options.sliceMs ?? 4,
    nowMs: () => clock.ms,
    yieldToLoop: async () => {
      yields++;
    },
  });
  const stops: GovernorStop[] = [];
  governor.beginRun((stop) => stops.push(stop));
  return { governor, clock, stops, yields: () => yields };
}

describe("FuelGovernor", () => {
  test("refill size adapts towards one refill every quarter millisecond, within bounds", () => {
    const { governor, clock } = governorAt({ sliceMs: 1e9 });
    // a fast guest: each refill is used up in 10 µs, so the amount grows (at most 8x per step)
    let units = 0;
    for (let i = 0; i < 10; i++) {
      clock.ms += 0.01;
      units = governor.refill() as number;
    }
    assert.equal(units, REFILL_UNITS_MAX);
    // a guest that got slow: 50 ms for the last refill, so the next aims at 0.25 ms of that pace
    clock.ms += 50;
    assert.equal(governor.refill(), (REFILL_UNITS_MAX * 0.25) / 50);
    clock.ms += 1000;
    assert.equal(governor.refill(), REFILL_UNITS_MIN);
  });

  test("yields when the slice is used up and does not count the wait", async () => {
    const { governor, clock, yields } = governorAt({ sliceMs: 4 });
    clock.ms += 1;
    assert.equal(typeof governor.refill(), "number");
    clock.ms += 4;
    const pending = governor.refill();
    assert.ok(pending instanceof Promise);
    clock.ms += 100; // the event loop runs other work meanwhile
    assert.equal(typeof (await pending), "number");
    assert.equal(yields(), 1);
    assert.equal(governor.usedMs, 5);
  });

  test("stops the guest past its CPU budget, once, with the stack of the moment", () => {
    const { governor, clock, stops } = governorAt({ cpuMsPerRun: 10, sliceMs: 1e9 });
    clock.ms += 9;
    assert.equal(typeof governor.refill(), "number");
    clock.ms += 2;
    assert.equal(governor.refill(), REFILL_STOPPED, "the guest traps in the trampoline, not thrown into");
    governor.refill();
    assert.equal(stops.length, 1);
    const stop = stops[0]!;
    assert.equal(stop.kind, "cpu_budget");
    assert.ok(
      stop.kind === "cpu_budget" && stop.usedMs === 11 && stop.budgetMs === 10 && stop.stack.length > 0,
    );
  });

  test("pause and resume keep host waits out of the CPU time", () => {
    const { governor, clock } = governorAt({ cpuMsPerRun: 10, sliceMs: 1e9 });
    clock.ms += 6;
    governor.pause();
    clock.ms += 1000;
    governor.resume();
    clock.ms += 3;
    assert.equal(governor.usedMs, 9);
    assert.equal(typeof governor.refill(), "number");
  });

  test("kill stops at the next refill; a new run starts fresh", () => {
    const { governor, stops } = governorAt();
    governor.kill("shutdown");
    assert.deepEqual(stops, [{ kind: "killed", reason: "shutdown" }]);
    assert.equal(governor.refill(), REFILL_STOPPED);
    governor.beginRun(() => {});
    assert.equal(governor.stopped, undefined);
  });
});

test("a kill ends the yield the guest waits in, even one that never ends itself", async () => {
  const clock = { ms: 1000 };
  const governor = new FuelGovernor({
    cpuMsPerRun: undefined,
    sliceMs: 1,
    nowMs: () => clock.ms,
    // A killed process's yield: the kernel never ends it.
    yieldToLoop: () => new Promise(() => {}),
  });
  governor.beginRun(() => {});
  clock.ms += 2;
  const pending = governor.refill();
  assert.ok(pending instanceof Promise);
  let answered: number | undefined;
  void pending.then((units) => {
    answered = units;
  });
  governor.kill("shutdown");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(answered, REFILL_STOPPED);
});
