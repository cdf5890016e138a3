import { isIP } from "node:net";
import { backgroundClock, systemClock, type TimerHandle } from "../clock/clock.ts";
import { monotonicMs } from "../clock/monotonic-clock.ts";
import type { NodeConfig } from "../config/node-config.ts";
import { formatSocketAddress } from "../config/socket-address.ts";
import { hlcPhysicalMs } from "../crdt/hybrid-clock.ts";
import { type CrdtFamily, FAMILY_OF_OP_TYPE, type Op, opOldestStamp, opWriteCount } from "../crdt/op.ts";
import { createNodeDiscoveries } from "../discovery/create-peer-discovery.ts";
import { DiscoveryRunner } from "../discovery/discovery-runner.ts";
import { KnownPeers } from "../discovery/known-peers.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import { isValidTopic, MESSAGE_PAYLOAD_MAX_BYTES } from "../events/topic.ts";
import type { NodeId } from "../identity/node-id.ts";
import { monitorEventLoopLag } from "../membership/event-loop-lag.ts";
import type { MembershipService } from "../membership/membership-service.ts";
import { DEFAULT_SWIM_OPTIONS } from "../membership/swim-options.ts";
import { listenFailureReason } from "../net/listen-failure.ts";
import type { VersionVector } from "../net/messages.ts";
import type { MapBatchNeed } from "../net/missing-feature.ts";
import { NetError } from "../net/net-error.ts";
import { RefusalLog } from "../net/refusal-log.ts";
import type { TlsMaterial } from "../net/tls-material.ts";
import type { Transport } from "../net/transport.ts";
import type { Logger } from "../observe/logger.ts";
import type { NodeMetrics } from "../observe/metrics.ts";
import { createSyncMessageCodec, opWireBytesMax } from "./crdt-op-codec.ts";
import { knownMembers } from "./known-members.ts";
import {
  createNodeMembership,
  departedAddresses,
  liveMemberCount,
  redirectEntries,
} from "./node-membership.ts";
import { crdtOpFeature } from "./op-feature-guard.ts";
import { opBytesMaxOf } from "./op-wire-budget.ts";
import { ownOpsBehindPeers } from "./own-history.ts";
import { PeerExchange } from "./peer-exchange.ts";
import { PeerManager } from "./peer-manager.ts";
import type { ReplicatedState, ReportedVector } from "./replica/replicated-state.ts";
import { replicaForSync } from "./replica-sync-adapter.ts";
import { SyncEngine } from "./sync-engine.ts";
import { remoteChangesOf, type SyncEventSink } from "./sync-events.ts";

/** How often the engine is ticked: batches waiting for an ack window, due anti-entropy rounds. */
export const SYNC_TICK_INTERVAL_MS = 20;

/** How long a node whose datastore holds no op of its own waits for peers to return them (see `recoverOwnHistory`). */
export const OWN_HISTORY_WAIT_MS = 5_000;

/**
 * Ops left out of a peer's batches for their size (`onOpTooLarge`: every pull of that peer reads
 * them again, and a node with a larger limit may make many) are logged once per this interval per
 * peer, the first at once, each line naming the latest op and how many were left out since; so are
 * snapshot fields too large to send, over all peers. Counted in full by
 * `numax_sync_ops_too_large_total`.
 */
export const OP_TOO_LARGE_LOG_INTERVAL_MS = 10 * 60_000;

/**
 * Told of every op made here or applied from a peer, and of every sync error: the node's op ring
 * and throughput meter (src/node/sync-activity.ts) that its introspection reads.
 */
export interface SyncActivityObserver {
  localOps(ops: readonly Op[]): void;
  remoteOps(peer: NodeId, ops: readonly Op[]): void;
  /** `send`: a message could not be sent; `store`: local ops could not be made durable. */
  error(kind: "send" | "store"): void;
}

export interface SyncServiceOptions {
  config: NodeConfig;
  replica: ReplicatedState;
  /** The TLS material, when not running with `insecure`. */
  tls: TlsMaterial | undefined;
  nodeId: NodeId;
  logger: Logger;
  metrics: NodeMetrics | undefined;
  activity?: SyncActivityObserver;
}

/**
 * A node's sync: the transport chosen by the config (mutual TLS 1.3, or plain TCP with
 * `insecure`), the SyncEngine over the node's ReplicatedState, and the PeerManager that keeps
 * the configured peers connected. Local ops flow in through the replica's `onLocalOps` hook.
 */
export class SyncService {
  readonly engine: SyncEngine<Op>;
  readonly peers: PeerManager<Op>;
  /** What peers told this node about where other nodes listen (peer exchange and membership). */
  readonly knownPeers: KnownPeers;
  /** SWIM membership over the peer connections (docs/design/peer-discovery.md#membership). */
  readonly membership: MembershipService;
  readonly #exchange: PeerExchange;
  readonly #discovery: DiscoveryRunner;
  readonly #replica: ReplicatedState;
  readonly #logger: Logger;
  /** The NodeId comes from a certificate, so it outlives the datastore (see `recoverOwnHistory`). */
  readonly #identityOutlivesStore: boolean;
  readonly #metrics: NodeMetrics | undefined;
  #ownHistoryReported = false;
  #sink: SyncEventSink | undefined;
  /** Resolves once every local op made so far is queued for peers (see `stop`). */
  #localOpsQueued: () => Promise<void> = async () => {};
  /** Peers the sink was told are connected (and not told since that they disconnected). */
  readonly #peersReported = new Set<NodeId>();
  #compactionTimer: TimerHandle | undefined;

  private constructor(
    engine: SyncEngine<Op>,
    peers: PeerManager<Op>,
    discovery: { known: KnownPeers; exchange: PeerExchange; runner: DiscoveryRunner },
    membership: MembershipService,
    replica: ReplicatedState,
    logger: Logger,
    identityOutlivesStore: boolean,
    metrics: NodeMetrics | undefined,
  ) {
    this.engine = engine;
    this.peers = peers;
    this.knownPeers = discovery.known;
    this.#exchange = discovery.exchange;
    this.#discovery = discovery.runner;
    this.membership = membership;
    this.#replica = replica;
    this.#logger = logger;
    this.#identityOutlivesStore = identityOutlivesStore;
    this.#metrics = metrics;
  }

  static async start(options: SyncServiceOptions): Promise<SyncService> {
    const { config, replica, logger, metrics, activity } = options;
    const syncLogger = logger.child("sync");
    const tooLargeLog = new RefusalLog(syncLogger, () => backgroundClock.now(), OP_TOO_LARGE_LOG_INTERVAL_MS);
    const replicaPort = replicaForSync(
      replica,
      config.limits.maxMessageSizeBytes,
      (key, cellBytes, bytesMax) =>
        tooLargeLog.report(
          "snapshot",
          "cell-too-large",
          `a field of key ${JSON.stringify(key)} (up to ${cellBytes} bytes on the wire) does not fit one snapshot message (${bytesMax} bytes: the smaller max_message_size of this node and the peer, less the PushState envelope): left out of the snapshot, the rest of the state goes; the snapshot's vector covers it all the same, so the peer lacks that field until it is written again (raising max_message_size later does not bring it)`,
          { key, cellBytes, bytesMax },
        ),
    );
    const observed = {
      ...replicaPort,
      applyRemote: (ops: readonly Op[]) => {
        if (metrics === undefined) return replicaPort.applyRemote(ops);
        const startedMs = monotonicMs();
        const fresh = replicaPort.applyRemote(ops);
        metrics.opApplySeconds.observe((monotonicMs() - startedMs) / 1000);
        if (fresh.length > 0) {
          const nowMs = Date.now();
          // One increment per family and slice: a labelled increment per op cost more than the apply.
          const byFamily = new Map<CrdtFamily, number>();
          for (const op of fresh) {
            const family = FAMILY_OF_OP_TYPE[op.kind.type];
            byFamily.set(family, (byFamily.get(family) ?? 0) + 1);
            // From the op's oldest write: a batch op is stamped with its newest.
            metrics.propagationLatencySeconds.observe(
              Math.max(0, nowMs - hlcPhysicalMs(opOldestStamp(op))) / 1000,
            );
          }
          for (const [family, count] of byFamily) metrics.opsApplied.inc({ family, origin: "remote" }, count);
          metrics.lastSyncLatencySeconds.set(
            Math.max(0, nowMs - hlcPhysicalMs(fresh[fresh.length - 1].timestamp)) / 1000,
          );
        }
        return fresh;
      },
    };
    const engine = new SyncEngine<Op>(observed, {
      queuedOpsLimit: config.limits.queuedOpsLimit,
      batchBytes: { bytesMax: opBytesMaxOf(config.limits.maxMessageSizeBytes), opBytes: opWireBytesMax },
      peerBatchBytesMax: opBytesMaxOf,
      onOpTooLarge: (peer, op, opBytes, bytesMax) => {
        metrics?.syncOpsTooLarge.inc();
        tooLargeLog.report(
          peer,
          "op-too-large",
          `op ${op.id.origin}:${op.id.seq} on key ${JSON.stringify(op.key)} (up to ${opBytes} bytes on the wire) does not fit one message to peer ${peer} (${bytesMax} bytes: the smaller max_message_size of the two nodes, less the PushOps envelope): not sent to it, later ops go on; the peer lacks it until max_message_size is raised on both nodes (for good if it leaves the op-log first: a snapshot leaves it out too)`,
          { peer, op: `${op.id.origin}:${op.id.seq}`, key: op.key, opBytes, bytesMax },
        );
      },
      antiEntropyIntervalMs: config.limits.antiEntropyIntervalMs,
      fanoutExtra: config.network.fanoutExtra,
      // N of the fanout: the live members (connected peers of builds without membership count through the engine).
      clusterSize: () => liveMemberCount(membership),
      clock: () => backgroundClock.now(),
      random: Math.random,
    });
    const transport = await createTransport(options, syncLogger);
    const peers = new PeerManager<Op>({
      transport,
      engine,
      listen: config.network.listen === undefined ? undefined : formatSocketAddress(config.network.listen),
      maxPeers: config.limits.maxPeers,
      maxConnections: config.network.maxConnections,
      departedAddresses: () => departedAddresses(membership),
      redirectEntries: () => redirectEntries(exchange.entries(), membership),
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
      clock: backgroundClock,
      onPeerEvent: (event, nodeId) => {
        if (event === "connected") {
          service.#checkOwnHistory(nodeId);
          exchange.connected(nodeId);
          membership.connected(nodeId);
        }
        service.#reportPeer(event, nodeId);
        if (metrics === undefined) return;
        if (event === "connected") metrics.peerConnects.inc();
        else metrics.peerDisconnects.inc();
        metrics.peersConnected.set(peers.connectedPeers().length);
      },
      onRemoteOps: (peer, fresh) => {
        activity?.remoteOps(peer, fresh);
        service.#sink?.remoteChanges(remoteChangesOf(fresh));
      },
      onSnapshotApplied: (peer, changed) =>
        service.#sink?.remoteChanges(changed.map((object) => ({ ...object, origin: peer }))),
      onPublish: (peer, topic, payload) => {
        metrics?.messagesReceived.inc();
        service.#sink?.message(peer, topic, payload);
      },
      onSendError: () => {
        metrics?.syncErrors.inc({ kind: "send" });
        activity?.error("send");
      },
      onPeerAddresses: (peer, entries) => exchange.received(peer, entries),
      onMembership: (peer, message) => membership.received(peer, message),
      onDialFailed: (address, error, failures) => {
        runner.dialFailed(address, error);
        // A learned address that stopped answering is forgotten until a peer announces it again.
        if (failures >= config.limits.peerDeadAfterFailures) known.forgetAddress(address);
      },
      // flushed() rejects only once the store is closed, at shutdown, when the connections close too.
      storeRoom: () => replica.whenStoreHasRoom()?.catch(() => {}),
      opFeature: crdtOpFeature,
      opId: (op) => op.id,
      opWrites: opWriteCount,
    });
    const known = new KnownPeers();
    const exchange = new PeerExchange(options.nodeId, peers, known, backgroundClock);
    const membership = createNodeMembership(
      {
        self: options.nodeId,
        swim: DEFAULT_SWIM_OPTIONS,
        peers,
        clock: backgroundClock,
        random: Math.random,
        logger: syncLogger.child("membership"),
        loopLag: monitorEventLoopLag(),
        onCounts: (counts) => {
          for (const [state, count] of Object.entries(counts)) metrics?.members.set({ state }, count);
        },
      },
      known,
    );
    const allowedPeers = config.tls.allowedPeers.length > 0 ? config.tls.allowedPeers : undefined;
    const runner = new DiscoveryRunner(
      createNodeDiscoveries(config, known, syncLogger),
      peers,
      options.nodeId,
      allowedPeers,
      syncLogger.child("discovery"),
    );
    const service = new SyncService(
      engine,
      peers,
      { known, exchange, runner },
      membership,
      replica,
      syncLogger,
      options.tls !== undefined,
      metrics,
    );
    service.#localOpsQueued = async () => {
      // The ops still staged (a module's last writes, its shutdown callback's) are handed over
      // now, and pushed once durable, before the connections close.
      replica.flush();
      while (flushing) await pushing;
    };
    // A local op reaches peers only once it is durable here: were it sent first and lost in a
    // crash, this node would reuse its sequence number and peers would drop the new op as a duplicate.
    let undurable: Op[] = [];
    let flushing = false;
    let pushing: Promise<void> = Promise.resolve();
    const pushWhenDurable = async (): Promise<void> => {
      flushing = true;
      while (undurable.length > 0) {
        const ops = undurable;
        undurable = [];
        try {
          // The ops are in the store already (onLocalOps runs after their batch); the ones staged
          // since wait for their own batch.
          await replica.written();
        } catch (error) {
          syncLogger.error("local ops not pushed: the store could not make them durable", { error });
          metrics?.syncErrors.inc({ kind: "store" });
          activity?.error("store");
          break;
        }
        engine.localOps(ops);
        // At once, not on a later turn: the batch is whole (every op of the commit that just
        // completed), and a turn behind the guests' wakes and the peers' messages cost 0.05-4.5 ms
        // at the median and up to 85 ms at p99 on a loaded machine (bench/reports/README.md).
        peers.sendQueued();
      }
      flushing = false;
    };
    replica.setSyncHooks({
      onLocalOps: (ops) => {
        activity?.localOps(ops);
        for (const op of ops) {
          metrics?.opsApplied.inc({ family: FAMILY_OF_OP_TYPE[op.kind.type], origin: "local" });
          undurable.push(op);
        }
        if (!flushing) pushing = pushWhenDurable();
      },
      peers: () => peers.connectedPeers().map((p) => ({ address: p.address, nodeId: p.nodeId })),
      opBytesMax: opBytesMaxOf(config.limits.maxMessageSizeBytes),
    });
    try {
      await runner.start();
    } catch (error) {
      throw new NumaxError(
        "SYNC_DISCOVERY_FAILED",
        `cannot start ${config.discovery.mode} discovery: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    try {
      await peers.start();
    } catch (error) {
      await runner.stop();
      const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
      const reason =
        error instanceof NetError && error.code === "NET_LISTEN_FAILED" && cause !== undefined
          ? listenFailureReason(cause)
          : error instanceof Error
            ? error.message
            : String(error);
      throw new NumaxError(
        "SYNC_LISTEN_FAILED",
        `cannot listen for peers on ${formatSocketAddress(config.network.listen!)}: ${reason}`,
        { cause: error },
      );
    }
    const own = peers.listenAddress();
    membership.start(own);
    if (own !== undefined) await runner.announce({ address: own, nodeId: options.nodeId });
    service.#compactionTimer = backgroundClock.setInterval(
      () => service.compact(),
      config.limits.compactionIntervalMs,
    );
    syncLogger.info("sync started", {
      nodeId: options.nodeId,
      listen: peers.listenAddress(),
      peers: config.network.peers.length,
      discovery: config.discovery.mode,
      tls: options.tls !== undefined,
    });
    return service;
  }

  /**
   * The other members of the cluster as this node knows them: the seam through which tombstone
   * collection learns who must have seen a remove (SWIM membership among its sources).
   */
  knownMembers(): readonly NodeId[] {
    return knownMembers(
      {
        configured: this.peers.configuredPeers(),
        connected: this.peers.connectedPeers(),
        discovered: this.knownPeers.candidates(),
        members: this.membership.members(),
      },
      this.#replica.nodeId(),
    );
  }

  /**
   * One compaction pass (every `limits.compaction_interval`): collects the tombstones that every
   * known member's latest reported version vector shows as causally stable. Returns the cells changed.
   */
  compact(): number {
    try {
      // Reports are stamped with the peer manager's wall clock (Date.now, below): their ages are
      // measured on it; the replica measures the rest on its own Clock.
      const wallMs = Date.now();
      const reports = new Map<NodeId, ReportedVector>();
      for (const [member, report] of this.engine.reportedVectors())
        reports.set(member, { vector: report.vector, ageMs: Math.max(0, wallMs - report.atMs) });
      const cells = this.#replica.compact({ members: this.knownMembers(), reports });
      if (cells > 0) this.#logger.debug("tombstones collected", { cells });
      return cells;
    } catch (error) {
      // The replica has stopped (its store failed or it closed): it reports that on its own.
      this.#logger.debug("compaction pass skipped", { error: describeError(error) });
      return 0;
    }
  }

  /**
   * Where the node's reactive modules learn what sync does: keys peers changed, peers connecting
   * and disconnecting, module messages from peers (see SyncEventSink). One sink; a later call
   * replaces it.
   */
  setEventSink(sink: SyncEventSink): void {
    this.#sink = sink;
  }

  /**
   * Tells the sink when a peer becomes connected or stops being connected. A connection that
   * replaces another to the same peer (both dialed each other; one is kept) is reported
   * `connected` again by the PeerManager with no `disconnected` in between: for the modules the
   * peer stayed connected, so that is not passed on.
   */
  #reportPeer(event: "connected" | "disconnected", nodeId: NodeId): void {
    if (event === "connected") {
      if (this.#peersReported.has(nodeId)) return;
      this.#peersReported.add(nodeId);
    } else if (!this.#peersReported.delete(nodeId)) {
      return;
    }
    this.#sink?.peer(event, nodeId);
  }

  /**
   * Sends one `Publish` to every connected peer that announced the `pubsub` feature and returns
   * how many. At-most-once: a peer that is not connected, or whose connection is backed up past
   * PUBLISH_BACKLOG_BYTES_MAX, does not get it (dropped and counted). The caller has validated
   * `topic` and `payload` (src/events/topic.ts); the node's own modules are the caller's to deliver to.
   *
   * @example
   * sync.publish("chat/general", new TextEncoder().encode("hi")); // 2 with two pub/sub peers
   */
  publish(topic: string, payload: Uint8Array): number {
    // The callers' check (the ABI's -3): a message peers would refuse is a bug here, not input.
    if (!isValidTopic(topic) || payload.byteLength > MESSAGE_PAYLOAD_MAX_BYTES) {
      throw new RangeError(
        `publish needs a valid topic and a payload of at most ${MESSAGE_PAYLOAD_MAX_BYTES} bytes, got topic ${JSON.stringify(topic.slice(0, 64))} and ${payload.byteLength} bytes`,
      );
    }
    const { sent, dropped } = this.peers.publish(topic, payload);
    if (sent > 0) this.#metrics?.messagesPublished.inc(sent);
    if (dropped > 0) this.#metrics?.messagesDropped.inc({ reason: "backlog" }, dropped);
    return sent;
  }

  /**
   * Called before guests run. A node whose datastore holds no op of its own, whose NodeId comes
   * from its certificate and which has peers, may be one whose datastore was wiped while its
   * certificate stayed (a container without its volume, a restore from an empty backup). Its
   * peers still hold the ops it made before, under sequence numbers it would issue again, and
   * they would drop its new ops as duplicates. So it waits, at most `timeoutMs`, until a peer is
   * connected and every op of its own that the connected peers announced is back (the pull every
   * connection starts with brings them). A new cluster's peers announce nothing from it, so the
   * wait ends at the first connection. Resolves to what happened.
   */
  async recoverOwnHistory(
    timeoutMs = OWN_HISTORY_WAIT_MS,
  ): Promise<"not needed" | "recovered" | "refused" | "timed out"> {
    if (
      !this.#identityOutlivesStore ||
      this.#ownSequence() > 0 ||
      this.peers.configuredPeers().length === 0
    ) {
      return "not needed";
    }
    const self = this.#replica.nodeId();
    const recovered = await pollFor(timeoutMs, () => {
      if (this.refusedByEveryPeer() !== undefined) return true;
      const connected = this.peers.connectedPeers();
      return connected.length > 0 && ownOpsBehindPeers(self, this.#ownSequence(), connected) === 0;
    });
    // Peers that refuse this node hold none of its ops: there is nothing to wait for, and the
    // refusals were logged with their reasons.
    if (this.refusedByEveryPeer() !== undefined) return "refused";
    if (recovered) return "recovered";
    this.#logger.warn(
      "no peer returned this node's own ops in time: guests run now; if this node's datastore was wiped while its certificate stayed, its new ops may reuse sequence numbers peers already hold",
      { waitedMs: timeoutMs, connectedPeers: this.peers.connectedPeers().length },
    );
    return "timed out";
  }

  /** A peer announced more of this node's own ops than its datastore holds: say so, once. */
  #checkOwnHistory(peer: NodeId): void {
    if (this.#ownHistoryReported) return;
    const info = this.peers.connectedPeers().find((p) => p.nodeId === peer);
    const own = this.#ownSequence();
    const behind = info === undefined ? 0 : ownOpsBehindPeers(this.#replica.nodeId(), own, [info]);
    if (behind === 0) return;
    this.#ownHistoryReported = true;
    const fields = { peer, peerHolds: own + behind, thisNodeHolds: own };
    if (this.#replica.stats().localOps > 0) {
      this.#logger.error(
        "this node's datastore is missing ops it made before (wiped or restored from an old copy while its certificate stayed): ops it made since it started may reuse sequence numbers that peers already hold, and those will not reach them. Restore the datastore, or give the node a new certificate (a new NodeId)",
        fields,
      );
    } else {
      this.#logger.warn(
        "this node's datastore is missing ops it made before; taking them back from peers",
        fields,
      );
    }
  }

  /**
   * When every configured peer refused this node for a reason a retry does not fix (and none is
   * connected): one line naming each peer and why; undefined otherwise.
   */
  refusedByEveryPeer(): string | undefined {
    const peers = this.peers.configuredPeers().filter((peer) => !peer.self);
    if (peers.length === 0 || peers.some((peer) => peer.refusal === undefined)) return undefined;
    return `every configured peer refused this node: ${peers.map((peer) => peer.refusal).join("; ")}`;
  }

  /**
   * Resolves once every configured peer dialed whatever the bound (but this node's own address)
   * is connected, or after `timeoutMs`: with a bound, discovered candidates are not all dialed.
   */
  async waitForPeers(timeoutMs: number): Promise<void> {
    await pollFor(timeoutMs, () => this.peers.alwaysDialed().every((p) => p.connected || p.self));
  }

  /** How many of its own ops this node holds without a gap. */
  #ownSequence(): number {
    return this.#replica.versionVector().get(this.#replica.nodeId()) ?? 0;
  }

  /**
   * Pushes the local ops made so far once they are durable (a module's `shutdown` writes reach
   * the connected peers before the node leaves), sends what is queued, closes every peer
   * connection and stops listening; the replica stays open.
   */
  async stop(): Promise<void> {
    try {
      await this.#localOpsQueued();
    } catch (error) {
      // The store could not take them (closed, full): they stay in the op-log for a later sync.
      this.#logger.warn("local ops made just before shutdown were not pushed", {
        error: describeError(error),
      });
    }
    this.#replica.setSyncHooks({ onLocalOps: () => {}, peers: () => [] });
    this.membership.leave();
    backgroundClock.clearTimeout(this.#compactionTimer);
    this.#exchange.stop();
    await this.#discovery.stop();
    await this.peers.stop();
  }
}

/** Checks `done` every 25 ms until it holds (true) or `timeoutMs` has passed (false); the wait keeps Node running. */
async function pollFor(timeoutMs: number, done: () => boolean): Promise<boolean> {
  const deadline = systemClock.now() + timeoutMs;
  while (!done()) {
    if (systemClock.now() >= deadline) return false;
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 25));
  }
  return true;
}

async function createTransport(options: SyncServiceOptions, logger: Logger): Promise<Transport<Op>> {
  const { config, replica, tls, nodeId, metrics } = options;
  const common = {
    codec: createSyncMessageCodec(),
    versionVector: () => replica.versionVector(),
    preferredFormat: config.network.serializationFormat,
    allowedPeers: config.tls.allowedPeers.length > 0 ? config.tls.allowedPeers : undefined,
    // Host names are learned once dialed (the transport remembers the address it reached).
    knownPeerAddresses: config.network.peers.map((peer) => peer.host).filter((host) => isIP(host) !== 0),
    traffic:
      metrics === undefined
        ? undefined
        : {
            frame: (direction: "sent" | "received", message: string, bytes: number) =>
              metrics.wireBytes.inc({ direction, message }, bytes),
            refused: () => metrics.messagesDropped.inc({ reason: "invalid" }),
          },
    limits: {
      maxMessageSizeBytes: config.limits.maxMessageSizeBytes,
      socketTimeoutMs: config.limits.socketTimeoutMs,
    },
    // A node that makes multi-field map ops refuses a peer that cannot read them at once, not at
    // the first map write; one that holds such ops, a peer whose vector lacks one of them (it
    // would be sent it): no memory of peers, so an older peer is accepted again once those ops
    // left the op-log (it gets a snapshot instead), and a flood of claimed NodeIds costs nothing.
    mapBatchNeed: (peerVector: VersionVector): MapBatchNeed | undefined =>
      config.sync.coalesceMapWrites
        ? "switch"
        : replica.holdsUnreadableOpsBeyond(peerVector)
          ? "held-op"
          : undefined,
    logger,
  };
  if (tls !== undefined) {
    const { createTlsTransport } = await import("../net/tls-transport.ts");
    return createTlsTransport({ ...common, tls });
  }
  const { createTcpTransport } = await import("../net/tcp-transport.ts");
  return createTcpTransport({ ...common, nodeId });
}
