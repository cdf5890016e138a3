import { randomFillSync } from "node:crypto";
import { after } from "node:test";
import { type ConfigFlags, resolveConfigLayers } from "../../src/config/resolve.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import type { TlsMaterial } from "../../src/net/tls-material.ts";
import { type Logger, silentLogger } from "../../src/observe/logger.ts";
import { createNodeMetrics, type NodeMetrics } from "../../src/observe/metrics.ts";
import { openLmdbBackend } from "../../src/store/lmdb-backend.ts";
import { loadOrCreateNodeId } from "../../src/sync/replica/node-identity.ts";
import { openReplicatedState, type ReplicatedState } from "../../src/sync/replica/replicated-state.ts";
import type { RemoteChange, SyncEventSink } from "../../src/sync/sync-events.ts";
import { SyncService } from "../../src/sync/sync-service.ts";
import { tempDir } from "./nx-process.ts";

/** Every event a SyncService gave its sink, in order, with a way to await one. */
export interface RecordingSink extends SyncEventSink {
  readonly changes: RemoteChange[];
  readonly peerEvents: string[];
  readonly messages: { from: NodeId; topic: string; payload: Uint8Array }[];
  /** Resolves once `done()` holds (checked at every event), or rejects after `timeoutMs`. */
  until(done: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

export function recordingSink(): RecordingSink {
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  const sink: RecordingSink = {
    changes: [],
    peerEvents: [],
    messages: [],
    remoteChanges(changes) {
      sink.changes.push(...changes);
      poke();
    },
    peer(event, nodeId) {
      sink.peerEvents.push(`${event} ${nodeId}`);
      poke();
    },
    message(from, topic, payload) {
      sink.messages.push({ from, topic, payload });
      poke();
    },
    until(done, what, timeoutMs = 20_000) {
      if (done()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const check = (): void => {
          if (!done()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        waiters.add(check);
      });
    },
  };
  return sink;
}

/** A node's sync in this process: LMDB store, replicated state, SyncService (TLS when `tls` is given), metrics. */
export interface ServiceNode {
  readonly nodeId: NodeId;
  readonly port: number;
  readonly replica: ReplicatedState;
  readonly service: SyncService;
  readonly sink: RecordingSink;
  readonly metrics: NodeMetrics;
  /** Stops sync and closes the replica and store (the datastore stays for a restart). */
  stop(): Promise<void>;
}

export interface ServiceNodeOptions {
  readonly datastore: string;
  readonly tls?: TlsMaterial;
  /** Fixed listen port (to restart at the same address); default 0. */
  readonly port?: number;
  readonly peers?: readonly number[];
  readonly logger?: Logger;
  /** More configuration (`limits.op_log_limit` ...). */
  readonly flags?: ConfigFlags;
}

export async function startServiceNode(options: ServiceNodeOptions): Promise<ServiceNode> {
  const { config } = resolveConfigLayers({
    flags: {
      "storage.datastore_path": options.datastore,
      "network.listen": `127.0.0.1:${options.port ?? 0}`,
      "network.peers":
        options.peers === undefined || options.peers.length === 0
          ? undefined
          : options.peers.map((port) => `127.0.0.1:${port}`),
      "tls.insecure": options.tls === undefined,
      "limits.reconnect_initial_delay": "100ms",
      "limits.reconnect_max_delay": "500ms",
      ...options.flags,
    },
  });
  const backend = await openLmdbBackend({ path: options.datastore });
  const nodeId =
    options.tls?.nodeId ?? (await loadOrCreateNodeId(backend, (n) => randomFillSync(new Uint8Array(n))));
  const replica = openReplicatedState({
    backend,
    nodeId,
    opLogLimit: config.limits.opLogLimit,
    seenOpsLimit: config.limits.seenOpsLimit,
  });
  const metrics = createNodeMetrics({ version: "test", processMetrics: false });
  const sink = recordingSink();
  const service = await SyncService.start({
    config,
    replica,
    tls: options.tls,
    nodeId,
    logger: options.logger ?? silentLogger,
    metrics,
  });
  service.setEventSink(sink);
  const port = Number(service.peers.listenAddress()!.split(":").at(-1));
  return {
    nodeId,
    port,
    replica,
    service,
    sink,
    metrics,
    async stop() {
      await service.stop();
      await replica.close();
      await backend.close();
    },
  };
}

/**
 * Starts nodes whose datastores are `name`s under one temporary directory; after the tests of the
 * calling file (or describe) every node started is stopped and the directory removed.
 */
export function serviceNodesIn(
  prefix: string,
): (name: string, options?: Omit<ServiceNodeOptions, "datastore">) => Promise<ServiceNode> {
  const dir = tempDir(prefix);
  const running: ServiceNode[] = [];
  after(async () => {
    await Promise.all(running.map((node) => node.stop()));
    dir.remove();
  });
  return async (name, options) => {
    const node = await startServiceNode({ ...options, datastore: `${dir.path}/${name}` });
    running.push(node);
    return node;
  };
}
