import { randomFillSync } from "node:crypto";
import type { NodeConfig } from "../config/node-config.ts";
import { formatSocketAddress } from "../config/socket-address.ts";
import { NumaxError } from "../errors/numax-error.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { Logger } from "../observe/logger.ts";
import type { NodeMetrics } from "../observe/metrics.ts";
import type { ObservabilityServer } from "../observe/observability-server.ts";
import type { ExtendedKvBackend } from "../store/extended-kv-backend.ts";
import type { GuestStore } from "../store/guest-store.ts";
import type { ReplicatedState } from "../sync/replica/replicated-state.ts";
import type { SyncService } from "../sync/sync-service.ts";
import type { CrdtHost } from "../wasm/abi/crdt-host.ts";
import { HostCallCounter } from "../wasm/abi/host-call-counter.ts";
import { DurableOutputGate } from "./durable-output.ts";
import { answerIntrospection, type NodeIntrospection } from "./node-introspection.ts";

export interface NumaxNodeOptions {
  config: NodeConfig;
  logger: Logger;
  /** Open the store even without sync (a guest imports `db_*`). Sync always opens it. */
  needsStore: boolean;
  version: string;
}

/**
 * One running node: the store, the replicated state and sync (when `network.listen` is set),
 * metrics and the observability endpoint (when `observability.listen` is set). Built by
 * `startNumaxNode`, stopped by `close`; guests reach it through `guestStore` and `crdt`.
 */
export interface NumaxNode {
  readonly nodeId: NodeId | undefined;
  readonly guestStore: GuestStore | undefined;
  /** Present exactly when sync is enabled: `crdt_*` answer -5 otherwise. */
  readonly crdt: CrdtHost | undefined;
  readonly sync: SyncService | undefined;
  readonly metrics: NodeMetrics | undefined;
  /** Counts guests' host calls into `metrics` (present with them). */
  readonly hostCalls: HostCallCounter | undefined;
  readonly observability: ObservabilityServer | undefined;
  /** Holds guest output until the writes made before it are durable (`storage.durability`). */
  readonly outputGate: DurableOutputGate;
  introspect(): NodeIntrospection;
  /** Stops sync (flushing queued ops to peers), flushes and closes the store, stops the endpoint. */
  close(): Promise<void>;
}

export async function startNumaxNode(options: NumaxNodeOptions): Promise<NumaxNode> {
  const { config, logger } = options;
  const syncEnabled = config.network.listen !== undefined;
  const closers: (() => Promise<void>)[] = [];
  // What /ready reports. They turn false as soon as shutdown begins: the endpoint is closed last,
  // and a load balancer polling it must see the node leave before its store and peers do.
  const state = { storeOpen: false, hydrated: false, closing: false };
  const closeAll = async (): Promise<void> => {
    state.closing = true;
    for (const close of closers.reverse()) await close();
  };
  try {
    const tls = syncEnabled ? await loadTls(config, logger) : undefined;
    let backend: ExtendedKvBackend | undefined;
    let guestStore: GuestStore | undefined;
    if (syncEnabled || options.needsStore) {
      // lmdb costs tens of milliseconds to load: a guest that never touches the store does not pay it.
      const [{ openLmdbBackend }, { createGuestStore }] = await Promise.all([
        import("../store/lmdb-backend.ts"),
        import("../store/guest-store.ts"),
      ]);
      const opened = await openLmdbBackend({
        path: config.storage.datastorePath,
        logger,
      });
      backend = opened;
      closers.push(() => opened.close());
      state.storeOpen = true;
      guestStore = createGuestStore(opened);
    }

    let metrics: NodeMetrics | undefined;
    let hostCalls: HostCallCounter | undefined;
    if (config.observability.listen !== undefined) {
      const { createNodeMetrics } = await import("../observe/metrics.ts");
      metrics = createNodeMetrics({ version: options.version });
      hostCalls = new HostCallCounter();
    }

    let replica: ReplicatedState | undefined;
    let sync: SyncService | undefined;
    let nodeId: NodeId | undefined;
    if (syncEnabled && backend !== undefined) {
      const [{ openReplicatedState }, { loadOrCreateNodeId }, { SyncService }] = await Promise.all([
        import("../sync/replica/replicated-state.ts"),
        import("../sync/replica/node-identity.ts"),
        import("../sync/sync-service.ts"),
      ]);
      const store = backend;
      nodeId = tls?.nodeId ?? (await loadOrCreateNodeId(store, (n) => randomFillSync(new Uint8Array(n))));
      const replicated = openReplicatedState({
        backend: store,
        nodeId,
        logger: logger.child("replica"),
        opLogLimit: config.limits.opLogLimit,
        seenOpsLimit: config.limits.seenOpsLimit,
      });
      replica = replicated;
      state.hydrated = true; // openReplicatedState rebuilt every CRDT from disk before returning
      closers.push(() => replicated.close());
      const service = await SyncService.start({ config, replica: replicated, tls, nodeId, logger, metrics });
      sync = service;
      closers.push(() => service.stop());
    }

    let observability: ObservabilityServer | undefined;
    const node: NumaxNode = {
      nodeId,
      guestStore,
      crdt: replica,
      sync,
      metrics,
      hostCalls,
      outputGate: new DurableOutputGate(backend, config.storage.durability, logger.child("output")),
      get observability() {
        return observability;
      },
      introspect: () => introspect(config, nodeId, backend, replica, sync),
      close: closeAll,
    };
    if (config.observability.listen !== undefined && metrics !== undefined) {
      const { startObservabilityServer } = await import("../observe/observability-server.ts");
      const registry = metrics;
      // The engine counts; Prometheus counters get the increase since the last scrape.
      let counted = { antiEntropyRounds: 0, batchesSent: 0, opsSent: 0 };
      observability = await startObservabilityServer({
        listen: config.observability.listen,
        metrics: registry,
        requestTimeoutMs: config.observability.requestTimeoutMs,
        logger,
        readiness: () => ({
          ...(backend === undefined
            ? {}
            : {
                storeOpen: state.storeOpen && !state.closing,
                // False while commits fail (a full disk): writes are refused until they succeed again.
                storeWritable: backend.commitFailure() === undefined,
              }),
          ...(replica === undefined ? {} : { hydrated: state.hydrated && !state.closing }),
          ...(sync === undefined
            ? {}
            : { syncListening: sync.peers.listenAddress() !== undefined && !state.closing }),
        }),
        beforeRender: () => {
          hostCalls?.drain((module, name, calls) =>
            registry.hostCalls.inc({ module, function: name }, calls),
          );
          if (backend !== undefined) registry.storeSizeBytes.set(backend.sizeBytes());
          if (replica !== undefined) registry.opLogEntries.set(replica.stats().opLogSize);
          if (sync !== undefined) {
            registry.peersConnected.set(sync.peers.connectedPeers().length);
            const { antiEntropyRounds, batchesSent, opsSent } = sync.engine.stats;
            registry.antiEntropyRounds.inc(antiEntropyRounds - counted.antiEntropyRounds);
            registry.broadcastBatches.inc(batchesSent - counted.batchesSent);
            registry.broadcastOps.inc(opsSent - counted.opsSent);
            counted = { antiEntropyRounds, batchesSent, opsSent };
          }
        },
        introspect: config.observability.exposeData
          ? (path) => answerIntrospection(path, node.introspect, replica)
          : undefined,
      });
      const server = observability;
      closers.splice(0, 0, () => server.close());
    }
    return node;
  } catch (error) {
    await closeAll().catch(() => {});
    throw error;
  }
}

async function loadTls(config: NodeConfig, logger: Logger) {
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

function introspect(
  config: NodeConfig,
  nodeId: NodeId | undefined,
  backend: ExtendedKvBackend | undefined,
  replica: ReplicatedState | undefined,
  sync: SyncService | undefined,
): NodeIntrospection {
  return {
    nodeId,
    datastorePath: config.storage.datastorePath,
    storeSizeBytes: backend?.sizeBytes(),
    sync:
      sync === undefined || replica === undefined
        ? undefined
        : {
            listen: sync.peers.listenAddress(),
            connectedPeers: sync.peers.connectedPeers(),
            configuredPeers: sync.peers.configuredPeers(),
            versionVector: Object.fromEntries(replica.versionVector()),
            replica: replica.stats(),
            engine: {
              ...sync.engine.stats,
              queuedOps: sync.engine.queuedOps(),
              inflightBatches: sync.engine.inflightBatches(),
            },
          },
  };
}
