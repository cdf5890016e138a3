import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { ModuleView } from "../../src/node/node-introspection.ts";
import { managedNodeTracker } from "../helpers/management-node.ts";
import { examplePath, guestPath, pollUntil, tempDir } from "../helpers/nx-process.ts";

/**
 * Per-module profiling metrics on a real node's /metrics: `numax_module_cpu_seconds_total` and
 * `numax_module_memory_bytes` carry the figures of the management API's module views (one
 * accounting), and `numax_op_apply_duration_seconds` counts applications of a peer's ops.
 */

const nodes = managedNodeTracker();
const dir = tempDir("nx-module-metrics-");
after(async () => {
  await nodes.stopAll();
  dir.remove();
});

/** The value of the one sample `series` (exact labels as prom-client writes them), or undefined. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("per-module metrics of a running node", { timeout: 120_000 }, () => {
  test("module CPU and memory are the management API's figures; applying a peer's ops is timed", async () => {
    // reactive_probe ticks (CPU that grows); proc_idle parks in receive (memory that stays).
    const first = await nodes.node({
      datastore: join(dir.path, "a"),
      modules: [guestPath("reactive_probe"), guestPath("proc_idle")],
      args: ["--observability-listen", "127.0.0.1:0"],
      env: { NX_PROBE_TICK_MS: "20" },
    });
    const metricsUrl = `${(await first.nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]}/metrics`;
    const scrape = async () => (await fetch(metricsUrl)).text();
    const views = async () => (await first.api("GET", "/modules")).body as ModuleView[];

    const ids = (await views()).map((view) => view.id).sort();
    assert.deepEqual(ids, ["proc_idle", "reactive_probe"]);
    await pollUntil(
      async () => sample(await scrape(), 'numax_module_cpu_seconds_total{module="reactive_probe"}') ?? 0,
      (seconds) => seconds > 0,
      20_000,
    );
    const before = await views();
    const exposition = await scrape();
    const afterViews = await views();
    for (const id of ids) {
      const cpu = sample(exposition, `numax_module_cpu_seconds_total{module="${id}"}`);
      const low = before.find((view) => view.id === id)!.cpuMs / 1000;
      const high = afterViews.find((view) => view.id === id)!.cpuMs / 1000;
      if (low === 0 && high === 0)
        assert.equal(cpu, undefined, `${id} never ran guest code on the node's thread`);
      else
        assert.ok(
          cpu !== undefined && cpu >= low - 1e-9 && cpu <= high + 1e-9,
          `${id}: ${low} <= ${cpu} <= ${high}`,
        );
    }
    const parked = afterViews.find((view) => view.id === "proc_idle")!;
    assert.ok(parked.memoryBytes > 0);
    assert.equal(sample(exposition, 'numax_module_memory_bytes{module="proc_idle"}'), parked.memoryBytes);

    assert.equal(sample(exposition, "numax_op_apply_duration_seconds_count"), 0, "no peer, nothing applied");
    await nodes.node({
      datastore: join(dir.path, "b"),
      modules: [examplePath("distributed_counter")],
      args: ["--peer", `127.0.0.1:${first.syncPort}`],
      env: { NX_VISITS: "3" },
    });
    const applied = await pollUntil(
      async () => sample(await scrape(), "numax_op_apply_duration_seconds_count") ?? 0,
      (count) => count > 0,
      20_000,
    );
    assert.ok(applied > 0);
    assert.ok((sample(await scrape(), "numax_op_apply_duration_seconds_sum") ?? -1) >= 0);
  });
});
