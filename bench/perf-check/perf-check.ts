#!/usr/bin/env node
/**
 * The performance regression gate of CI:
 *
 *   npm run perf:check [-- --runs 3] [--update]
 *
 * Runs every benchmark that PERF_FIGURES names `--runs` times (`--quick`, one child process per
 * run, about 70 s per round on a 2-core machine), takes each figure's median and compares it with
 * bench/baselines/perf-check.json (compare-figures.ts); prints the table. Exit 0: no figure
 * regressed beyond its threshold; 1: one did, or has no value or no baseline; 2: bad arguments, a
 * benchmark that failed, or an unreadable baseline. `--update` writes the medians as the new
 * baseline (keeping each threshold; a new figure gets DEFAULT_THRESHOLD_PCT): commit it with the
 * table it prints, saying why. See docs/gates.md, "perf:check".
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../gate/nx-process.ts";
import { compareFigures, median, type PerfBaseline } from "./compare-figures.ts";
import { figureAt, PERF_FIGURES } from "./perf-figures.ts";

const USAGE = "usage: npm run perf:check [-- --runs N] [--update]";
const BASELINE_PATH = join(REPO_ROOT, "bench/baselines/perf-check.json");
const RUNS_DEFAULT = 3;
/** Threshold of a figure new to the baseline until its noise is measured (docs/gates.md). */
const DEFAULT_THRESHOLD_PCT = 50;
/** One quick benchmark run; a run beyond it is a failure, not a hang. */
const BENCHMARK_TIMEOUT_MS = 300_000;

function fail(code: number, message: string): never {
  process.stderr.write(`perf:check: ${message}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
const update = args.includes("--update");
const runsAt = args.indexOf("--runs");
const runs = runsAt < 0 ? RUNS_DEFAULT : Number(args[runsAt + 1]);
if (!Number.isInteger(runs) || runs < 1) fail(2, `--runs needs a whole number >= 1\n${USAGE}`);
const unknown = args.filter((arg, i) => arg !== "--update" && arg !== "--runs" && i !== runsAt + 1);
if (unknown.length > 0) fail(2, `unknown argument ${unknown[0]}\n${USAGE}`);

let baseline: PerfBaseline | undefined;
try {
  baseline = JSON.parse(readFileSync(BASELINE_PATH, "utf8")) as PerfBaseline;
} catch (error) {
  if (!update) fail(2, `cannot read the baseline ${BASELINE_PATH}: ${String(error)}`);
}

const benchmarks = [...new Set(PERF_FIGURES.map((figure) => figure.benchmark))];
const samples = new Map<string, number[]>(PERF_FIGURES.map((figure) => [figure.name, []]));
const dir = mkdtempSync(join(tmpdir(), "nx-perf-check-"));
try {
  for (let run = 1; run <= runs; run++) {
    // Rounds, not all runs of one benchmark in a row: a burst of load from other jobs then hits
    // one run of each benchmark rather than every run of one.
    for (const benchmark of benchmarks) {
      const report = join(dir, `${benchmark}-${run}.json`);
      process.stderr.write(`perf:check: ${benchmark} --quick, run ${run} of ${runs}\n`);
      const result = spawnSync(process.execPath, ["bench/run.ts", benchmark, "--quick", "--report", report], {
        cwd: REPO_ROOT,
        stdio: ["ignore", "ignore", "inherit"],
        timeout: BENCHMARK_TIMEOUT_MS,
      });
      if (result.status !== 0) fail(2, `${benchmark} failed (exit ${result.status ?? result.signal})`);
      const json: unknown = JSON.parse(readFileSync(report, "utf8"));
      for (const figure of PERF_FIGURES) {
        if (figure.benchmark !== benchmark) continue;
        const value = figureAt(json, figure.path);
        if (value !== undefined) samples.get(figure.name)!.push(value);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (update) {
  const figures: Record<string, { value: number; max_regression_pct: number }> = {};
  for (const figure of PERF_FIGURES) {
    const value = median(samples.get(figure.name)!);
    if (value === undefined) fail(2, `no value for ${figure.name} at ${figure.benchmark} ${figure.path}`);
    figures[figure.name] = {
      value,
      max_regression_pct: baseline?.figures[figure.name]?.max_regression_pct ?? DEFAULT_THRESHOLD_PCT,
    };
  }
  const next: PerfBaseline = { version: 1, runs, figures };
  writeFileSync(BASELINE_PATH, `${JSON.stringify(next, null, 2)}\n`);
  process.stdout.write(`${compareFigures(PERF_FIGURES, samples, next).table}\n`);
  process.stdout.write(`perf:check: baseline written to ${BASELINE_PATH}; commit it with this table\n`);
} else {
  const verdict = compareFigures(PERF_FIGURES, samples, baseline!);
  process.stdout.write(`${verdict.table}\n`);
  process.stdout.write(
    `perf:check: ${verdict.ok ? "no figure regressed beyond its threshold" : "REGRESSED"}\n`,
  );
  process.exitCode = verdict.ok ? 0 : 1;
}
