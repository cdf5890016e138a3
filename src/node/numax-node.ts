import { monotonicMs } from "../clock/monotonic-clock.ts";
import type { NodeConfig } from "../config/node-config.ts";
import { type DashboardComponent, dashboardComponent } from "../dashboard/dashboard-component.ts";
import { describeError } from "../errors/numax-error.ts";
import type { NodeEventBus } from "../events/node-event-bus.ts";
import type { NodeId } from "../identity/node-id.ts";
import { type ManagementComponent, managementComponent } from "../management/management-component.ts";
import type { Logger } from "../observe/logger.ts";
import type { NodeMetrics } from "../observe/metrics.ts";
import type { ObservabilityServer, ReadinessChecks } from "../observe/observability-server.ts";
import type { ServeComponent, ServeComponentOptions } from "../serve/serve-component.ts";
import type { NodeSnapshots } from "../snapshot/node-snapshots.ts";
import type { DatastoreLayout } from "../store/datastore-layout.ts";
import type { GuestStore } from "../store/guest-store.ts";
import type { SyncService } from "../sync/sync-service.ts";
import type { CrdtHost } from "../wasm/abi/crdt-host.ts";
import { ComponentSet, ComponentStartError, ComponentStopError } from "./component-set.ts";
import type { Determinism } from "./determinism.ts";
import type { DurableOutputGate } from "./durable-output.ts";
import type { InterruptSignal } from "./interrupt.ts";
import { type ModuleHostComponent, type ModuleHostOptions, moduleHostComponent } from "./module-host.ts";
import {
  eventsComponent,
  type MetricsComponent,
  metricsComponent,
  type ObservabilityComponent,
  observabilityComponent,
  outputGateComponent,
  type ReplicaComponent,
  replicaComponent,
  type StoreComponent,
  type SyncComponent,
  storeComponent,
  syncComponent,
  tlsComponent,
} from "./node-components.ts";
import {
  answerIntrospection,
  type ModuleView,
  type NodeIntrospection,
  type RuntimeIntrospection,
} from "./node-introspection.ts";
import { createRuntimeIntrospection } from "./runtime-introspection.ts";
import { createSyncActivity } from "./sync-activity.ts";

export interface NumaxNodeOptions {
  config: NodeConfig;
  logger: Logger;
  /** Open the store even without sync (a guest imports `db_*`). Sync always opens it. */
  needsStore: boolean;
  /** The Numax version, read when first reported (metrics, snapshots, introspection). */
  version: () => string;
  /** The datastore as `prepareDatastore` left it, when the caller prepared it already. */
  datastore?: DatastoreLayout;
  /** The modules to run: the node gets a module host (`modules`) when given. */
  modules?: ModuleHostOptions;
  /** HTTP listeners serving the modules' handlers (with `modules` only): the `serve` component. */
  serve?: Omit<ServeComponentOptions, "modules">;
  /**
   * Open the management API (unless `[management] listen` is off): for a node that keeps running.
   * `listenIsDefault`: `listen` was left at its default, so a busy address makes the API take a
   * free port of its host (printed at start) instead of failing the start.
   */
  management?: { readonly listenIsDefault: boolean };
  /** Open the dashboard (unless `[dashboard] listen` is off), as `management`: for a node that keeps running. */
  dashboard?: { readonly listenIsDefault: boolean };
  /** `--deterministic`: the guests' clock and randomness, the replica's HLC clock and node id come from it. */
  determinism?: Determinism;
  /**
   * The node runs until stopped (it syncs, serves or runs reactive modules): its files may be
   * upgraded under it, so the store loads its commit thread at start (LmdbBackendOptions).
   */
  runsUntilStopped?: boolean;
  /**
   * Aborted (SIGINT/SIGTERM during start-up): the start goes no further than the component under
   * way, stops the ones started and throws the signal's reason (a ComponentStopError instead when
   * one of them failed to stop); no module runs.
   */
  signal?: InterruptSignal;
}

/**
 * One running node: the store, the replicated state and sync (when `network.listen` is set),
 * metrics and the observability endpoint (when `observability.listen` is set). Built by
 * `startNumaxNode` as a set of components (node-components.ts, docs/design/node-lifecycle.md)
 * started after their dependencies, stopped by `close` in the reverse order; guests reach it
 * through `guestStore` and `crdt`.
 */
export interface NumaxNode {
  readonly nodeId: NodeId | undefined;
  readonly guestStore: GuestStore | undefined;
  /** Present exactly when sync is enabled: `crdt_*` answer -5 otherwise. */
  readonly crdt: CrdtHost | undefined;
  readonly sync: SyncService | undefined;
  readonly metrics: NodeMetrics | undefined;
  readonly observability: ObservabilityServer | undefined;
  /** Holds guest output until the writes made before it are durable (`storage.durability`). */
  readonly outputGate: DurableOutputGate;
  introspect(): NodeIntrospection;
  /** What the node says about itself: the management API and the dashboard read this. */
  readonly introspection: RuntimeIntrospection;
  /** The management API, when the node keeps running and `[management] listen` is not off. */
  readonly management: ManagementComponent | undefined;
  /** The dashboard, when the node keeps running and `[dashboard] listen` is not off. */
  readonly dashboard: DashboardComponent | undefined;
  /** Reactive modules' events: the modules the node runs are added here (and listed in `/v1/node`). */
  readonly events: NodeEventBus;
  /** The module host, when the node was started with modules. */
  readonly modules: ModuleHostComponent | undefined;
  /** The HTTP listeners, when the node serves (`[[serve]]`, `--serve`). */
  readonly serve: ServeComponent | undefined;
  /**
   * Shutdown begins, before any part stops: the node reports not ready and its modules refuse
   * changes (every component's `beforeStop`; `close` runs it unless this did).
   */
  beginStop(): Promise<void>;
  /**
   * Reports not ready, stops sync (flushing queued ops to peers), closes the replica, flushes and
   * closes the store, then stops the endpoint. Every part is stopped even if one fails; closing
   * again does nothing.
   */
  close(): Promise<void>;
}

/**
 * The node's snapshots (`/api/v1/snapshots`); the snapshot code loads on the first request.
 * Each snapshot records the replica's identity when the node syncs.
 */
function storeSnapshots(
  store: StoreComponent,
  replica: ReplicaComponent | undefined,
  numaxVersion: () => string,
): NodeSnapshots {
  let snapshots: Promise<NodeSnapshots> | undefined;
  const loaded = (): Promise<NodeSnapshots> => {
    snapshots ??= import("../snapshot/node-snapshots.ts").then(({ nodeSnapshots }) => {
      const backend = store.backend!;
      return nodeSnapshots({
        datastorePath: backend.datastorePath,
        nodeId: () => replica?.nodeId ?? null,
        copyStore: async (directory) => {
          replica?.replica?.flush();
          await backend.copyCompacted(directory);
        },
        nowMs: Date.now,
        numaxVersion: numaxVersion(),
      });
    });
    return snapshots;
  };
  return {
    create: async () => (await loaded()).create(),
    list: async () => (await loaded()).list(),
  };
}

export async function startNumaxNode(options: NumaxNodeOptions): Promise<NumaxNode> {
  const { config, logger } = options;
  const startedAtMs = monotonicMs();
  const syncEnabled = config.network.listen !== undefined;
  // The parts the configuration needs, declared in the order independent parts start (see
  // component-order.ts): TLS first, so unusable TLS files fail the node before it touches the store.
  const tls = syncEnabled ? tlsComponent(config, logger) : undefined;
  const store =
    syncEnabled || options.needsStore
      ? storeComponent(config, logger, options.datastore, options.runsUntilStopped)
      : undefined;
  const metrics = config.observability.listen !== undefined ? metricsComponent(options.version()) : undefined;
  const replica =
    tls !== undefined && store !== undefined
      ? replicaComponent(config, logger, { store, tls, determinism: options.determinism })
      : undefined;
  const activity = replica !== undefined ? createSyncActivity(Date.now) : undefined;
  const sync =
    replica !== undefined && tls !== undefined
      ? syncComponent(config, logger, { replica, tls, metrics, activity: activity?.observer })
      : undefined;
  const outputGate = outputGateComponent(config, logger, store, replica);
  const events = eventsComponent({ replica, sync, metrics });
  const modules =
    options.modules === undefined
      ? undefined
      : moduleHostComponent(
          config,
          logger,
          { ...options.modules, determinism: options.determinism },
          {
            store,
            replica,
            sync,
            metrics,
            events,
            outputGate,
          },
        );
  // Serving loads its router and node:http only when there is something to serve.
  const serve =
    modules !== undefined && options.serve !== undefined && options.serve.listeners.length > 0
      ? (await import("../serve/serve-component.ts")).serveComponent(
          logger,
          { ...options.serve, modules: options.modules!.modules },
          modules,
          () => events.bus,
          () => metrics?.metrics,
        )
      : undefined;
  const before = [tls, store, metrics, replica, sync, outputGate, events, modules, serve].filter(
    (part) => part !== undefined,
  );
  const managementListen = config.management.listen;
  const management: ManagementComponent | undefined =
    options.management !== undefined && managementListen !== "off"
      ? managementComponent(
          config,
          logger,
          {
            listen: managementListen,
            listenIsDefault: options.management.listenIsDefault,
            context: () => ({
              introspection,
              readiness: () => readiness(store, replica, sync, closing),
              peers: sync?.service?.peers,
              kernel: () => modules?.kernel,
              modules,
              snapshots: store === undefined ? undefined : storeSnapshots(store, replica, options.version),
            }),
          },
          // It reports on every other part: it opens after them and closes before them.
          before.map(({ name }) => name),
        )
      : undefined;
  const dashboardListen = config.dashboard.listen;
  const dashboard: DashboardComponent | undefined =
    options.dashboard !== undefined && dashboardListen !== "off"
      ? dashboardComponent(
          config,
          logger,
          {
            listen: dashboardListen,
            listenIsDefault: options.dashboard.listenIsDefault,
            introspection: () => introspection,
          },
          // Like the API it reports on every other part; after the API, whose token files it reads.
          [...before, ...(management === undefined ? [] : [management])].map(({ name }) => name),
        )
      : undefined;
  const parts = [...before, management, dashboard].filter((part) => part !== undefined);
  const introspection = createRuntimeIntrospection({
    config,
    version: options.version,
    startedAtMs,
    store,
    replica,
    sync,
    events,
    modules,
    serve,
    managementUrl: () => management?.server?.url,
    activity,
  });
  const introspectNode = introspection.summary;
  // The engine and the module host count; Prometheus counters get the increase since the last scrape.
  const counted: CountedSoFar = {
    antiEntropyRounds: 0,
    batchesSent: 0,
    opsSent: 0,
    opsShed: 0,
    snapshotsSent: 0,
    snapshotsApplied: 0,
    tombstonesCollected: 0,
    moduleCpuMs: new Map(),
    moduleUsage: new Map(),
  };
  const observability: ObservabilityComponent | undefined =
    metrics === undefined
      ? undefined
      : observabilityComponent(
          config,
          metrics,
          {
            logger,
            readiness: (): ReadinessChecks => readiness(store, replica, sync, closing),
            beforeRender: () =>
              refreshMetrics(metrics, store, replica, sync, modules, introspection.modules(), counted),
            introspect: config.observability.exposeData
              ? (path) => answerIntrospection(path, introspectNode, replica?.replica)
              : undefined,
          },
          // It reports on every other part: it opens after them and closes after them.
          parts.map(({ name }) => name),
        );
  // Shutdown has begun: /ready turns false on both endpoints before any part stops.
  const closing = (): boolean => observability?.closing === true || management?.closing === true;
  const components = new ComponentSet(observability === undefined ? parts : [...parts, observability], {
    logger: logger.child("node"),
  });
  try {
    await components.start(options.signal);
  } catch (error) {
    if (!(error instanceof ComponentStartError)) throw error;
    logger.debug("node start failed", {
      component: error.component,
      stopFailures: error.stopFailures.map(({ component, error }) => `${component}: ${describeError(error)}`),
    });
    // The part's own error is the one line the user reads (and decides the exit code).
    throw error.cause;
  }
  return {
    nodeId: replica?.nodeId,
    guestStore: store?.guestStore,
    crdt: replica?.replica,
    sync: sync?.service,
    metrics: metrics?.metrics,
    observability: observability?.server,
    outputGate: outputGate.gate!,
    introspect: introspectNode,
    introspection,
    management,
    dashboard,
    events: events.bus!,
    modules,
    serve,
    beginStop: () => components.beginStop(),
    close: async () => {
      try {
        await components.stop();
      } catch (error) {
        // One part failing to stop reads as that part's own error, as it did before components.
        if (error instanceof ComponentStopError && error.failures.length === 1)
          throw error.failures[0]!.error;
        throw error;
      }
    },
  };
}

/** What /ready reports: every check turns false as soon as shutdown begins. */
function readiness(
  store: StoreComponent | undefined,
  replica: ReplicaComponent | undefined,
  sync: SyncComponent | undefined,
  closing: () => boolean,
): ReadinessChecks {
  const serving = !closing();
  const backend = store?.backend;
  const service = sync?.service;
  return {
    // Every node has this one: a node without a store or sync (one that only serves) had no
    // check to turn false, and answered 200 while it stopped.
    running: serving,
    ...(backend === undefined
      ? {}
      : {
          storeOpen: serving,
          // False while commits fail (a full disk): writes are refused until they succeed again.
          storeWritable: backend.commitFailure() === undefined,
        }),
    // openReplicatedState rebuilt every CRDT from disk before the replica's start returned.
    ...(replica?.replica === undefined ? {} : { hydrated: serving }),
    ...(service === undefined
      ? {}
      : { syncListening: service.peers.listenAddress() !== undefined && serving }),
  };
}

/** What the counters fed from other parts' totals were given so far. */
interface CountedSoFar {
  antiEntropyRounds: number;
  batchesSent: number;
  opsSent: number;
  opsShed: number;
  snapshotsSent: number;
  snapshotsApplied: number;
  tombstonesCollected: number;
  /** By module id: its `cpuMs` (the management API's module view) at the last render. */
  readonly moduleCpuMs: Map<string, number>;
  /** By module id (and `\0quota` for its quota hits): its `usage` counts at the last render. */
  readonly moduleUsage: Map<string, number>;
}

/** Gauges and counters read from the other parts before each /metrics render. */
function refreshMetrics(
  metricsPart: MetricsComponent,
  store: StoreComponent | undefined,
  replica: ReplicaComponent | undefined,
  sync: SyncComponent | undefined,
  modules: ModuleHostComponent | undefined,
  moduleViews: readonly ModuleView[],
  counted: CountedSoFar,
): void {
  const registry = metricsPart.metrics!;
  modules?.drainHostCalls((module, name, calls) => registry.hostCalls.inc({ module, function: name }, calls));
  // The same figures `GET /v1/modules` shows: one accounting, read, never computed twice.
  for (const { id, cpuMs, memoryBytes } of moduleViews) {
    const increase = cpuMs - (counted.moduleCpuMs.get(id) ?? 0);
    if (increase > 0) registry.moduleCpuSeconds.inc({ module: id }, increase / 1000);
    counted.moduleCpuMs.set(id, cpuMs);
    registry.moduleMemoryBytes.set({ module: id }, memoryBytes);
  }
  /** The increase of a count since the last render (none after a module of that id was removed and added again). */
  const increase = (key: string, now: number): number => {
    const before = counted.moduleUsage.get(key) ?? 0;
    counted.moduleUsage.set(key, now);
    return Math.max(0, now - before);
  };
  for (const { id, usage } of moduleViews) {
    registry.moduleOps.inc({ module: id }, increase(`${id}\0ops`, usage.ops));
    registry.moduleBytesWritten.inc({ module: id }, increase(`${id}\0bytes`, usage.bytesWritten));
    for (const [quota, hits] of Object.entries(usage.quotaHits)) {
      registry.moduleQuotaHits.inc({ module: id, quota }, increase(`${id}\0quota\0${quota}`, hits));
    }
  }
  const backend = store?.backend;
  if (backend !== undefined) registry.storeSizeBytes.set(backend.sizeBytes());
  const state = replica?.replica;
  if (state !== undefined) {
    const { opLogSize, tombstonesCollected } = state.stats();
    registry.opLogEntries.set(opLogSize);
    registry.tombstonesCollected.inc(tombstonesCollected - counted.tombstonesCollected);
    counted.tombstonesCollected = tombstonesCollected;
  }
  const service = sync?.service;
  if (service !== undefined) {
    registry.peersConnected.set(service.peers.connectedPeers().length);
    const { antiEntropyRounds, batchesSent, opsSent, opsShed, snapshotsSent, snapshotsApplied } =
      service.engine.stats;
    registry.antiEntropyRounds.inc(antiEntropyRounds - counted.antiEntropyRounds);
    registry.stateSnapshots.inc({ direction: "sent" }, snapshotsSent - counted.snapshotsSent);
    registry.stateSnapshots.inc({ direction: "applied" }, snapshotsApplied - counted.snapshotsApplied);
    registry.broadcastBatches.inc(batchesSent - counted.batchesSent);
    registry.broadcastOps.inc(opsSent - counted.opsSent);
    registry.syncOpsShed.inc(opsShed - counted.opsShed);
    registry.syncQueuedOps.set(service.engine.queuedOps());
    registry.syncSendWindowBatches.set(service.engine.sendWindowBatches());
    registry.syncAckRttSeconds.set(service.engine.ackRttMs() / 1000);
    Object.assign(counted, {
      antiEntropyRounds,
      batchesSent,
      opsSent,
      opsShed,
      snapshotsSent,
      snapshotsApplied,
    });
  }
}
