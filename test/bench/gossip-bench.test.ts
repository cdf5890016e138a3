/**
 * `npm run bench -- gossip --quick` end to end. Its figures come from seeded simulations on
 * virtual time, so they are the same on any machine: the test checks what the docs rely on
 * (both schemes converge, the fanout pull brings convergence after a heal down, a killed node
 * is found, no live node is declared dead at 1 % loss), not the values.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT, tempDir } from "../helpers/nx-process.ts";

const execFileAsync = promisify(execFile);
const BENCH_TIMEOUT_MS = 180_000;

interface Dissemination {
  converged: boolean;
  messages_per_op_per_node: number;
  bytes_per_op_per_node: number;
  convergence_after_heal_ms: number | null;
}

interface GossipReport {
  dissemination: {
    nodes: number;
    k_fanout: number;
    full_relay: Dissemination;
    fanout: Dissemination;
    by_cluster_size: Dissemination;
  }[];
  detection: {
    first_declared_dead_ms: { p50: number; p99: number };
    all_declared_dead_ms: { p50: number; p99: number };
  }[];
  false_positives: { loss_rate: number; false_suspicions: number; false_deaths: number }[];
}

test("npm run bench -- gossip --quick reports dissemination against full relay, detection time and false positives", {
  timeout: BENCH_TIMEOUT_MS + 30_000,
}, async () => {
  const dir = tempDir("nx-bench-gossip-test-");
  try {
    const path = join(dir.path, "gossip.json");
    await execFileAsync(process.execPath, ["bench/run.ts", "gossip", "--quick", "--report", path], {
      cwd: REPO_ROOT,
      timeout: BENCH_TIMEOUT_MS,
    });
    const report = JSON.parse(readFileSync(path, "utf8")) as GossipReport;
    assert.ok(report.dissemination.length >= 2);
    for (const row of report.dissemination) {
      assert.ok(row.full_relay.converged && row.fanout.converged, `N = ${row.nodes}`);
      assert.ok(row.fanout.bytes_per_op_per_node > 0 && row.full_relay.bytes_per_op_per_node > 0);
      assert.ok(row.fanout.convergence_after_heal_ms! < row.full_relay.convergence_after_heal_ms!);
      // Below FANOUT_CLUSTER_SIZE_MIN (the quick sizes) a node relays to every peer: the full relay's cost.
      assert.ok(row.by_cluster_size.converged);
      assert.equal(row.by_cluster_size.messages_per_op_per_node, row.full_relay.messages_per_op_per_node);
    }
    for (const row of report.detection) {
      assert.ok(row.first_declared_dead_ms.p50 > 0);
      assert.ok(row.first_declared_dead_ms.p50 <= row.all_declared_dead_ms.p50);
      assert.ok(row.all_declared_dead_ms.p50 <= row.all_declared_dead_ms.p99);
    }
    const nominal = report.false_positives.find((row) => row.loss_rate === 0.01)!;
    assert.equal(nominal.false_suspicions, 0);
    for (const row of report.false_positives) assert.equal(row.false_deaths, 0, `loss ${row.loss_rate}`);
  } finally {
    dir.remove();
  }
});
