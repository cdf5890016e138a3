import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createNodeMetrics, type NodeMetrics } from "../../src/observe/metrics.ts";

/**
 * The metric contract: dashboards and alerts are written against these names, types and labels.
 * Changing this list is a deliberate, documented change (docs/observability.md, the dashboard).
 */
const PINNED: readonly [name: string, type: string, labels: readonly string[]][] = [
  ["numax_build_info", "gauge", ["version"]],
  ["numax_propagation_latency_seconds", "histogram", []],
  ["numax_op_apply_duration_seconds", "histogram", []],
  ["numax_ops_applied_total", "counter", ["family", "origin"]],
  ["numax_op_log_entries", "gauge", []],
  ["numax_peers_connected", "gauge", []],
  ["numax_peer_connects_total", "counter", []],
  ["numax_peer_disconnects_total", "counter", []],
  ["numax_members", "gauge", ["state"]],
  ["numax_sync_errors_total", "counter", ["kind"]],
  ["numax_broadcast_batches_total", "counter", []],
  ["numax_broadcast_ops_total", "counter", []],
  ["numax_sync_queued_ops", "gauge", []],
  ["numax_sync_ops_shed_total", "counter", []],
  ["numax_sync_ops_too_large_total", "counter", []],
  ["numax_sync_send_window_batches", "gauge", []],
  ["numax_sync_ack_rtt_seconds", "gauge", []],
  ["numax_wire_bytes_total", "counter", ["direction", "message"]],
  ["numax_messages_published_total", "counter", []],
  ["numax_messages_received_total", "counter", []],
  ["numax_messages_dropped_total", "counter", ["reason"]],
  ["numax_last_sync_latency_seconds", "gauge", []],
  ["numax_anti_entropy_rounds_total", "counter", []],
  ["numax_state_snapshots_total", "counter", ["direction"]],
  ["numax_tombstones_collected_total", "counter", []],
  ["numax_store_size_bytes", "gauge", []],
  ["numax_module_runs_total", "counter", ["result"]],
  ["numax_traps_total", "counter", ["kind"]],
  ["numax_host_calls_total", "counter", ["module", "function"]],
  ["numax_guest_cpu_seconds_total", "counter", []],
  ["numax_module_cpu_seconds_total", "counter", ["module"]],
  ["numax_module_memory_bytes", "gauge", ["module"]],
  ["numax_module_ops_total", "counter", ["module"]],
  ["numax_module_bytes_written_total", "counter", ["module"]],
  ["numax_module_quota_hits_total", "counter", ["module", "quota"]],
  ["numax_module_events_total", "counter", ["module", "kind"]],
  ["numax_module_events_dropped_total", "counter", ["module", "kind"]],
  ["numax_module_callback_seconds", "histogram", ["module", "callback"]],
  ["numax_module_callback_failures_total", "counter", ["module", "callback"]],
  ["numax_module_restarts_total", "counter", ["module"]],
  ["numax_observability_requests_total", "counter", ["path"]],
  ["numax_observability_errors_total", "counter", ["kind"]],
  ["numax_http_requests_total", "counter", ["listener", "route", "status"]],
  ["numax_http_handler_seconds", "histogram", ["listener", "route"]],
  ["numax_http_sse_streams", "gauge", []],
  ["numax_http_websockets", "gauge", []],
];

/** Process metrics the dashboard uses. */
const PROCESS_METRICS = [
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "nodejs_eventloop_lag_p99_seconds",
];

function typesIn(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1], match[2]);
  return types;
}

/** Value of the sample `name{labels}` (labels in prom-client's order), or undefined. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function touchEverything(metrics: NodeMetrics): void {
  metrics.opsApplied.inc({ family: "gcounter", origin: "local" });
  metrics.opLogEntries.set(1);
  metrics.peersConnected.inc();
  metrics.peerConnects.inc();
  metrics.peerDisconnects.inc();
  metrics.members.set({ state: "alive" }, 3);
  metrics.syncErrors.inc({ kind: "decode" });
  metrics.broadcastBatches.inc();
  metrics.broadcastOps.inc(10);
  metrics.wireBytes.inc({ direction: "sent", message: "PushOps" }, 120);
  metrics.messagesPublished.inc();
  metrics.messagesReceived.inc();
  metrics.messagesDropped.inc({ reason: "backlog" });
  metrics.lastSyncLatencySeconds.set(0.002);
  metrics.propagationLatencySeconds.observe(0.004);
  metrics.opApplySeconds.observe(0.0002);
  metrics.antiEntropyRounds.inc();
  metrics.stateSnapshots.inc({ direction: "sent" });
  metrics.tombstonesCollected.inc(3);
  metrics.storeSizeBytes.set(4096);
  metrics.moduleRuns.inc({ result: "ok" });
  metrics.traps.inc({ kind: "unreachable" });
  metrics.hostCalls.inc({ module: "nx", function: "db_get" });
  metrics.guestCpuSeconds.inc(0.5);
  metrics.moduleCpuSeconds.inc({ module: "dash" }, 0.25);
  metrics.moduleMemoryBytes.set({ module: "dash" }, 65536);
  metrics.moduleOps.inc({ module: "dash" }, 3);
  metrics.moduleBytesWritten.inc({ module: "dash" }, 110);
  metrics.moduleQuotaHits.inc({ module: "dash", quota: "ops_per_sec" });
  metrics.moduleEvents.inc({ module: "dash", kind: "tick" });
  metrics.moduleEventsDropped.inc({ module: "dash", kind: "tick" });
  metrics.moduleCallbackSeconds.observe({ module: "dash", callback: "on_tick" }, 0.0001);
  metrics.moduleCallbackFailures.inc({ module: "dash", callback: "on_tick" });
  metrics.moduleRestarts.inc({ module: "dash" });
  metrics.observabilityRequests.inc({ path: "/metrics" });
  metrics.observabilityErrors.inc({ kind: "not_found" });
  metrics.httpRequests.inc({ listener: "127.0.0.1:8080", route: "GET /hello/:name", status: "2xx" });
  metrics.httpHandlerSeconds.observe({ listener: "127.0.0.1:8080", route: "GET /hello/:name" }, 0.001);
  metrics.httpSseStreams.inc();
  metrics.httpWebSockets.inc();
}

describe("NodeMetrics", () => {
  test("names, types and labels are pinned; every numax_ metric is in the list", async () => {
    const metrics = createNodeMetrics({ version: "9.9.9" });
    touchEverything(metrics);
    const exposition = await metrics.render();
    const types = typesIn(exposition);
    const numax = [...types.keys()].filter((name) => name.startsWith("numax_"));
    assert.deepEqual(numax.sort(), PINNED.map(([name]) => name).sort());
    for (const [name, type, labels] of PINNED) {
      assert.equal(types.get(name), type, `${name} is a ${type}`);
      const sampleName = type === "histogram" ? `${name}_count` : name;
      const line = exposition.split("\n").find((candidate) => candidate.startsWith(sampleName));
      assert.ok(line !== undefined, `${name} has a sample`);
      const labelNames = [...(line.match(/\{(.*)\}/)?.[1] ?? "").matchAll(/(\w+)="/g)].map(
        (match) => match[1],
      );
      assert.deepEqual(labelNames, labels, `${name} labels`);
    }
    for (const name of PROCESS_METRICS) assert.ok(types.has(name), `${name} is exported`);
  });

  test("the typed methods move the samples", async () => {
    const metrics = createNodeMetrics({ version: "1.2.3", processMetrics: false });
    metrics.opsApplied.inc({ family: "gcounter", origin: "remote" }, 3);
    metrics.opsApplied.inc({ family: "gcounter", origin: "remote" });
    metrics.peersConnected.set(5);
    metrics.peersConnected.dec();
    metrics.guestCpuSeconds.inc(0.25);
    metrics.propagationLatencySeconds.observe(0.003);
    metrics.propagationLatencySeconds.observe(2);
    const exposition = await metrics.render();
    assert.equal(sample(exposition, 'numax_ops_applied_total{family="gcounter",origin="remote"}'), 4);
    assert.equal(sample(exposition, "numax_peers_connected"), 4);
    assert.equal(sample(exposition, "numax_guest_cpu_seconds_total"), 0.25);
    assert.equal(sample(exposition, 'numax_propagation_latency_seconds_bucket{le="0.005"}'), 1);
    assert.equal(sample(exposition, 'numax_propagation_latency_seconds_bucket{le="+Inf"}'), 2);
    assert.equal(sample(exposition, "numax_propagation_latency_seconds_count"), 2);
    assert.equal(sample(exposition, 'numax_build_info{version="1.2.3"}'), 1);
    assert.ok(!exposition.includes("process_cpu_seconds_total"), "process metrics are optional");
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
  });

  test("each node has its own registry", async () => {
    const a = createNodeMetrics({ version: "1", processMetrics: false });
    const b = createNodeMetrics({ version: "1", processMetrics: false });
    a.broadcastOps.inc(7);
    assert.equal(sample(await a.render(), "numax_broadcast_ops_total"), 7);
    assert.equal(sample(await b.render(), "numax_broadcast_ops_total"), 0);
  });

  test("a counter refuses to go down", () => {
    const metrics = createNodeMetrics({ version: "1", processMetrics: false });
    assert.throws(() => metrics.broadcastOps.inc(-1));
  });
});
