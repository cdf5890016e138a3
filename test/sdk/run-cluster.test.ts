/**
 * `npm run demo:examples` end to end: examples/run-cluster.ts starts real `nx run` processes that act
 * alone, then sync, and must report the same values every time, whatever the machine's load; and
 * runs the reactive dashboard on connected nodes until each has seen every other one.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT } from "../helpers/nx-process.ts";

const execFileAsync = promisify(execFile);

interface ClusterReport {
  readonly examples: readonly {
    name: string;
    ok: boolean;
    values?: string[];
    nodes?: { nodeId: string; remoteOps: number }[];
    error?: string;
  }[];
}

/**
 * Every example starts 2 × 3 nodes one after the other; on a machine shared by several test runs
 * one example took up to 35 s, so seven take minutes.
 */
const CLUSTER_RUN_TIMEOUT_MS = 600_000;

async function runCluster(...args: string[]): Promise<ClusterReport> {
  const { stdout, stderr } = await execFileAsync(
    process.execPath,
    ["examples/run-cluster.mjs", ...args, "--json"],
    { cwd: REPO_ROOT, timeout: CLUSTER_RUN_TIMEOUT_MS },
  ).catch((error: { stdout?: string; stderr?: string }) => ({
    stdout: error.stdout ?? "",
    stderr: `${error.stderr ?? ""}${error}`,
  }));
  assert.ok(stdout.startsWith("{"), `run-cluster ${args.join(" ")} printed no report: ${stderr}`);
  return JSON.parse(stdout) as ClusterReport;
}

function valuesOf(report: ClusterReport): Record<string, string[] | string> {
  return Object.fromEntries(
    report.examples
      .filter((e) => e.name !== "reactive_dashboard")
      .map((e) => [e.name, e.ok ? e.values! : `FAILED: ${e.error}`]),
  );
}

/**
 * The dashboard's run: every node has printed `remote gcounter ticks/<id>` for each other node
 * (so at least one remote op per other node), then stopped with exit 0; ids are distinct.
 */
function assertDashboardRan(report: ClusterReport, nodes: number): void {
  const dashboard = report.examples.find((e) => e.name === "reactive_dashboard");
  assert.ok(dashboard !== undefined, "the run includes reactive_dashboard");
  assert.ok(dashboard.ok, `reactive_dashboard failed: ${dashboard.error}`);
  assert.equal(dashboard.nodes?.length, nodes);
  assert.equal(new Set(dashboard.nodes.map((n) => n.nodeId)).size, nodes);
  for (const node of dashboard.nodes) {
    assert.match(node.nodeId, /^[0-9a-f]{32}$/);
    assert.ok(node.remoteOps >= nodes - 1, `node ${node.nodeId} saw ${node.remoteOps} remote ops`);
  }
}

test("every sync example converges to the same, exact values", {
  timeout: CLUSTER_RUN_TIMEOUT_MS + 60_000,
}, async () => {
  const report = await runCluster("--all");
  assertDashboardRan(report, 3);
  const values = valuesOf(report);
  assert.match(String(values.distributed_status), /^service\/status = maintenance \(set by [0-9a-f]{32}\)$/);
  delete values.distributed_status; // its value names node 3's random NodeId
  assert.deepEqual(values, {
    distributed_counter: ["visits = 6"],
    distributed_inventory: ["inventory/widgets = 12"],
    distributed_settings: ["settings = {lang=en, theme=light}"],
    distributed_tags: ["tags = [blue, green, red]"],
    distributed_comments: ["comments = [hello from node 3, hello from node 2, hello from node 1]"],
    vote_tally_tls: ["votes/yes = 2", "votes/no = 1"],
  });
});

test("the ORSet example keeps the add its remover never saw, run after run", {
  timeout: 3 * CLUSTER_RUN_TIMEOUT_MS,
}, async () => {
  for (let run = 0; run < 3; run++) {
    assert.deepEqual(valuesOf(await runCluster("distributed_tags")), {
      distributed_tags: ["tags = [blue, green, red]"],
    });
  }
});

test("npm run cluster -- reactive_dashboard runs the dashboard alone, on as many nodes as asked", {
  timeout: 2 * CLUSTER_RUN_TIMEOUT_MS,
}, async () => {
  const report = await runCluster("reactive_dashboard");
  assert.deepEqual(
    report.examples.map((e) => e.name),
    ["reactive_dashboard"],
  );
  assertDashboardRan(report, 3);
  assertDashboardRan(await runCluster("reactive_dashboard", "--nodes", "4"), 4);
});

test("an unknown example is one line and exit 2", async () => {
  const failed = await execFileAsync(process.execPath, ["examples/run-cluster.mjs", "distributed_nothing"], {
    cwd: REPO_ROOT,
  }).catch((error: { code?: number; stderr?: string }) => error);
  assert.ok("code" in failed);
  assert.equal(failed.code, 2);
  assert.match(
    failed.stderr ?? "",
    /^run-cluster: unknown example or flag "distributed_nothing" \(examples: .*\)\n$/,
  );
});
