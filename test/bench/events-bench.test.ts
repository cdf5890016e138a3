/**
 * `npm run bench -- events --quick` end to end: three real nodes and the dispatch nodes run, and
 * the report holds what bench/reports/README.md reads from it (figures are not checked: a smoke
 * run on a shared machine says nothing about them).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT, tempDir } from "../helpers/nx-process.ts";

const execFileAsync = promisify(execFile);
/** Three nodes for ~10 s, then two dispatch nodes: a minute or two on a busy machine. */
const BENCH_TIMEOUT_MS = 300_000;

interface EventsReport {
  results: {
    remote_op_latency: {
      p50: number;
      p99: number;
      observed: number;
      ops_per_sec_per_node: number;
      negative_latencies: number;
      reference: { ops: number; mean_ms: number | null };
      ratio_to_reference: number | null;
    };
    message_dispatch_per_sec: {
      value: number;
      delivered_by_metrics: number;
      dropped: number;
      reference: { value: number };
      ratio_to_reference: number;
    };
  };
}

test("npm run bench -- events --quick measures both figures beside their references", {
  timeout: BENCH_TIMEOUT_MS + 30_000,
}, async () => {
  const dir = tempDir("nx-bench-events-test-");
  try {
    const path = join(dir.path, "events.json");
    await execFileAsync(process.execPath, ["bench/run.ts", "events", "--quick", "--report", path], {
      cwd: REPO_ROOT,
      timeout: BENCH_TIMEOUT_MS,
    });
    const { remote_op_latency: latency, message_dispatch_per_sec: dispatch } = (
      JSON.parse(readFileSync(path, "utf8")) as EventsReport
    ).results;
    assert.ok(latency.observed > 0, "on_remote_op latencies were recorded");
    assert.ok(latency.p50 > 0 && latency.p99 >= latency.p50);
    // The guests' clocks agree: no op arrived before it was written.
    assert.equal(latency.negative_latencies, 0);
    assert.ok(latency.ops_per_sec_per_node >= 500, `${latency.ops_per_sec_per_node} writes/s per node`);
    assert.ok(latency.reference.ops > 0 && latency.ratio_to_reference !== null);
    assert.ok(dispatch.value > 0 && dispatch.reference.value > 0);
    // Closed loop: nothing dropped, and the node counted at least what the guest reported.
    assert.equal(dispatch.dropped, 0);
    assert.ok(dispatch.delivered_by_metrics >= dispatch.value);
    assert.equal(
      dispatch.ratio_to_reference,
      Math.round((dispatch.value / dispatch.reference.value) * 100) / 100,
    );
  } finally {
    dir.remove();
  }
});
