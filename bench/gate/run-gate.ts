#!/usr/bin/env node
/**
 * The load, chaos and regression gates' runner:
 *
 *   npm run gate -- <store|three-node|ten-node|chaos|partition> [--duration S] [--rate N|max]
 *                   [--nodes N] [--smoke] [--report FILE] [--plot FILE] [--kill-every S]
 *                   [--cpu-prof] [--keep-data]
 *
 * Runs the scenario against real `nx run` processes on 127.0.0.1, writes the JSON report
 * (default bench/out/gate/<scenario>[.smoke].json) and the plot next to it (.html), prints a
 * summary, and exits 0 when every check passed, 1 when one failed, 2 on bad flags, 130 on
 * Ctrl-C. Every process, proxy and temporary directory it made is gone when it exits, whatever
 * happened. Guide: docs/gates.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describeError } from "../../src/errors/numax-error.ts";
import { CleanupStack } from "./cleanup-stack.ts";
import { GateError } from "./gate-error.ts";
import { parseGateArgs } from "./gate-options.ts";
import { assembleReport, type GateReport } from "./gate-report.ts";
import { resolveSettings } from "./gate-settings.ts";
import { buildLoadGuests } from "./guest-modules.ts";
import { REPO_ROOT } from "./nx-process.ts";
import { renderPlotHtml } from "./plot-html.ts";
import { runEnvironment } from "./run-environment.ts";
import { SCENARIOS } from "./scenario-registry.ts";

const EXIT_PASSED = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

const say = (message: string): void => {
  process.stderr.write(`gate: ${message}\n`);
};

function summaryLines(report: GateReport, reportPath: string, plotPath: string): string[] {
  const latency = report.latency_ms;
  const lines = [
    `gate ${report.scenario}${report.smoke ? " (smoke)" : ""}: ${report.passed ? "PASSED" : "FAILED"}`,
    `  load: ${report.ops_total} ops in ${report.load_secs} s on ${report.nodes} node(s) = ${report.ops_sec_avg} ops/s ` +
      `(${report.ops_sec_avg_per_node} per node, target ${report.target_ops_sec}${report.rate_mode === "max" ? ", found by --rate max" : ""}); ` +
      `errors ${report.errors_total}`,
    `  latency ms: p50 ${latency.p50}  p95 ${latency.p95}  p99 ${latency.p99}  max ${latency.max}`,
    `  reference ${report.reference.name}: ${report.reference.ops_sec} ops/s; throughput/reference ${report.ratios.throughput_vs_reference}`,
    `  counters: expected ${report.expected_counter}, observed [${report.observed_counters.join(", ")}]; ` +
      `converged ${report.converged ? `yes, after ${report.convergence_wait_secs} s` : "NO"}; restarts ${report.restarts_total}`,
  ];
  for (const check of report.checks) {
    if (!check.ok) lines.push(`  check FAILED ${check.name}: ${check.detail}`);
  }
  for (const target of report.targets) {
    lines.push(
      `  target ${target.name}: ${target.met ? "met" : "NOT met"} (required ${target.required}, measured ${target.measured})`,
    );
  }
  lines.push(`  report: ${reportPath}`, `  plot:   ${plotPath}`);
  return lines;
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseGateArgs(argv);
  const settings = resolveSettings(options);
  const reportPath = resolve(
    options.reportPath ??
      join(REPO_ROOT, "bench/out/gate", `${settings.scenario}${settings.smoke ? ".smoke" : ""}.json`),
  );
  const plotPath = resolve(options.plotPath ?? reportPath.replace(/(\.json)?$/, ".html"));

  const cleanup = new CleanupStack();
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping the nodes and cleaning up`);
    controller.abort();
    void cleanup.runAll().then(() => process.exit(EXIT_INTERRUPTED));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const workDir = mkdtempSync(join(tmpdir(), `nx-gate-${settings.scenario}-`));
  if (settings.keepData) say(`keeping the nodes' data in ${workDir}`);
  else cleanup.defer(`remove ${workDir}`, () => rmSync(workDir, { recursive: true, force: true }));
  try {
    buildLoadGuests();
    const environment = runEnvironment();
    const startedAt = new Date();
    const scenario = await SCENARIOS[settings.scenario]();
    const outcome = await scenario({ settings, workDir, cleanup, signal: controller.signal, say });
    const report = assembleReport({
      scenario: settings.scenario,
      smoke: settings.smoke,
      startedAt,
      outcome,
      environment,
      binMs: settings.smoke ? 250 : 1000,
      nxArgs: settings.nxArgs,
      tls: settings.tls,
      workDir,
    });
    mkdirSync(dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    mkdirSync(dirname(plotPath), { recursive: true });
    writeFileSync(plotPath, renderPlotHtml(report));
    process.stdout.write(`${summaryLines(report, reportPath, plotPath).join("\n")}\n`);
    return report.passed ? EXIT_PASSED : EXIT_FAILED;
  } finally {
    const failures = await cleanup.runAll();
    for (const failure of failures) say(`cleanup: ${failure}`);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`gate: error: ${describeError(error)}\n`);
  process.exitCode =
    error instanceof GateError && error.code === "GATE_USAGE"
      ? EXIT_USAGE
      : error instanceof GateError && error.code === "GATE_INTERRUPTED"
        ? EXIT_INTERRUPTED
        : EXIT_FAILED;
}
