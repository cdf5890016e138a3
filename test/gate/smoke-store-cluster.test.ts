/**
 * The smoke gates CI runs, end to end against real nx processes: `store` and `three-node`, and
 * a gate whose nodes cannot start. Each must leave no process and no temporary directory.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { GateSandbox } from "./gate-run.ts";

const sandbox = new GateSandbox();
after(() => sandbox.remove());

/** What bench/gate/loop-probe.ts writes for a node (the fields this test reads). */
interface LoopStats {
  readonly window_ms: number;
  readonly cpu_ms: { readonly user: number };
  readonly main_thread_ms: { readonly ran: number };
  readonly loop_delay_ms: { readonly p50: number; readonly max: number };
  readonly stalls: { readonly over_5ms: number; readonly over_40ms: number };
}

function processGone(pid: number): boolean {
  return !existsSync(`/proc/${pid}`);
}

describe("smoke gates: store and three-node", () => {
  test("store --smoke: every write acknowledged, on disk after exit, figures in the report and the plot", async () => {
    const run = await sandbox.run(["store", "--smoke", "--rate", "2000", "--duration", "1.5"], 60_000);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const report = run.report!;
    assert.equal(report.scenario, "store");
    assert.equal(report.passed, true);
    assert.equal(report.ops_total, 3000);
    assert.equal(report.errors_total, 0);
    assert.equal(report.expected_counter, 3000);
    assert.deepEqual(report.observed_counters, [3000]);
    assert.equal(report.reference.name, "lmdb_put_random");
    assert.ok(report.reference.ops_sec > 0);
    assert.ok(report.node_resources[0]!.peak_rss_mb > 20);
    assert.ok(report.node_resources[0]!.cpu_secs > 0);
    assert.match(report.git_commit, /^[0-9a-f]{40}$|^unknown$/);
    assert.equal(report.node_version, process.version);
    // The guest's histogram (AssemblyScript) decoded here must agree with its own interval maxima.
    const intervalMax = Math.max(...report.timeline.map((point) => point.max_ms));
    assert.ok(report.latency_ms.max <= intervalMax + 0.001, `${report.latency_ms.max} > ${intervalMax}`);
    assert.ok(
      report.latency_ms.max >= intervalMax * (1 - 1 / 1024) - 0.001,
      `${report.latency_ms.max} < ${intervalMax}`,
    );
    assert.ok(report.latency_ms.p50 <= report.latency_ms.p99);
    const plot = readFileSync(run.reportPath.replace(/\.json$/, ".html"), "utf8");
    assert.match(plot, /<svg /);
    assert.ok(report.node_resources.flatMap((node) => node.pids).every(processGone));
    assert.equal(existsSync(report.work_dir), false);
    sandbox.assertClean();
  });

  test("three-node --smoke: every node converges to the sum of all increments", async () => {
    const run = await sandbox.run(
      ["three-node", "--smoke", "--rate", "200", "--duration", "1.5", "--loop-stats"],
      90_000,
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const report = run.report!;
    assert.equal(report.nodes, 3);
    // --loop-stats: every node measured its load window (event loop, GC, stalls, CPU).
    const loopStats = report.details.loop_stats as Record<string, LoopStats[]>;
    assert.deepEqual(Object.keys(loopStats).sort(), ["n0", "n1", "n2"]);
    for (const [node, [stats]] of Object.entries(loopStats)) {
      assert.ok(stats!.window_ms > 500 && stats!.window_ms < 3_000, `${node}: window ${stats!.window_ms} ms`);
      assert.ok(stats!.cpu_ms.user > 0 && stats!.main_thread_ms.ran > 0, `${node}: ${JSON.stringify(stats)}`);
      assert.ok(stats!.loop_delay_ms.max >= stats!.loop_delay_ms.p50, `${node}: ${JSON.stringify(stats)}`);
      assert.ok(stats!.stalls.over_5ms >= stats!.stalls.over_40ms);
    }
    assert.equal(report.expected_counter, 900);
    assert.deepEqual(report.observed_counters, [900, 900, 900]);
    assert.equal(report.converged, true);
    assert.ok(report.convergence_wait_secs !== null && report.convergence_wait_secs < 10);
    assert.deepEqual(report.details.printed_counters, [900, 900, 900]);
    // Wire figures come from the nodes' own numax_wire_bytes_total: a PushOps op is tens of bytes.
    const wire = report.details.wire as {
      bytes_per_op: number;
      bytes_per_increment: number;
      ops_sent: number;
    };
    assert.ok(wire.ops_sent > 0, JSON.stringify(wire));
    assert.ok(wire.bytes_per_op > 20 && wire.bytes_per_op < 200, JSON.stringify(wire));
    assert.ok(wire.bytes_per_increment > 0, JSON.stringify(wire));
    assert.equal(report.node_resources.length, 3);
    assert.ok(report.node_resources.flatMap((node) => node.pids).every(processGone));
    sandbox.assertClean();
  });

  test("three-node --smoke --keys --tls: every write a field of its own, coalesced, over mutual TLS; every node holds every field", async () => {
    const run = await sandbox.run(
      ["three-node", "--smoke", "--keys", "100000", "--rate", "200", "--duration", "1.5", "--tls"],
      90_000,
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const report = run.report!;
    assert.equal(report.tls, true);
    // --keys runs the nodes with coalesced map writes: 300 writes per node in fewer ops.
    assert.deepEqual(report.nx_args, ["--sync-coalesce-map-writes"]);
    const ops = report.expected_counter;
    assert.ok(ops > 0 && ops < 900, `${ops} ops for 900 writes`);
    assert.deepEqual(report.observed_counters, [ops, ops, ops]);
    const distinct = report.details.distinct_keys as {
      ops_total: number;
      writes_total: number;
      map_fields: { expected: number; observed: number[] };
      replicated_ops_sec_per_node: number;
      node_cpu_us_per_op: number[];
      store_bound: { ops_sec: number; processes: number; cells_sec_per_process: number[] };
      replicated_ops_sec_per_node_at_store_bound: number;
      replicated_vs_store_bound: number;
    };
    assert.equal(distinct.ops_total, ops);
    assert.equal(distinct.writes_total, 900);
    assert.deepEqual(distinct.map_fields, { expected: 900, observed: [900, 900, 900] });
    assert.ok(distinct.replicated_ops_sec_per_node > 0);
    assert.equal(distinct.node_cpu_us_per_op.length, 3);
    // The store reference ran in three processes: its bound is their cells/s over nodes².
    const { store_bound: bound } = distinct;
    assert.equal(bound.processes, 3);
    assert.equal(bound.cells_sec_per_process.length, 3);
    assert.ok(bound.cells_sec_per_process.every((rate) => rate > 0));
    const sum = bound.cells_sec_per_process.reduce((total, rate) => total + rate, 0);
    assert.ok(Math.abs(bound.ops_sec - sum / 9) <= 2, `${bound.ops_sec} against ${sum} / 9`);
    assert.equal(distinct.replicated_ops_sec_per_node_at_store_bound, bound.ops_sec * 2);
    assert.ok(distinct.replicated_vs_store_bound > 0);
    assert.ok(report.checks.some((check) => check.name === "map_fields_after_convergence" && check.ok));
    sandbox.assertClean();
  });

  test("nodes that cannot start fail the gate with one line, and nothing is left behind", async () => {
    const run = await sandbox.run(["three-node", "--smoke", "--nx-args", "--no-such-flag"], 60_000);
    assert.equal(run.status, 1);
    const errors = run.stderr.split("\n").filter((line) => line.startsWith("gate: error:"));
    assert.equal(errors.length, 1, run.stderr);
    assert.match(errors[0]!, /n\d \(pid \d+\) exited with code 2: (nx: )?error: .*no-such-flag/);
    assert.equal(run.report, undefined);
    sandbox.assertClean();
  });
});
