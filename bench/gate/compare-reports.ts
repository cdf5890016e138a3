import { z } from "zod";
import { GateError } from "./gate-error.ts";
import { KEEP_UP_SHARE } from "./gate-report.ts";

/**
 * The regression gate: a report against its baseline, each figure as a ratio to the reference
 * workload measured in the same run, so a busier or slower machine moves both sides alike.
 *
 * - Throughput: ops/s per node divided by the reference's ops/s. A fixed-rate run that kept to
 *   its schedule cannot go faster than its target, so when the baseline kept up the figure is
 *   ops/s per node divided by the target instead (a drop means it no longer keeps up).
 * - p99 latency in reference operations: p99 (s) times the reference's ops/s.
 *
 * Fails when throughput dropped, or p99 rose, by more than the allowed percentage, or when the
 * report failed its own checks. Pure: reports in, verdict and lines out.
 */

const report = z.object({
  scenario: z.string(),
  smoke: z.boolean(),
  nodes: z.number(),
  rate_mode: z.enum(["fixed", "max"]),
  // Reports before --tls ran plain TCP.
  tls: z.boolean().default(false),
  target_ops_sec: z.number(),
  ops_sec_avg_per_node: z.number(),
  latency_ms: z.object({ p99: z.number() }),
  reference: z.object({ name: z.string(), ops_sec: z.number().positive() }),
  ratios: z.object({
    throughput_vs_reference: z.number(),
    throughput_vs_target: z.number(),
    p99_in_reference_ops: z.number(),
  }),
  passed: z.boolean(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
  git_commit: z.string(),
});

export type ComparableReport = z.infer<typeof report>;

/** `json` as a report, or GATE_REPORT_INVALID naming `what` and the first problem. */
export function parseComparableReport(json: unknown, what: string): ComparableReport {
  const parsed = report.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new GateError(
    "GATE_REPORT_INVALID",
    `${what} is not a gate report: ${issue.path.join(".") || "(top)"}: ${issue.message}`,
  );
}

export interface CompareThresholds {
  readonly maxThroughputDropPct: number;
  readonly maxP99RisePct: number;
}

export interface Comparison {
  readonly ok: boolean;
  readonly lines: readonly string[];
}

const percent = (value: number): string => `${value >= 0 ? "+" : ""}${(value * 100).toFixed(1)} %`;

export function compareReports(
  current: ComparableReport,
  baseline: ComparableReport,
  thresholds: CompareThresholds,
): Comparison {
  const mismatch = (
    [
      ["scenario", current.scenario, baseline.scenario],
      ["smoke", current.smoke, baseline.smoke],
      ["nodes", current.nodes, baseline.nodes],
      ["rate_mode", current.rate_mode, baseline.rate_mode],
      ["tls", current.tls, baseline.tls],
      ["reference", current.reference.name, baseline.reference.name],
      ...(current.rate_mode === "fixed"
        ? [["target_ops_sec", current.target_ops_sec, baseline.target_ops_sec]]
        : []),
    ] as const
  ).find(([, a, b]) => a !== b);
  if (mismatch !== undefined) {
    throw new GateError(
      "GATE_REPORT_INVALID",
      `the report and the baseline are not comparable: ${mismatch[0]} is ${String(mismatch[1])} in the report and ${String(mismatch[2])} in the baseline`,
    );
  }
  const name = `${current.scenario}${current.smoke ? " (smoke)" : ""}`;
  const lines: string[] = [];
  const failures: string[] = [];

  const capped = current.rate_mode === "fixed" && baseline.ratios.throughput_vs_target >= KEEP_UP_SHARE;
  const [throughputNow, throughputBase, unit] = capped
    ? [current.ratios.throughput_vs_target, baseline.ratios.throughput_vs_target, "of the target rate"]
    : [
        current.ratios.throughput_vs_reference,
        baseline.ratios.throughput_vs_reference,
        `of ${current.reference.name}`,
      ];
  const throughputChange = throughputBase === 0 ? 0 : throughputNow / throughputBase - 1;
  const throughputOk = -throughputChange * 100 <= thresholds.maxThroughputDropPct;
  lines.push(
    `throughput ${throughputNow} ${unit} (${current.ops_sec_avg_per_node} ops/s per node), baseline ${throughputBase}: ` +
      `${percent(throughputChange)} (at most -${thresholds.maxThroughputDropPct} %) ${throughputOk ? "ok" : "REGRESSED"}`,
  );
  if (!throughputOk) {
    failures.push(
      `throughput dropped ${(-throughputChange * 100).toFixed(1)} % (allowed ${thresholds.maxThroughputDropPct} %)`,
    );
  }

  const p99Now = current.ratios.p99_in_reference_ops;
  const p99Base = baseline.ratios.p99_in_reference_ops;
  const p99Change = p99Base === 0 ? (p99Now === 0 ? 0 : Number.POSITIVE_INFINITY) : p99Now / p99Base - 1;
  const p99Ok = p99Change * 100 <= thresholds.maxP99RisePct;
  lines.push(
    `p99 ${p99Now} reference ops (${current.latency_ms.p99} ms), baseline ${p99Base}: ` +
      `${percent(p99Change)} (at most +${thresholds.maxP99RisePct} %) ${p99Ok ? "ok" : "REGRESSED"}`,
  );
  if (!p99Ok)
    failures.push(
      `p99 latency rose ${(p99Change * 100).toFixed(1)} % (allowed ${thresholds.maxP99RisePct} %)`,
    );

  if (!current.passed) {
    const failed = current.checks.filter((check) => !check.ok).map((check) => check.name);
    failures.push(`the report failed its own checks: ${failed.join(", ")}`);
  }
  lines.push(
    failures.length === 0
      ? `${name}: PASSED against the baseline (${baseline.git_commit.slice(0, 12)})`
      : `${name}: FAILED: ${failures.join("; ")}`,
  );
  return { ok: failures.length === 0, lines };
}
