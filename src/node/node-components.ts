import type { NodeConfig } from "../config/node-config.ts";
import { formatSocketAddress } from "../config/socket-address.ts";
import { NumaxError } from "../errors/numax-error.ts";
import type { ModuleEventKind } from "../events/module-event.ts";
import type { EventObserver } from "../events/module-events.ts";
import { NodeEventBus } from "../events/node-event-bus.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { TlsMaterial } from "../net/tls-material.ts";
import type { Logger } from "../observe/logger.ts";
import type { NodeMetrics } from "../observe/metrics.ts";
import type { ObservabilityServer, ObservabilityServerOptions } from "../observe/observability-server.ts";
import type { DatastoreLayout } from "../store/datastore-layout.ts";
import type { GuestStore } from "../store/guest-store.ts";
import type { LmdbBackend } from "../store/lmdb-backend.ts";
import type { ReplicatedState } from "../sync/replica/replicated-state.ts";
import type { SyncActivityObserver, SyncService } from "../sync/sync-service.ts";
import type { CallbackExport } from "../wasm/guest-exports.ts";
import type { Component } from "./component.ts";
import { type Determinism, randomBytesSource } from "./determinism.ts";
import { type DurabilitySource, DurableOutputGate } from "./durable-output.ts";

/**
 * The parts of a node, each a {@link Component} that exposes what it made once started.
 * numax-node.ts picks the ones the configuration needs and declares their dependencies; see
 * docs/design/node-lifecycle.md. Every heavy module (lmdb, sync, metrics, the HTTP endpoint)
 * is imported in `start`, so a node that does not need a part does not pay for loading it.
 */

/** Names other components give in `dependsOn`. */
export type NodeComponentName =
  | "tls"
  | "metrics"
  | "store"
  | "replica"
  | "sync"
  | "output-gate"
  | "events"
  | "modules"
  | "serve"
  | "management"
  | "dashboard"
  | "observability";

interface NodeComponent extends Component {
  readonly name: NodeComponentName;
  readonly dependsOn: readonly NodeComponentName[];
}

export interface TlsComponent extends NodeComponent {
  /** Undefined with `tls.insecure`. */
  readonly material: TlsMaterial | undefined;
}

/** The TLS material sync needs, read first: a node with unusable TLS files touches nothing else. */
export function tlsComponent(config: NodeConfig, logger: Logger): TlsComponent {
  let material: TlsMaterial | undefined;
  return {
    name: "tls",
    dependsOn: [],
    get material() {
      return material;
    },
    start: async () => {
      material = await loadTls(config, logger);
    },
    stop: () => {},
  };
}

async function loadTls(config: NodeConfig, logger: Logger): Promise<TlsMaterial | undefined> {
  const { cert, key, ca, insecure } = config.tls;
  if (insecure) {
    logger.warn(
      "TLS IS OFF (--tls-insecure): peers are not authenticated and traffic is not encrypted; use only for local development",
    );
    return undefined;
  }
  if (cert === undefined || key === undefined || ca === undefined) {
    throw new NumaxError(
      "USAGE_SYNC_NEEDS_TLS",
      `sync on ${formatSocketAddress(config.network.listen!)} needs --tls-cert, --tls-key and --tls-ca (create them with \`nx cert\`), or --tls-insecure for local development`,
    );
  }
  const { loadTlsMaterial } = await import("../net/tls-material.ts");
  return loadTlsMaterial({ certPath: cert, keyPath: key, caPath: ca });
}

export interface MetricsComponent extends NodeComponent {
  readonly metrics: NodeMetrics | undefined;
}

export function metricsComponent(version: string): MetricsComponent {
  let metrics: NodeMetrics | undefined;
  return {
    name: "metrics",
    dependsOn: [],
    get metrics() {
      return metrics;
    },
    start: async () => {
      const { createNodeMetrics } = await import("../observe/metrics.ts");
      metrics = createNodeMetrics({ version });
    },
    stop: () => {},
  };
}

export interface StoreComponent extends NodeComponent {
  readonly backend: LmdbBackend | undefined;
  readonly guestStore: GuestStore | undefined;
}

/** The LMDB store at `storage.datastore_path`; stopping flushes and closes it. */
export function storeComponent(
  config: NodeConfig,
  logger: Logger,
  layout: DatastoreLayout | undefined,
  runsUntilStopped = false,
): StoreComponent {
  let backend: LmdbBackend | undefined;
  let guestStore: GuestStore | undefined;
  return {
    name: "store",
    dependsOn: [],
    get backend() {
      return backend;
    },
    get guestStore() {
      return guestStore;
    },
    start: async () => {
      // lmdb costs tens of milliseconds to load: a guest that never touches the store does not pay it.
      const [{ openDatastore }, { createGuestStore }] = await Promise.all([
        import("../store/open-datastore.ts"),
        import("../store/guest-store.ts"),
      ]);
      ({ backend } = await openDatastore({
        path: config.storage.datastorePath,
        logger,
        layout,
        commitThreadAtOpen: runsUntilStopped,
      }));
      guestStore = createGuestStore(backend);
    },
    stop: () => backend?.close(),
  };
}

export interface ReplicaComponent extends NodeComponent {
  readonly nodeId: NodeId | undefined;
  readonly replica: ReplicatedState | undefined;
}

/** The replicated CRDT state, rebuilt from the store before `start` returns. */
export function replicaComponent(
  config: NodeConfig,
  logger: Logger,
  parts: { readonly store: StoreComponent; readonly tls: TlsComponent; readonly determinism?: Determinism },
): ReplicaComponent {
  let nodeId: NodeId | undefined;
  let replica: ReplicatedState | undefined;
  return {
    name: "replica",
    dependsOn: ["store", "tls"],
    get nodeId() {
      return nodeId;
    },
    get replica() {
      return replica;
    },
    start: async () => {
      const [{ openReplicatedState }, { loadOrCreateNodeId, recordNodeId }] = await Promise.all([
        import("../sync/replica/replicated-state.ts"),
        import("../sync/replica/node-identity.ts"),
      ]);
      const backend = parts.store.backend!;
      const certified = parts.tls.material?.nodeId;
      if (certified !== undefined) recordNodeId(backend, certified);
      const { determinism } = parts;
      nodeId = certified ?? (await loadOrCreateNodeId(backend, randomBytesSource(determinism)));
      replica = openReplicatedState({
        backend,
        nodeId,
        nowMs: determinism?.nowMs,
        logger: logger.child("replica"),
        opLogLimit: config.limits.opLogLimit,
        opLogSizeLimitBytes: config.limits.opLogSizeLimitBytes,
        seenOpsLimit: config.limits.seenOpsLimit,
        tombstoneHorizonMs: config.limits.tombstoneHorizonMs,
        coalesceMapWrites: config.sync.coalesceMapWrites,
      });
    },
    stop: () => replica?.close(),
  };
}

export interface SyncComponent extends NodeComponent {
  readonly service: SyncService | undefined;
}

/** Sync with the peers; stopping flushes the ops queued for them. */
export function syncComponent(
  config: NodeConfig,
  logger: Logger,
  parts: {
    readonly replica: ReplicaComponent;
    readonly tls: TlsComponent;
    readonly metrics: MetricsComponent | undefined;
    /** Told of every op and sync error (the node's op ring and throughput meter). */
    readonly activity?: SyncActivityObserver;
  },
): SyncComponent {
  let service: SyncService | undefined;
  return {
    name: "sync",
    dependsOn: ["replica", "tls", ...(parts.metrics === undefined ? [] : (["metrics"] as const))],
    get service() {
      return service;
    },
    start: async () => {
      const { SyncService } = await import("../sync/sync-service.ts");
      service = await SyncService.start({
        config,
        replica: parts.replica.replica!,
        tls: parts.tls.material,
        nodeId: parts.replica.nodeId!,
        logger,
        metrics: parts.metrics?.metrics,
        activity: parts.activity,
      });
    },
    stop: () => service?.stop(),
  };
}

export interface OutputGateComponent extends NodeComponent {
  readonly gate: DurableOutputGate | undefined;
}

/**
 * Holds guest output until the writes made before it are durable (`storage.durability`). The
 * replica's staged ops (CRDT writes waiting for their batch, STORE_BATCH_INTERVAL_MS) are writes
 * made before it too: they go to the store first.
 */
export function outputGateComponent(
  config: NodeConfig,
  logger: Logger,
  store: StoreComponent | undefined,
  replica: ReplicaComponent | undefined,
): OutputGateComponent {
  let gate: DurableOutputGate | undefined;
  return {
    name: "output-gate",
    dependsOn: store === undefined ? [] : ["store"],
    get gate() {
      return gate;
    },
    start: () => {
      const backend = store?.backend;
      const source: DurabilitySource | undefined =
        backend === undefined
          ? undefined
          : {
              lastWriteSeq: () => {
                replica?.replica?.flush();
                return backend.lastWriteSeq();
              },
              isDurable: (seq) => backend.isDurable(seq),
              durable: (seq) => backend.durable(seq),
            };
      gate = new DurableOutputGate(source, config.storage.durability, logger.child("output"));
    },
    stop: () => {},
  };
}

export interface EventsComponent extends NodeComponent {
  readonly bus: NodeEventBus | undefined;
}

/**
 * The node's event fan-out for reactive modules (src/events/node-event-bus.ts): the sync
 * service's event sink and the way module messages reach peers. Stopping it ends every module's
 * events (their runner has stopped them by then).
 */
export function eventsComponent(parts: {
  readonly replica: ReplicaComponent | undefined;
  readonly sync: SyncComponent | undefined;
  readonly metrics: MetricsComponent | undefined;
}): EventsComponent {
  let bus: NodeEventBus | undefined;
  return {
    name: "events",
    dependsOn: [
      ...(parts.sync === undefined ? [] : (["sync"] as const)),
      ...(parts.metrics === undefined ? [] : (["metrics"] as const)),
    ],
    get bus() {
      return bus;
    },
    start: () => {
      const metrics = parts.metrics?.metrics;
      bus = new NodeEventBus(metrics === undefined ? undefined : eventObserver(metrics));
      const service = parts.sync?.service;
      const nodeId = parts.replica?.nodeId;
      if (service !== undefined && nodeId !== undefined) {
        bus.connect(nodeId, service);
        service.setEventSink(bus);
      }
    },
    stop: () => bus?.closeAll(),
  };
}

/**
 * The node's metrics of reactive modules' events. A busy module reports every event, so each
 * module resolves its series (by kind, by callback) once and keeps them: hashing the labels on
 * every event cost a tenth of a dispatch.
 */
function eventObserver(metrics: NodeMetrics): EventObserver {
  const memo = <K extends string, S>(make: (key: K) => S) => {
    const series = new Map<K, S>();
    return (key: K): S => {
      let found = series.get(key);
      if (found === undefined) {
        found = make(key);
        series.set(key, found);
      }
      return found;
    };
  };
  return {
    module: (module) => {
      const delivered = memo((kind: ModuleEventKind) => metrics.moduleEvents.series({ module, kind }));
      const dropped = memo((kind: ModuleEventKind) => metrics.moduleEventsDropped.series({ module, kind }));
      const seconds = memo((callback: CallbackExport) =>
        metrics.moduleCallbackSeconds.series({ module, callback }),
      );
      return {
        delivered: (kind) => delivered(kind).inc(),
        dropped: (kind) => dropped(kind).inc(),
        callback: (callback, elapsed, ok) => {
          seconds(callback).observe(elapsed);
          metrics.guestCpuSeconds.inc(elapsed);
          if (!ok) metrics.moduleCallbackFailures.inc({ module, callback });
        },
        restarted: () => metrics.moduleRestarts.inc({ module }),
      };
    },
  };
}

export interface ObservabilityComponent extends NodeComponent {
  readonly server: ObservabilityServer | undefined;
  /** True from the moment shutdown begins: /ready reports every check false from then on. */
  readonly closing: boolean;
}

/**
 * The HTTP endpoint (/metrics, /health, /ready, /v1/); what it reports comes from `options`. It
 * depends on the parts it reports on, so it opens once they are up; it turns /ready false
 * before any of them stops (`beforeStop`) and closes only after all of them stopped
 * (`afterStop`), so a load balancer polling /ready sees the node leave before its store and
 * peers do.
 */
export function observabilityComponent(
  config: NodeConfig,
  metrics: MetricsComponent,
  options: Pick<ObservabilityServerOptions, "logger" | "readiness" | "beforeRender" | "introspect">,
  dependsOn: readonly NodeComponentName[],
): ObservabilityComponent {
  let server: ObservabilityServer | undefined;
  let closing = false;
  return {
    name: "observability",
    dependsOn,
    get server() {
      return server;
    },
    get closing() {
      return closing;
    },
    start: async () => {
      const { startObservabilityServer } = await import("../observe/observability-server.ts");
      server = await startObservabilityServer({
        ...options,
        listen: config.observability.listen!,
        metrics: metrics.metrics!,
        requestTimeoutMs: config.observability.requestTimeoutMs,
      });
    },
    beforeStop: () => {
      closing = true;
    },
    stop: () => {},
    afterStop: () => server?.close(),
  };
}
