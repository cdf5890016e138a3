#!/usr/bin/env node
/**
 * The regression gate's command:
 *
 *   npm run gate:compare -- <report.json> [--baseline FILE] [--max-throughput-drop 20] [--max-p99-rise 50]
 *
 * Compares a gate report with its baseline (default bench/baselines/<scenario>[.smoke].json)
 * through compare-reports.ts; prints one line per figure and a verdict. Exit 0: no regression;
 * 1: a figure regressed beyond its threshold or the report failed its own checks; 2: bad
 * arguments, a missing or unreadable file, or reports that cannot be compared.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describeError } from "../../src/errors/numax-error.ts";
import { compareReports, parseComparableReport } from "./compare-reports.ts";
import { GateError } from "./gate-error.ts";
import { REPO_ROOT } from "./nx-process.ts";

const USAGE =
  "usage: npm run gate:compare -- <report.json> [--baseline FILE] [--max-throughput-drop 20] [--max-p99-rise 50]";

function usage(message: string): GateError {
  return new GateError("GATE_USAGE", `${message}\n${USAGE}`);
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new GateError(
      "GATE_REPORT_INVALID",
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? describeError(error)}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new GateError("GATE_REPORT_INVALID", `${what} ${path} is not JSON`);
  }
}

function percentage(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw usage(`${flag} must be a percentage >= 0, got ${text === undefined ? "nothing" : `"${text}"`}`);
  }
  return value;
}

function main(argv: readonly string[]): number {
  let reportPath: string | undefined;
  let baselinePath: string | undefined;
  let maxThroughputDropPct = 20;
  let maxP99RisePct = 50;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--baseline") {
      baselinePath = argv[++i];
      if (baselinePath === undefined) throw usage("--baseline needs a file");
    } else if (arg === "--max-throughput-drop") maxThroughputDropPct = percentage(arg, argv[++i]);
    else if (arg === "--max-p99-rise") maxP99RisePct = percentage(arg, argv[++i]);
    else if (arg.startsWith("-")) throw usage(`unknown option ${arg}`);
    else if (reportPath !== undefined) throw usage(`one report at a time (got ${reportPath} and ${arg})`);
    else reportPath = arg;
  }
  if (reportPath === undefined) throw usage("name a report");
  const current = parseComparableReport(readJson(resolve(reportPath), "report"), reportPath);
  const baselineFile = resolve(
    baselinePath ??
      join(REPO_ROOT, "bench/baselines", `${current.scenario}${current.smoke ? ".smoke" : ""}.json`),
  );
  const baseline = parseComparableReport(readJson(baselineFile, "baseline"), baselineFile);
  const comparison = compareReports(current, baseline, { maxThroughputDropPct, maxP99RisePct });
  for (const line of comparison.lines) process.stdout.write(`gate:compare: ${line}\n`);
  return comparison.ok ? 0 : 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`gate:compare: error: ${describeError(error)}\n`);
  process.exitCode = 2;
}
