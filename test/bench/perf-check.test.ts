/**
 * The perf:check verdict (bench/perf-check/compare-figures.ts): a figure fails when its median
 * moved in its worse direction beyond its threshold, or when it has no value or no baseline.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareFigures, median, type PerfBaseline } from "../../bench/perf-check/compare-figures.ts";
import { figureAt, PERF_FIGURES, type PerfFigure } from "../../bench/perf-check/perf-figures.ts";

const FIGURES: PerfFigure[] = [
  { name: "spawn", benchmark: "b", path: "a.ratio", better: "higher", what: "" },
  { name: "fuel", benchmark: "b", path: "f.ratio", better: "lower", what: "" },
];
const BASELINE: PerfBaseline = {
  version: 1,
  runs: 3,
  figures: { spawn: { value: 0.2, max_regression_pct: 25 }, fuel: { value: 1.5, max_regression_pct: 20 } },
};

test("medians within their thresholds pass, in either direction of better", () => {
  const verdict = compareFigures(
    FIGURES,
    new Map([
      ["spawn", [0.1, 0.16, 0.5]], // median 0.16: 20 % lower, allowed 25 %
      ["fuel", [1.7, 1.75, 9]], // median 1.75: 16.7 % higher, allowed 20 %
    ]),
    BASELINE,
  );
  assert.equal(verdict.ok, true, verdict.table);
  assert.equal(verdict.rows[0]!.median, 0.16);
  assert.ok(Math.abs(verdict.rows[0]!.regressionPct! - 20) < 1e-9);
});

test("a median beyond its threshold fails with a table naming the figure", () => {
  const verdict = compareFigures(
    FIGURES,
    new Map([
      ["spawn", [0.14, 0.14, 0.3]], // 30 % lower
      ["fuel", [1.2, 1.2, 1.2]], // better
    ]),
    BASELINE,
  );
  assert.equal(verdict.ok, false);
  assert.deepEqual(
    verdict.rows.map((row) => row.ok),
    [false, true],
  );
  assert.match(
    verdict.table,
    /\| spawn +\| higher +\| 0\.14 +\| 0\.14 0\.14 0\.3 \| 0\.2 +\| 30\.0 % +\| 25 % +\| REGRESSED \|/,
  );
  assert.match(verdict.table, /\| fuel .*\| -20\.0 % .*\| ok +\|/);
});

test("a figure without values or without a baseline fails: the gate never passes on nothing", () => {
  const verdict = compareFigures(FIGURES, new Map([["spawn", [0.2]]]), {
    ...BASELINE,
    figures: { spawn: BASELINE.figures.spawn! },
  });
  assert.equal(verdict.ok, false);
  assert.match(verdict.table, /\| fuel .*NO VALUE \|/);
  const noBaseline = compareFigures(
    FIGURES,
    new Map([
      ["spawn", [0.2]],
      ["fuel", [1]],
    ]),
    {
      ...BASELINE,
      figures: { spawn: BASELINE.figures.spawn! },
    },
  );
  assert.match(noBaseline.table, /\| fuel .*NO BASELINE \|/);
});

test("figures are read from report paths; the committed baseline covers every figure", async () => {
  assert.equal(figureAt({ a: { b: 0.5 } }, "a.b"), 0.5);
  assert.equal(figureAt({ a: { b: "0.5" } }, "a.b"), undefined);
  assert.equal(figureAt({ a: null }, "a.b"), undefined);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  const { default: baseline } = await import("../../bench/baselines/perf-check.json", {
    with: { type: "json" },
  });
  for (const figure of PERF_FIGURES) {
    const entry = (baseline as PerfBaseline).figures[figure.name];
    assert.ok(entry !== undefined && entry.value > 0 && entry.max_regression_pct > 0, figure.name);
  }
});
