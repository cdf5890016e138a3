/** The regression gate: ratios against the baseline, thresholds, and the command's exit codes. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  type ComparableReport,
  compareReports,
  parseComparableReport,
} from "../../bench/gate/compare-reports.ts";
import { GateError } from "../../bench/gate/gate-error.ts";

const COMPARE = join(import.meta.dirname, "../../bench/gate/compare.ts");
const limits = { maxThroughputDropPct: 20, maxP99RisePct: 50 };

function report(
  overrides: Partial<ComparableReport> & { referenceOps?: number; opsPerNode?: number; p99?: number },
): ComparableReport {
  const referenceOps = overrides.referenceOps ?? 100_000;
  const opsPerNode = overrides.opsPerNode ?? 50_000;
  const p99 = overrides.p99 ?? 2;
  const target = overrides.target_ops_sec ?? 50_000;
  return {
    scenario: "three-node",
    smoke: false,
    nodes: 3,
    rate_mode: "max",
    tls: false,
    target_ops_sec: target,
    ops_sec_avg_per_node: opsPerNode,
    latency_ms: { p99 },
    reference: { name: "loopback_echo", ops_sec: referenceOps },
    ratios: {
      throughput_vs_reference: opsPerNode / referenceOps,
      throughput_vs_target: opsPerNode / target,
      p99_in_reference_ops: (p99 / 1000) * referenceOps,
    },
    passed: true,
    checks: [{ name: "converged", ok: true, detail: "" }],
    git_commit: "0123456789abcdef",
    ...overrides,
  };
}

describe("compareReports", () => {
  test("a slower machine that slowed Numax as much as the reference passes", () => {
    const result = compareReports(
      report({ referenceOps: 70_000, opsPerNode: 35_000, p99: 2.8 }),
      report({}),
      limits,
    );
    assert.equal(result.ok, true, result.lines.join("\n"));
    assert.match(result.lines.at(-1)!, /^three-node: PASSED against the baseline \(0123456789ab\)$/);
  });

  test("throughput down 25 % against the same reference fails with a clear line", () => {
    const result = compareReports(report({ opsPerNode: 37_500 }), report({}), limits);
    assert.equal(result.ok, false);
    assert.match(result.lines[0]!, /-25\.0 % \(at most -20 %\) REGRESSED/);
    assert.equal(result.lines.at(-1), "three-node: FAILED: throughput dropped 25.0 % (allowed 20 %)");
  });

  test("p99 up 60 % fails; up 40 % passes", () => {
    assert.equal(compareReports(report({ p99: 3.2 }), report({}), limits).ok, false);
    assert.equal(compareReports(report({ p99: 2.8 }), report({}), limits).ok, true);
  });

  test("a fixed-rate run that kept up is compared with its target, not the reference", () => {
    const fixed = { rate_mode: "fixed" as const, target_ops_sec: 1000, opsPerNode: 1000 };
    // Twice the reference speed would halve throughput_vs_reference; the target comparison is unmoved.
    const result = compareReports(report({ ...fixed, referenceOps: 200_000, p99: 1 }), report(fixed), limits);
    assert.equal(result.ok, true, result.lines.join("\n"));
    assert.match(result.lines[0]!, /^throughput 1 of the target rate/);
    assert.equal(compareReports(report({ ...fixed, opsPerNode: 700 }), report(fixed), limits).ok, false);
  });

  test("a report that failed its own checks fails", () => {
    const failed = report({ passed: false, checks: [{ name: "converged", ok: false, detail: "no" }] });
    const result = compareReports(failed, report({}), limits);
    assert.equal(result.ok, false);
    assert.match(result.lines.at(-1)!, /the report failed its own checks: converged/);
  });

  test("reports of different runs are refused", () => {
    assert.throws(
      () => compareReports(report({ nodes: 10 }), report({}), limits),
      (error: unknown) =>
        error instanceof GateError &&
        error.message ===
          "the report and the baseline are not comparable: nodes is 10 in the report and 3 in the baseline",
    );
    assert.throws(
      () => compareReports(report({ tls: true }), report({}), limits),
      /not comparable: tls is true in the report and false in the baseline/,
    );
    assert.throws(
      () => parseComparableReport({ scenario: "x" }, "r.json"),
      /r\.json is not a gate report: smoke:/,
    );
  });
});

describe("npm run gate:compare", () => {
  const dir = mkdtempSync(join(tmpdir(), "nx-gate-compare-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
    return path;
  };
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [COMPARE, ...args], { encoding: "utf8", timeout: 30_000 });

  test("exit 0 without regression, 1 with one, 2 on bad input", () => {
    const baseline = write("base.json", report({}));
    const same = run(write("same.json", report({})), "--baseline", baseline);
    assert.equal(same.status, 0, same.stderr);
    assert.match(same.stdout, /gate:compare: three-node: PASSED/);

    const slower = run(write("slow.json", report({ opsPerNode: 30_000 })), "--baseline", baseline);
    assert.equal(slower.status, 1);
    assert.match(slower.stdout, /gate:compare: three-node: FAILED: throughput dropped 40\.0 %/);
    const tolerated = run(
      write("slow2.json", report({ opsPerNode: 30_000 })),
      "--baseline",
      baseline,
      "--max-throughput-drop",
      "45",
    );
    assert.equal(tolerated.status, 0, tolerated.stdout);

    const missing = run(join(dir, "nope.json"), "--baseline", baseline);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^gate:compare: error: cannot read report .*nope\.json: ENOENT\n$/);
    const notJson = run(write("bad.json", "{"), "--baseline", baseline);
    assert.equal(notJson.status, 2);
    assert.match(notJson.stderr, /is not JSON\n$/);
    const badFlag = run(baseline, "--max-p99-rise", "lots");
    assert.equal(badFlag.status, 2);
    assert.match(badFlag.stderr, /--max-p99-rise must be a percentage >= 0, got "lots"/);
  });
});
