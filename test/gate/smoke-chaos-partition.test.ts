/**
 * The smoke gates CI runs, end to end against real nx processes: `chaos` (SIGKILL and restart
 * under load, nothing acknowledged lost) and `partition` (cut through the proxy, healed,
 * converged), and Ctrl-C in the middle of a gate, which must leave nothing behind.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { GateSandbox } from "./gate-run.ts";

const sandbox = new GateSandbox();
after(() => sandbox.remove());

describe("smoke gates: chaos and partition", () => {
  test("chaos --smoke: nodes killed and restarted, nothing acknowledged lost, converged", async () => {
    const run = await sandbox.run(["chaos", "--smoke", "--duration", "4", "--kill-every", "1.2"], 90_000);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const report = run.report!;
    assert.equal(report.restarts_total, 2);
    assert.equal(report.converged, true);
    assert.deepEqual(report.observed_counters, [
      report.expected_counter,
      report.expected_counter,
      report.expected_counter,
    ]);
    const kills = report.details.kills as {
      acknowledged_lost: number;
      resumed_from: number;
      acknowledged_done: number;
    }[];
    assert.equal(kills.length, 2);
    for (const kill of kills) {
      assert.equal(kill.acknowledged_lost, 0);
      assert.ok(kill.resumed_from >= kill.acknowledged_done);
    }
    assert.deepEqual(
      report.events
        .filter((event) => event.kind === "kill" || event.kind === "restart")
        .map((event) => event.kind),
      ["kill", "restart", "kill", "restart"],
    );
    assert.ok(report.node_resources.some((node) => node.incarnations === 2));
    // Killed guests sent their latencies with each interval: the histogram covers every reported op.
    assert.equal(report.latency_ms.count, report.ops_total);
    sandbox.assertClean();
  });

  test("partition --smoke: the cut node really falls behind, and all converge after healing", async () => {
    const run = await sandbox.run(["partition", "--smoke"], 90_000);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const report = run.report!;
    const effective = report.checks.find((check) => check.name === "partition_effective")!;
    assert.equal(effective.ok, true, effective.detail);
    const before = report.details.before_heal as { majority: number; cut_off: number; total: number };
    assert.ok(before.cut_off < before.total && before.majority < before.total);
    assert.equal(report.converged, true);
    assert.deepEqual(
      report.events.map((event) => event.kind).filter((kind) => kind === "cut" || kind === "heal"),
      ["cut", "heal"],
    );
    sandbox.assertClean();
  });

  test("Ctrl-C during a gate stops every node and removes its files", async () => {
    let started!: () => void;
    const nodesUp = new Promise<void>((resolve) => {
      started = resolve;
    });
    const { child, done } = sandbox.start(["chaos", "--smoke", "--duration", "60"], (text) => {
      if (text.includes("chaos: 3 nodes")) started();
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    try {
      await nodesUp;
      assert.ok(sandbox.leftoverProcesses().length >= 3, "the nodes run");
      child.kill("SIGINT");
      const run = await done;
      assert.equal(run.status, 130, run.stderr);
      assert.match(run.stderr, /SIGINT: stopping the nodes and cleaning up/);
      sandbox.assertClean();
    } finally {
      clearTimeout(guard);
    }
  });
});
