import { createRequire } from "node:module";
import type PromClient from "prom-client";
import { SeriesCounter, SeriesHistogram } from "./series-metrics.ts";

/**
 * The node's Prometheus metrics behind typed methods, so that store, sync, wasm and net count
 * things without knowing prom-client: `metrics.opsApplied.inc({ family: "gcounter", origin: "local" })`.
 * Names start with `numax_` and end with their unit (`_seconds`, `_bytes`, `_total` for counters).
 * The list is pinned by test/observe/metrics.test.ts: renaming a metric breaks dashboards, so it
 * must be a deliberate change there, in docs/observability.md and in docs/dashboards/numax.json.
 */

export interface Counter {
  inc(by?: number): void;
}

export interface LabeledCounter<Labels extends Record<string, string>> {
  inc(labels: Labels, by?: number): void;
  /** The series of `labels`, resolved once: for hot paths that count the same series again and again. */
  series(labels: Labels): { inc(by?: number): void };
}

export interface Gauge {
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
}

export interface Histogram {
  observe(value: number): void;
}

export interface LabeledGauge<Labels extends Record<string, string>> {
  set(labels: Labels, value: number): void;
}

export type OpOrigin = "local" | "remote";

export interface NodeMetrics {
  /** CRDT ops applied to local state, by family (`gcounter`, `lww_map` ...) and origin. */
  readonly opsApplied: LabeledCounter<{ family: string; origin: OpOrigin }>;
  /** Ops held in the op-log now. */
  readonly opLogEntries: Gauge;
  /** Peers with an open, authenticated connection now. */
  readonly peersConnected: Gauge;
  readonly peerConnects: Counter;
  readonly peerDisconnects: Counter;
  /** Cluster members by SWIM state (`alive`, `suspect`, `dead`, `left`), this node included. */
  readonly members: LabeledGauge<{ state: string }>;
  /** Sync failures by kind (`handshake`, `decode`, `timeout`, `rejected` ...). */
  readonly syncErrors: LabeledCounter<{ kind: string }>;
  /** PushOps frames sent. */
  readonly broadcastBatches: Counter;
  /** Ops sent inside PushOps frames. */
  readonly broadcastOps: Counter;
  /** Ops waiting in the per-peer send queues now, over all peers. */
  readonly syncQueuedOps: Gauge;
  /** Ops shed from a full per-peer send queue (re-sent from the op-log once it drains). */
  readonly syncOpsShed: Counter;
  /** Ops left out of a peer's batches because no message that peer reads can carry them. */
  readonly syncOpsTooLarge: Counter;
  /** The adaptive send windows (unacknowledged PushOps batches allowed), summed over the peers. */
  readonly syncSendWindowBatches: Gauge;
  /** The slowest peer's smoothed PushOps ack round trip, in seconds. */
  readonly syncAckRttSeconds: Gauge;
  /** Frame bytes (header included) sent to and received from peers, by direction and message type. */
  readonly wireBytes: LabeledCounter<{ direction: "sent" | "received"; message: string }>;
  /** Module messages (`Publish`) sent to peers, one per peer. */
  readonly messagesPublished: Counter;
  /** Module messages (`Publish`) received from peers and handed to the node's modules. */
  readonly messagesReceived: Counter;
  /**
   * Module messages dropped by sync: `backlog` (not sent: the peer's connection was backed up),
   * `invalid` (received with an invalid topic or an oversized payload).
   */
  readonly messagesDropped: LabeledCounter<{ reason: "backlog" | "invalid" }>;
  /** Round trip of the latest sync exchange with any peer, in seconds. */
  readonly lastSyncLatencySeconds: Gauge;
  /** From an op's creation on its origin node to its application here, in seconds. */
  readonly propagationLatencySeconds: Histogram;
  /**
   * Time of one application of a peer's ops on the node's thread (one slice of a PushOps of at
   * most APPLY_SLICE_WRITES writes, or one larger batch op: dedup, apply, stage), in seconds.
   */
  readonly opApplySeconds: Histogram;
  /** Guest CPU time by module id (its runs, and a reactive module's callbacks), from the module host's accounting. */
  readonly moduleCpuSeconds: LabeledCounter<{ module: string }>;
  /** Memory of a module's live guest processes now, by module id. */
  readonly moduleMemoryBytes: LabeledGauge<{ module: string }>;
  /** CRDT ops a module's host calls made, by module id. */
  readonly moduleOps: LabeledCounter<{ module: string }>;
  /** Store bytes a module's host calls wrote (keys and values), by module id. */
  readonly moduleBytesWritten: LabeledCounter<{ module: string }>;
  /** Times a quota throttled, refused or stopped a module, by module id and quota (`ops_per_sec`...). */
  readonly moduleQuotaHits: LabeledCounter<{ module: string; quota: string }>;
  readonly antiEntropyRounds: Counter;
  /** Whole-state snapshots, by direction: `sent` to a peer behind the op-log, `applied` from one. */
  readonly stateSnapshots: LabeledCounter<{ direction: "sent" | "applied" }>;
  /** CRDT cells rewritten or deleted by tombstone collection (docs/design/compaction.md). */
  readonly tombstonesCollected: Counter;
  /** Bytes the store occupies on disk. */
  readonly storeSizeBytes: Gauge;
  /** Guest runs by result (`ok`, `trap`, `abort`, `cpu_budget`, `error`). */
  readonly moduleRuns: LabeledCounter<{ result: string }>;
  /** Guest traps by kind (`unreachable`, `out_of_bounds`, `stack_overflow` ...). */
  readonly traps: LabeledCounter<{ kind: string }>;
  /** Host ABI calls by import module (`nx`, `wasi_snapshot_preview1`) and function (`db_get` ...). */
  readonly hostCalls: LabeledCounter<{ module: string; function: string }>;
  /** CPU time spent inside guests, in seconds. */
  readonly guestCpuSeconds: Counter;
  /** Events handed to reactive modules' callbacks, by module and kind (`tick`, `remote_op` ...). */
  readonly moduleEvents: LabeledCounter<{ module: string; kind: string }>;
  /** Events a reactive module's full queue (or a tick still running) dropped, by module and kind. */
  readonly moduleEventsDropped: LabeledCounter<{ module: string; kind: string }>;
  /** Duration of reactive modules' callback calls, by module and callback. */
  readonly moduleCallbackSeconds: LabeledHistogram<{ module: string; callback: string }>;
  /** Callback calls that failed (trap, abort, CPU budget, memory cap), by module and callback. */
  readonly moduleCallbackFailures: LabeledCounter<{ module: string; callback: string }>;
  /** Restarts of reactive modules after a crash, by module. */
  readonly moduleRestarts: LabeledCounter<{ module: string }>;
  /** Requests to the observability endpoint by path (`/metrics`, `/health`, `/ready`, `other`). */
  readonly observabilityRequests: LabeledCounter<{ path: string }>;
  /** Failed observability requests by kind (`not_found`, `method_not_allowed`, `timeout`, `bad_request`, `evicted`, `internal`). */
  readonly observabilityErrors: LabeledCounter<{ kind: string }>;
  /**
   * Answered HTTP requests by listener (`127.0.0.1:8080`), route (`GET /hello/:name`; `unmatched`
   * when none was found or the request was refused before routing) and status class (`2xx`..`5xx`).
   */
  readonly httpRequests: LabeledCounter<{ listener: string; route: string; status: string }>;
  /** Duration of request handlers (not event streams or WebSockets), by listener and route. */
  readonly httpHandlerSeconds: LabeledHistogram<{ listener: string; route: string }>;
  /** Server-sent event streams open now. */
  readonly httpSseStreams: Gauge;
  /** WebSocket connections open now. */
  readonly httpWebSockets: Gauge;
  /** The Content-Type of `render()`'s output. */
  readonly contentType: string;
  /** Every metric in the Prometheus text exposition format. */
  render(): Promise<string>;
}

export interface LabeledHistogram<Labels extends Record<string, string>> {
  observe(labels: Labels, value: number): void;
  /** The series of `labels`, resolved once (see LabeledCounter.series). */
  series(labels: Labels): { observe(value: number): void };
}

/** Seconds: callbacks from a few microseconds to a CPU budget's worth. */
export const CALLBACK_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
];

/** Seconds: one slice of a peer's ops, from a handful of ops in microseconds to a stalled thread. */
export const OP_APPLY_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

/** Seconds: request handlers from a pooled instance's sub-millisecond answer to a request timeout. */
export const HTTP_HANDLER_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

export interface NodeMetricsOptions {
  /** Reported as `numax_build_info{version}`. */
  readonly version: string;
  /** Also export prom-client's process and Node.js metrics (`process_*`, `nodejs_*`). Default true. */
  readonly processMetrics?: boolean;
}

/**
 * Seconds: from sub-millisecond loopback hops to a WAN partition healed by anti-entropy, finer
 * around 10-25 ms so that a 20 ms propagation objective can be read off the histogram.
 */
export const PROPAGATION_LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

// prom-client costs tens of ms to load: only nodes that create metrics pay it.
let promModule: typeof PromClient | undefined;
function loadPromClient(): typeof PromClient {
  promModule ??= createRequire(import.meta.url)("prom-client") as typeof PromClient;
  return promModule;
}

/**
 * Creates the metrics of one node in a registry of its own (never prom-client's global one),
 * so several nodes in one process, as in tests, do not share counters.
 */
export function createNodeMetrics(options: NodeMetricsOptions): NodeMetrics {
  const prom = loadPromClient();
  const registry = new prom.Registry();
  const counter = (name: string, help: string): Counter => {
    const metric = new prom.Counter({ name, help, registers: [registry] });
    return { inc: (by) => metric.inc(by) };
  };
  const labeledCounter = <Labels extends Record<string, string>>(
    name: string,
    help: string,
    labelNames: readonly (keyof Labels & string)[],
  ): LabeledCounter<Labels> => {
    const metric = new prom.Counter({ name, help, labelNames, registers: [registry] });
    return { inc: (labels, by) => metric.inc(labels, by), series: (labels) => metric.labels(labels) };
  };
  const gauge = (name: string, help: string): Gauge => {
    const metric = new prom.Gauge({ name, help, registers: [registry] });
    return { set: (value) => metric.set(value), inc: (by) => metric.inc(by), dec: (by) => metric.dec(by) };
  };

  const labeledGauge = <Labels extends Record<string, string>>(
    name: string,
    help: string,
    labelNames: readonly (keyof Labels & string)[],
  ): LabeledGauge<Labels> => {
    const metric = new prom.Gauge({ name, help, labelNames, registers: [registry] });
    return { set: (labels, value) => metric.set(labels, value) };
  };

  const buildInfo = new prom.Gauge({
    name: "numax_build_info",
    help: "Always 1; the version label says which Numax runs.",
    labelNames: ["version"],
    registers: [registry],
  });
  buildInfo.set({ version: options.version }, 1);

  const propagation = new prom.Histogram({
    name: "numax_propagation_latency_seconds",
    help: "Time from an op's creation on its origin node to its application on this node.",
    buckets: [...PROPAGATION_LATENCY_BUCKETS_SECONDS],
    registers: [registry],
  });
  const opApply = new prom.Histogram({
    name: "numax_op_apply_duration_seconds",
    help: "Time of one application of a peer's ops (a slice of at most 128 ops of a PushOps) on the node's thread.",
    buckets: [...OP_APPLY_DURATION_BUCKETS_SECONDS],
    registers: [registry],
  });

  // Reported once per event by busy modules: series resolved once (series-metrics.ts).
  const hot = <M extends { name: string }>(metric: M): M => {
    registry.registerMetric(metric as unknown as PromClient.Metric);
    return metric;
  };
  const moduleEvents = hot(
    new SeriesCounter<{ module: string; kind: string }>(
      "numax_module_events_total",
      "Events handed to reactive modules' callbacks, by module and kind.",
      ["module", "kind"],
    ),
  );
  const callbackSeconds = hot(
    new SeriesHistogram<{ module: string; callback: string }>(
      "numax_module_callback_seconds",
      "Guest time of reactive modules' callback calls, by module and callback.",
      ["module", "callback"],
      CALLBACK_DURATION_BUCKETS_SECONDS,
    ),
  );

  // Counted once per HTTP request (src/serve/serve-metrics.ts resolves the series once each).
  const httpRequests = hot(
    new SeriesCounter<{ listener: string; route: string; status: string }>(
      "numax_http_requests_total",
      "Answered HTTP requests, by listener, route and status class.",
      ["listener", "route", "status"],
    ),
  );
  const httpHandlerSeconds = hot(
    new SeriesHistogram<{ listener: string; route: string }>(
      "numax_http_handler_seconds",
      "Duration of HTTP request handlers (not event streams or WebSockets), by listener and route.",
      ["listener", "route"],
      HTTP_HANDLER_DURATION_BUCKETS_SECONDS,
    ),
  );

  const metrics: NodeMetrics = {
    opsApplied: labeledCounter(
      "numax_ops_applied_total",
      "CRDT ops applied to local state, by CRDT family and origin (local or remote).",
      ["family", "origin"],
    ),
    opLogEntries: gauge("numax_op_log_entries", "Ops held in the op-log."),
    peersConnected: gauge("numax_peers_connected", "Peers with an open, authenticated connection."),
    peerConnects: counter("numax_peer_connects_total", "Peer connections established."),
    members: labeledGauge(
      "numax_members",
      "Cluster members by membership state (alive, suspect, dead, left), this node included.",
      ["state"],
    ),
    peerDisconnects: counter("numax_peer_disconnects_total", "Peer connections lost or closed."),
    syncErrors: labeledCounter("numax_sync_errors_total", "Sync failures, by kind.", ["kind"]),
    broadcastBatches: counter("numax_broadcast_batches_total", "PushOps batches sent to peers."),
    broadcastOps: counter("numax_broadcast_ops_total", "Ops sent to peers inside PushOps batches."),
    syncQueuedOps: gauge("numax_sync_queued_ops", "Ops waiting in the per-peer send queues, over all peers."),
    syncOpsShed: counter(
      "numax_sync_ops_shed_total",
      "Ops shed from a full per-peer send queue (re-sent from the op-log once it drains).",
    ),
    syncOpsTooLarge: counter(
      "numax_sync_ops_too_large_total",
      "Ops left out of a peer's batches: larger than one message the peer reads (max_message_size).",
    ),
    syncSendWindowBatches: gauge(
      "numax_sync_send_window_batches",
      "Adaptive send windows (unacknowledged PushOps batches allowed), summed over the peers.",
    ),
    syncAckRttSeconds: gauge(
      "numax_sync_ack_rtt_seconds",
      "The slowest peer's smoothed PushOps acknowledgement round trip.",
    ),
    wireBytes: labeledCounter(
      "numax_wire_bytes_total",
      "Frame bytes (header included) sent to and received from peers, by direction and message type.",
      ["direction", "message"],
    ),
    messagesPublished: counter(
      "numax_messages_published_total",
      "Module messages (Publish) sent to peers, one per peer.",
    ),
    messagesReceived: counter(
      "numax_messages_received_total",
      "Module messages (Publish) received from peers.",
    ),
    messagesDropped: labeledCounter(
      "numax_messages_dropped_total",
      "Module messages dropped by sync, by reason (backlog, invalid).",
      ["reason"],
    ),
    lastSyncLatencySeconds: gauge(
      "numax_last_sync_latency_seconds",
      "Round-trip time of the latest sync exchange with a peer.",
    ),
    propagationLatencySeconds: { observe: (value) => propagation.observe(value) },
    opApplySeconds: { observe: (value) => opApply.observe(value) },
    antiEntropyRounds: counter("numax_anti_entropy_rounds_total", "Anti-entropy rounds run."),
    stateSnapshots: labeledCounter(
      "numax_state_snapshots_total",
      "Whole-state snapshots sent to peers behind the op-log, or applied from one, by direction.",
      ["direction"],
    ),
    tombstonesCollected: counter(
      "numax_tombstones_collected_total",
      "CRDT cells rewritten or deleted by tombstone collection.",
    ),
    storeSizeBytes: gauge("numax_store_size_bytes", "Size of the local store on disk."),
    moduleRuns: labeledCounter("numax_module_runs_total", "Guest module runs, by result.", ["result"]),
    traps: labeledCounter("numax_traps_total", "Guest traps, by kind.", ["kind"]),
    hostCalls: labeledCounter(
      "numax_host_calls_total",
      "Host ABI calls made by guests, by import module and function.",
      ["module", "function"],
    ),
    guestCpuSeconds: counter("numax_guest_cpu_seconds_total", "CPU time spent running guest code."),
    moduleCpuSeconds: labeledCounter(
      "numax_module_cpu_seconds_total",
      "Guest CPU time by module (runs, and reactive modules' callbacks).",
      ["module"],
    ),
    moduleMemoryBytes: labeledGauge(
      "numax_module_memory_bytes",
      "Memory of a module's live guest processes, by module.",
      ["module"],
    ),
    moduleOps: labeledCounter("numax_module_ops_total", "CRDT ops made by a module, by module.", ["module"]),
    moduleBytesWritten: labeledCounter(
      "numax_module_bytes_written_total",
      "Store bytes written by a module (keys and values), by module.",
      ["module"],
    ),
    moduleQuotaHits: labeledCounter(
      "numax_module_quota_hits_total",
      "Times a quota throttled, refused or stopped a module, by module and quota.",
      ["module", "quota"],
    ),
    moduleEvents,
    moduleEventsDropped: labeledCounter(
      "numax_module_events_dropped_total",
      "Events dropped for reactive modules (a full queue, a tick while one runs), by module and kind.",
      ["module", "kind"],
    ),
    moduleCallbackSeconds: callbackSeconds,
    moduleCallbackFailures: labeledCounter(
      "numax_module_callback_failures_total",
      "Reactive module callback calls that failed, by module and callback.",
      ["module", "callback"],
    ),
    moduleRestarts: labeledCounter(
      "numax_module_restarts_total",
      "Restarts of reactive modules after a crash, by module.",
      ["module"],
    ),
    observabilityRequests: labeledCounter(
      "numax_observability_requests_total",
      "Requests to the observability endpoint, by path.",
      ["path"],
    ),
    observabilityErrors: labeledCounter(
      "numax_observability_errors_total",
      "Observability requests that failed, by kind.",
      ["kind"],
    ),
    httpRequests,
    httpHandlerSeconds,
    httpSseStreams: gauge("numax_http_sse_streams", "Server-sent event streams open."),
    httpWebSockets: gauge("numax_http_websockets", "WebSocket connections open."),
    contentType: registry.contentType,
    render: () => registry.metrics(),
  };
  // After ours, so that the numax_ metrics come first in the exposition.
  if (options.processMetrics ?? true) prom.collectDefaultMetrics({ register: registry });
  return metrics;
}
