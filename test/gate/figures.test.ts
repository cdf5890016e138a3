/** Pure figure-making of the gates: timeline bins, Prometheus histograms, CPU profile summaries. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { summarizeCpuProfile } from "../../bench/gate/cpu-profile-summary.ts";
import type { Incarnation } from "../../bench/gate/load-recorder.ts";
import {
  addHistograms,
  bucketPercentile,
  parseHistogram,
  sumSamples,
} from "../../bench/gate/prometheus-text.ts";
import { buildTimeline } from "../../bench/gate/timeline.ts";

function interval(tUs: number, ops: number, p99Us: number) {
  return {
    type: "interval" as const,
    t_us: tUs,
    ops,
    errors: 0,
    done: 0,
    p50_us: 1,
    p99_us: p99Us,
    max_us: p99Us,
    lag_us: 0,
  };
}

function incarnation(node: string, startAtMs: number, lines: ReturnType<typeof interval>[]): Incarnation {
  return {
    node,
    index: 0,
    spawnedAtMs: 0,
    start: { atMs: startAtMs, line: { type: "start", rate: 1, duration_ms: 1 } },
    intervals: lines.map((line) => ({ line, atMs: 0 })),
    summary: undefined,
    final: undefined,
  };
}

describe("timeline", () => {
  test("operations are spread over the bins an interval covers; a bin shows the worst node's latency", () => {
    const timeline = buildTimeline({
      incarnations: [
        incarnation("n0", 1000, [interval(1_000_000, 1000, 2000), interval(2_000_000, 3000, 5000)]),
        // starts 500 ms later: its first interval covers half of bin 0 and half of bin 1
        incarnation("n1", 1500, [interval(1_000_000, 600, 9000)]),
      ],
      samples: [
        { atMs: 1000, node: "n0", rssBytes: 10 * 2 ** 20, cpuSecs: 1 },
        { atMs: 2000, node: "n0", rssBytes: 20 * 2 ** 20, cpuSecs: 1.5 },
        { atMs: 3000, node: "n0", rssBytes: 30 * 2 ** 20, cpuSecs: 2.5 },
      ],
      zeroMs: 1000,
      endMs: 3000,
      binMs: 1000,
    });
    assert.deepEqual(
      timeline.map((point) => [point.t_secs, point.ops_sec, point.p99_ms, point.rss_mb, point.cpu_pct]),
      [
        [1, 1300, 9, 20, 50],
        [2, 3300, 9, 30, 100],
      ],
    );
  });
});

describe("Prometheus histogram", () => {
  const text = (node: number) => `# HELP numax_propagation_latency_seconds x
# TYPE numax_propagation_latency_seconds histogram
numax_propagation_latency_seconds_bucket{le="0.001"} ${node}
numax_propagation_latency_seconds_bucket{le="0.01"} ${10 * node}
numax_propagation_latency_seconds_bucket{le="+Inf"} ${10 * node}
numax_propagation_latency_seconds_sum ${0.05 * node}
numax_propagation_latency_seconds_count ${10 * node}
numax_other_bucket{le="1"} 99
`;

  test("bucket counts of several nodes add up; percentiles are bucket upper bounds", () => {
    const histograms = [1, 2].map((node) => parseHistogram(text(node), "numax_propagation_latency_seconds")!);
    const total = addHistograms(histograms)!;
    assert.equal(total.count, 30);
    assert.ok(Math.abs(total.sum - 0.15) < 1e-9);
    assert.equal(total.buckets.get(0.001), 3);
    assert.equal(bucketPercentile(total, 10), 0.001);
    assert.equal(bucketPercentile(total, 50), 0.01);
    assert.equal(parseHistogram("numax_other_bucket 1\n", "numax_propagation_latency_seconds"), undefined);
    assert.equal(bucketPercentile({ buckets: new Map(), count: 0, sum: 0 }, 50), undefined);
  });
});

describe("Prometheus counters", () => {
  const text = `# HELP numax_wire_bytes_total x
# TYPE numax_wire_bytes_total counter
numax_wire_bytes_total{direction="sent",message="PushOps"} 1200
numax_wire_bytes_total{direction="sent",message="Ping"} 30
numax_wire_bytes_total{direction="received",message="PushOps"} 999
numax_wire_bytes_total_extra{direction="sent"} 5
numax_broadcast_ops_total 24
`;

  test("samples are summed over the label sets that hold every pair asked for", () => {
    assert.equal(sumSamples(text, "numax_wire_bytes_total", { direction: "sent" }), 1230);
    assert.equal(sumSamples(text, "numax_wire_bytes_total", { direction: "sent", message: "PushOps" }), 1200);
    assert.equal(sumSamples(text, "numax_wire_bytes_total"), 2229);
    assert.equal(sumSamples(text, "numax_broadcast_ops_total"), 24);
    assert.equal(sumSamples(text, "numax_wire_bytes_total", { direction: "lost" }), 0);
    assert.equal(sumSamples(text, "numax_absent"), 0);
  });
});

describe("CPU profile summary", () => {
  test("self time per function, idle set apart, largest first", () => {
    const frame = (functionName: string, url = "", lineNumber = 0) => ({ functionName, url, lineNumber });
    const summary = summarizeCpuProfile({
      nodes: [
        { id: 1, callFrame: frame("(root)") },
        { id: 2, callFrame: frame("(idle)") },
        { id: 3, callFrame: frame("put", "file:///work/main/src/store/lmdb-backend.ts", 41) },
        { id: 4, callFrame: frame("", "file:///x/node_modules/lmdb/write.js", 9) },
      ],
      samples: [2, 3, 3, 4, 2],
      timeDeltas: [1000, 3000, 3000, 1000, 2000],
      startTime: 0,
      endTime: 10_000,
    });
    assert.equal(summary.total_ms, 10);
    assert.equal(summary.busy_ms, 7);
    assert.deepEqual(summary.categories, { numax: 60, idle: 30, lmdb: 10 });
    assert.deepEqual(summary.top, [
      { function: "put src/store/lmdb-backend.ts:42", self_ms: 6, self_pct: 60 },
      { function: "(anonymous) node_modules/lmdb/write.js:10", self_ms: 1, self_pct: 10 },
    ]);
  });
});
