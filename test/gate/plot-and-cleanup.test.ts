/** The plot page is self-contained and escapes what it shows; the cleanup stack undoes everything once. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CleanupStack } from "../../bench/gate/cleanup-stack.ts";
import type { GateReport } from "../../bench/gate/gate-report.ts";
import { renderPlotHtml } from "../../bench/gate/plot-html.ts";

function sampleReport(): GateReport {
  const latency = { p50: 0.1, p95: 1, p99: 2, p999: 3, max: 4, mean: 0.5, count: 10 };
  return {
    report_version: 1,
    scenario: "chaos",
    smoke: true,
    started_at: "2026-01-01T00:00:00.000Z",
    nodes: 3,
    duration_secs: 6,
    rate_mode: "fixed",
    target_ops_sec: 200,
    nx_args: [],
    tls: false,
    ops_total: 3600,
    ops_sec_avg: 600,
    ops_sec_avg_per_node: 200,
    load_secs: 6,
    errors_total: 0,
    expected_counter: 3600,
    observed_counters: [3600, 3600, 3600],
    converged: true,
    convergence_wait_secs: 0.05,
    latency_ms: latency,
    restarts_total: 1,
    node_resources: [{ node: "n0", peak_rss_mb: 100, cpu_secs: 2, incarnations: 2, pids: [1, 2] }],
    reference: { name: "loopback_echo", ops_sec: 100_000, duration_secs: 0.3 },
    ratios: { throughput_vs_reference: 0.002, throughput_vs_target: 1, p99_in_reference_ops: 200 },
    passed: false,
    checks: [{ name: "converged", ok: false, detail: "<script>alert(1)</script>" }],
    targets: [{ name: "chaos_5_minutes", required: "300 s", measured: "6 s", met: false }],
    events: [
      { t_secs: 2, kind: "kill", node: "n0" },
      { t_secs: 2.02, kind: "restart", node: "n0" },
    ],
    timeline: [1, 2, 3, 4, 5, 6].map((t) => ({
      t_secs: t,
      ops_sec: 600,
      errors: 0,
      p50_ms: 0.1,
      p99_ms: t === 2 ? 40 : 2,
      max_ms: 5,
      rss_mb: 300,
      cpu_pct: 80,
    })),
    details: {},
    git_commit: "0123456789abcdef0123",
    git_dirty: false,
    node_version: "v26.10.0",
    environment: {
      git_commit: "0123456789abcdef0123",
      git_dirty: false,
      node_version: "v26.10.0",
      platform: "linux-x64",
      cpus: 2,
      load_average_1m: 1,
    },
    work_dir: "/tmp/x",
  };
}

describe("plot page", () => {
  test("one HTML page with inline SVG charts, events, no external resource, text escaped", () => {
    const html = renderPlotHtml(sampleReport());
    assert.match(html, /^<!doctype html>/);
    assert.equal((html.match(/<svg /g) ?? []).length, 4);
    assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//);
    assert.doesNotMatch(html, /<script/);
    assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    assert.match(html, /gate chaos \(smoke\): FAILED/);
    assert.match(html, /stroke="#c0392b" class="event"><title>2 s kill n0<\/title>/);
    assert.match(html, /<polyline points="[\d., ]+" fill="none" stroke="#fd8d3c"/);
  });
});

describe("CleanupStack", () => {
  test("undoes in reverse order, once, and reports failing steps without stopping", async () => {
    const done: string[] = [];
    const stack = new CleanupStack();
    stack.defer("first", () => done.push("first"));
    stack.defer("broken", () => {
      throw new Error("cannot");
    });
    stack.defer("last", async () => {
      done.push("last");
    });
    assert.deepEqual(await stack.runAll(), ["broken: Error: cannot"]);
    assert.deepEqual(await stack.runAll(), ["broken: Error: cannot"]);
    assert.deepEqual(done, ["last", "first"]);
  });
});
