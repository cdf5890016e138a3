/** `--rate max`: the search policy over trial outcomes. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  bestPassingRate,
  bestPassingRateWithin,
  FULL_RUN_SEARCH,
  nextRate,
  type SearchPolicy,
  type TrialOutcome,
} from "../../bench/gate/max-rate-search.ts";

const policy: SearchPolicy = { startRate: 1000, precision: 0.1, maxTrials: 12, minRate: 10 };

/** Runs the search against a cluster that passes exactly up to `capacity`. */
function search(capacity: number, with_: SearchPolicy = policy): TrialOutcome[] {
  const trials: TrialOutcome[] = [];
  for (let rate = nextRate(trials, with_); rate !== undefined; rate = nextRate(trials, with_)) {
    trials.push({ rate, passed: rate <= capacity });
  }
  return trials;
}

describe("max rate search", () => {
  test("doubles until a failure, then bisects to within the precision", () => {
    const trials = search(5000);
    assert.deepEqual(
      trials.slice(0, 4).map((trial) => trial.rate),
      [1000, 2000, 4000, 8000],
    );
    const best = bestPassingRate(trials)!;
    assert.ok(best <= 5000 && best >= 5000 / 1.1, String(best));
  });

  test("halves when the first trial fails, and gives up below the minimum", () => {
    assert.deepEqual(
      search(300)
        .slice(0, 3)
        .map((trial) => trial.rate),
      [1000, 500, 250],
    );
    const none = search(0);
    assert.equal(bestPassingRate(none), undefined);
    assert.ok(none.every((trial) => trial.rate >= policy.minRate));
  });

  test("for any capacity: bounded trials, and the answer passes and lies within the precision when found", () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 200_000 }), (capacity) => {
        const trials = search(capacity);
        assert.ok(trials.length <= policy.maxTrials);
        const best = bestPassingRate(trials);
        if (best === undefined) return;
        assert.ok(best <= capacity);
        const failedAbove = trials.filter((trial) => !trial.passed).map((trial) => trial.rate);
        if (trials.length < policy.maxTrials)
          assert.ok(Math.min(...failedAbove) / best <= 1 + policy.precision);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe("the full run's search (docs/gates.md: within 10 %)", () => {
  test("finds any maximum below 2 048 000 per node within its precision, not cut short by the trial cap", () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 2_047_999 }), (capacity) => {
        const trials = search(capacity, FULL_RUN_SEARCH);
        assert.ok(trials.length <= FULL_RUN_SEARCH.maxTrials);
        const best = bestPassingRate(trials)!;
        const lowestFailure = Math.min(...trials.filter((trial) => !trial.passed).map((trial) => trial.rate));
        assert.ok(best <= capacity && lowestFailure > capacity);
        assert.ok(
          lowestFailure / best <= 1 + FULL_RUN_SEARCH.precision,
          `${capacity}: ${best}..${lowestFailure}`,
        );
      }),
      { seed: 20261206, numRuns: 500 },
    );
    assert.equal(bestPassingRate(search(600_000, FULL_RUN_SEARCH))! >= 600_000 / 1.1, true);
  });
});

describe("the fastest passing trial with bounded latency", () => {
  test("only passing trials within the p99 bound count", () => {
    const trials = [
      { rate: 2000, passed: true, p99Ms: 5 },
      { rate: 4000, passed: true, p99Ms: 80 },
      { rate: 8000, passed: true, p99Ms: 400 },
      { rate: 16000, passed: false, p99Ms: 20 },
    ];
    assert.equal(bestPassingRateWithin(trials, 100), 4000);
    assert.equal(bestPassingRateWithin(trials, 1000), 8000);
    assert.equal(bestPassingRateWithin(trials, 1), undefined);
  });
});
