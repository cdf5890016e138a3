import type { NodeConfig } from "../config/node-config.ts";
import { formatSocketAddress } from "../config/socket-address.ts";
import { hlcPhysicalMs } from "../crdt/hybrid-clock.ts";
import { FAMILY_OF_OP_TYPE, type Op } from "../crdt/op.ts";
import { NumaxError } from "../errors/numax-error.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { TlsMaterial } from "../net/tls-material.ts";
import type { Transport } from "../net/transport.ts";
import type { Logger } from "../observe/logger.ts";
import type { NodeMetrics } from "../observe/metrics.ts";
import { createSyncMessageCodec } from "./crdt-op-codec.ts";
import { PeerManager } from "./peer-manager.ts";
import type { ReplicatedState } from "./replica/replicated-state.ts";
import { replicaForSync } from "./replica-sync-adapter.ts";
import { SyncEngine } from "./sync-engine.ts";

/** How often the engine is ticked: batches waiting for an ack window, due anti-entropy rounds. */
export const SYNC_TICK_INTERVAL_MS = 20;

export interface SyncServiceOptions {
  config: NodeConfig;
  replica: ReplicatedState;
  /** The TLS material, when not running with `insecure`. */
  tls: TlsMaterial | undefined;
  nodeId: NodeId;
  logger: Logger;
  metrics: NodeMetrics | undefined;
}

/**
 * A node's sync: the transport chosen by the config (mutual TLS 1.3, or plain TCP with
 * `insecure`), the SyncEngine over the node's ReplicatedState, and the PeerManager that keeps
 * the configured peers connected. Local ops flow in through the replica's `onLocalOps` hook.
 */
export class SyncService {
  readonly engine: SyncEngine<Op>;
  readonly peers: PeerManager<Op>;
  readonly #replica: ReplicatedState;

  private constructor(engine: SyncEngine<Op>, peers: PeerManager<Op>, replica: ReplicatedState) {
    this.engine = engine;
    this.peers = peers;
    this.#replica = replica;
  }

  static async start(options: SyncServiceOptions): Promise<SyncService> {
    const { config, replica, logger, metrics } = options;
    const syncLogger = logger.child("sync");
    const replicaPort = replicaForSync(replica);
    const observed = {
      ...replicaPort,
      applyRemote: (ops: readonly Op[]) => {
        const fresh = replicaPort.applyRemote(ops);
        if (metrics !== undefined && fresh.length > 0) {
          const nowMs = Date.now();
          for (const op of fresh) {
            metrics.opsApplied.inc({ family: FAMILY_OF_OP_TYPE[op.kind.type], origin: "remote" });
            metrics.propagationLatencySeconds.observe(
              Math.max(0, nowMs - hlcPhysicalMs(op.timestamp)) / 1000,
            );
          }
          metrics.lastSyncLatencySeconds.set(
            Math.max(0, nowMs - hlcPhysicalMs(fresh[fresh.length - 1].timestamp)) / 1000,
          );
        }
        return fresh;
      },
    };
    const engine = new SyncEngine<Op>(observed, {
      queuedOpsLimit: config.limits.queuedOpsLimit,
      antiEntropyIntervalMs: config.limits.antiEntropyIntervalMs,
    });
    const transport = await createTransport(options, syncLogger);
    const peers = new PeerManager<Op>({
      transport,
      engine,
      listen: config.network.listen === undefined ? undefined : formatSocketAddress(config.network.listen),
      peers: config.network.peers.map(formatSocketAddress),
      maxPeers: config.limits.maxPeers,
      backoff: {
        initialDelayMs: config.limits.reconnectInitialDelayMs,
        maxDelayMs: config.limits.reconnectMaxDelayMs,
        deadAfterFailures: config.limits.peerDeadAfterFailures,
      },
      tickIntervalMs: SYNC_TICK_INTERVAL_MS,
      dialTimeoutMs: config.limits.socketTimeoutMs,
      logger: syncLogger,
      random01: Math.random,
      nowMs: Date.now,
      onPeerEvent: (event, _nodeId) => {
        if (metrics === undefined) return;
        if (event === "connected") metrics.peerConnects.inc();
        else metrics.peerDisconnects.inc();
        metrics.peersConnected.set(peers.connectedPeers().length);
      },
      onSendError: () => metrics?.syncErrors.inc({ kind: "send" }),
    });
    const service = new SyncService(engine, peers, replica);
    // A local op reaches peers only once it is durable here: were it sent first and lost in a
    // crash, this node would reuse its sequence number and peers would drop the new op as a duplicate.
    let undurable: Op[] = [];
    let flushing = false;
    const pushWhenDurable = async (): Promise<void> => {
      flushing = true;
      while (undurable.length > 0) {
        const ops = undurable;
        undurable = [];
        try {
          await replica.flushed();
        } catch (error) {
          syncLogger.error("local ops not pushed: the store could not make them durable", { error });
          metrics?.syncErrors.inc({ kind: "store" });
          break;
        }
        engine.localOps(ops);
        peers.scheduleFlush();
      }
      flushing = false;
    };
    replica.setSyncHooks({
      onLocalOps: (ops) => {
        if (metrics !== undefined)
          for (const op of ops)
            metrics.opsApplied.inc({ family: FAMILY_OF_OP_TYPE[op.kind.type], origin: "local" });
        for (const op of ops) undurable.push(op);
        if (!flushing) void pushWhenDurable();
      },
      peers: () => peers.connectedPeers().map((p) => ({ address: p.address, nodeId: p.nodeId })),
    });
    try {
      await peers.start();
    } catch (error) {
      throw new NumaxError(
        "SYNC_LISTEN_FAILED",
        `cannot listen for peers on ${formatSocketAddress(config.network.listen!)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    syncLogger.info("sync started", {
      nodeId: options.nodeId,
      listen: peers.listenAddress(),
      peers: config.network.peers.length,
      tls: options.tls !== undefined,
    });
    return service;
  }

  /** Resolves once every configured peer is connected, or after `timeoutMs`. */
  async waitForPeers(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.peers.configuredPeers().some((p) => !p.connected)) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Sends what is queued, closes every peer connection and stops listening; the replica stays open. */
  async stop(): Promise<void> {
    this.#replica.setSyncHooks({ onLocalOps: () => {}, peers: () => [] });
    await this.peers.stop();
  }
}

async function createTransport(options: SyncServiceOptions, logger: Logger): Promise<Transport<Op>> {
  const { config, replica, tls, nodeId, metrics } = options;
  const common = {
    codec: createSyncMessageCodec(),
    versionVector: () => replica.versionVector(),
    preferredFormat: config.network.serializationFormat,
    allowedPeers: config.tls.allowedPeers.length > 0 ? config.tls.allowedPeers : undefined,
    traffic:
      metrics === undefined
        ? undefined
        : {
            frame: (direction: "sent" | "received", message: string, bytes: number) =>
              metrics.wireBytes.inc({ direction, message }, bytes),
          },
    limits: {
      maxMessageSizeBytes: config.limits.maxMessageSizeBytes,
      socketTimeoutMs: config.limits.socketTimeoutMs,
    },
    logger,
  };
  if (tls !== undefined) {
    const { createTlsTransport } = await import("../net/tls-transport.ts");
    return createTlsTransport({ ...common, tls });
  }
  const { createTcpTransport } = await import("../net/tcp-transport.ts");
  return createTcpTransport({ ...common, nodeId });
}
