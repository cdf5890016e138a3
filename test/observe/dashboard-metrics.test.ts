import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { writeFixture } from "../fixtures/wasm/wat-fixtures.ts";
import { examplePath, guestPath, pollUntil, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf, syncNodeTracker } from "../helpers/sync-node.ts";

/**
 * Every metric the Grafana dashboard queries must exist on /metrics of a real node after a short
 * run, or its panel stays empty forever (as the host-call panel did).
 */

const DASHBOARD = new URL("../../docs/dashboards/numax.json", import.meta.url);
const VISITS = examplePath("distributed_counter");

/** A counter with a label per fault: no series until one happens (docs/observability.md says so). */
const FAULT_ONLY = new Set([
  "numax_sync_errors_total",
  "numax_messages_dropped_total",
  "numax_module_events_dropped_total",
  "numax_module_callback_failures_total",
  "numax_module_restarts_total",
  "numax_module_quota_hits_total",
]);

/** Metric names in the PromQL of every panel target (histogram series folded to their metric). */
function dashboardMetrics(): Set<string> {
  const exprs: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if (key === "expr" && typeof inner === "string") exprs.push(inner);
        else walk(inner);
      }
    }
  };
  walk(JSON.parse(readFileSync(DASHBOARD, "utf8")));
  const names = new Set<string>();
  for (const expr of exprs) {
    for (const [name] of expr.matchAll(/\b(?:numax|process|nodejs)_[a-z0-9_]+\b/g)) {
      names.add(name.replace(/_(bucket|sum|count)$/, ""));
    }
  }
  return names;
}

/** Metric name -> number of samples, from the Prometheus text format. */
function samplesByMetric(exposition: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of exposition.split("\n")) {
    const typed = /^# TYPE (\S+) /.exec(line);
    if (typed !== null) counts.set(typed[1], counts.get(typed[1]) ?? 0);
    const sampled = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sampled === null || line.startsWith("#")) continue;
    const name = sampled[1].replace(/_(bucket|sum|count)$/, "");
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

const root = tempDir("nx-dashboard-");
const nodes = syncNodeTracker();
after(async () => {
  await nodes.stopAll();
  root.remove();
});

describe("docs/dashboards/numax.json", { timeout: 120_000 }, () => {
  test("every metric it queries has samples on /metrics after a short run of two syncing nodes", async () => {
    const queried = dashboardMetrics();
    assert.ok(queried.has("numax_host_calls_total") && queried.size >= 20, `parsed ${[...queried]}`);
    // A second module that traps, for the run-result and trap panels, a reactive one that
    // ticks, for the module event panels, and http_hello served, for the HTTP panels.
    const trapping = await writeFixture(root.path, "trap-unreachable");
    const first = await nodes.node({
      datastore: datastoreOf(root.path, "a"),
      guest: VISITS,
      args: [trapping, guestPath("reactive_probe"), examplePath("http_hello"), "--serve", "127.0.0.1:0"],
      env: { NX_VISITS: "2", NX_PROBE_TICK_MS: "20" },
    });
    const served = (await first.nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    assert.equal(await (await fetch(`${served}/hello/dashboard`)).text(), "hello dashboard");
    const second = await nodes.node({
      datastore: datastoreOf(root.path, "b"),
      guest: VISITS,
      peers: [first.port],
      env: { NX_VISITS: "3" },
    });
    for (const node of [first, second]) {
      assert.equal(
        await pollUntil(
          () => node.gcounter("visits"),
          (v) => v === 5n,
          20_000,
        ),
        5n,
      );
    }
    await fetch(`${first.url}/nope`); // numax_observability_errors_total{kind="not_found"}
    const exposition = await (await fetch(`${first.url}/metrics`)).text();
    const samples = samplesByMetric(exposition);
    for (const name of queried) {
      assert.ok(samples.has(name), `${name} is not exported at all`);
      if (!FAULT_ONLY.has(name)) assert.ok(samples.get(name)! > 0, `${name} has no sample after the run`);
    }
    // The visits guest's run only: http_hello only serves (no run; its requests are not module runs).
    assert.match(exposition, /^numax_module_runs_total\{result="ok"\} 1$/m);
    assert.match(exposition, /^numax_module_runs_total\{result="trap"\} 1$/m);
    assert.match(exposition, /^numax_traps_total\{kind="unreachable"\} 1$/m);
    assert.match(
      exposition,
      /^numax_host_calls_total\{module="nx",function="crdt_gcounter_inc"\} [1-9]/m,
      "the guest's increments are counted",
    );
  });
});
