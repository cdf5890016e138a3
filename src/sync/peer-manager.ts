import type { Clock, TimerHandle } from "../clock/clock.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { MembershipMessage } from "../membership/swim-membership.ts";
import type { Connection } from "../net/connection.ts";
import { replyFor } from "../net/handshake.ts";
import type {
  PeerAddressesMessage,
  PublishMessage,
  PushOpsMessage,
  PushStateMessage,
  SessionMessage,
  VersionVector,
} from "../net/messages.ts";
import { FEATURE_REFUSAL_LOG_INTERVAL_MS, missingMapBatchError } from "../net/missing-feature.ts";
import { NetError, type NetErrorCode } from "../net/net-error.ts";
import { RefusalLog } from "../net/refusal-log.ts";
import type { Listener, Transport } from "../net/transport.ts";
import type { WireFeature } from "../net/wire-features.ts";
import type { Logger } from "../observe/logger.ts";
import { applySliceEnd } from "./apply-slice.ts";
import {
  DEPARTED_REDIAL_INTERVAL_MS,
  OVERLAY_ROTATION_INTERVAL_MS,
  OVERLAY_SHORT_CONNECTION_MS,
  OVERLAY_TICK_MS,
  outboundTarget,
  pickRandom,
  REFUSED_PEER_COUNTED_MS,
  type RotationCandidate,
  rotationVictim,
} from "./connection-bound.ts";
import { withoutRgaGhosts } from "./legacy-rga-state.ts";
import { type OpFeature, opsForPeer } from "./op-feature-guard.ts";
import { isOwnAddress } from "./own-address.ts";
import { type BackoffPolicy, type PeerHealth, peerHealth, reconnectDelayMs } from "./reconnect-backoff.ts";
import type { Outgoing, SyncEngine } from "./sync-engine.ts";
import type { ChangedObject } from "./sync-events.ts";

/**
 * Publish bytes (topic and payload) handed to one peer's connection and not yet taken by its
 * socket, past which more Publish messages for that peer are dropped (and counted) instead of
 * queued: messages are at-most-once, and a peer that reads slowly must not grow this node's
 * memory. 1 MiB is 16 messages of the largest payload, or thousands of small ones.
 */
export const PUBLISH_BACKLOG_BYTES_MAX = 1024 * 1024;

const oneWrite = (): number => 1;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface PeerManagerOptions<Op> {
  transport: Transport<Op>;
  engine: SyncEngine<Op>;
  /** Where to accept peers (`host:port`); undefined: outbound only. */
  listen: string | undefined;
  maxPeers: number;
  /**
   * `network.max_connections`. Below `maxPeers`, the node keeps a bounded random set of
   * connections among the discovered candidates (docs/design/peer-discovery.md#a-bounded-set-of-connections);
   * undefined, or at least `maxPeers`: every candidate is dialed, up to `maxPeers`.
   */
  maxConnections?: number;
  /** With a bound: addresses of departed (dead) members, one of which is dialed once every DEPARTED_REDIAL_INTERVAL_MS. */
  departedAddresses?: () => readonly string[];
  /** With a bound: where a peer refused for lack of room is told to go instead (a PeerAddresses sent before the close). */
  redirectEntries?: () => PeerAddressesMessage["peers"];
  backoff: BackoffPolicy;
  /** How often the engine gets a tick (batches, anti-entropy). */
  tickIntervalMs: number;
  dialTimeoutMs: number;
  logger: Logger;
  random01: () => number;
  /** Wall-clock Unix ms: what the engine is ticked with and `sinceMs` is measured in. */
  nowMs: () => number;
  /** Ticks, redial delays and dial timeouts wait on it (`backgroundClock`; the simulator's VirtualClock). */
  clock: Clock;
  /** Connection events, for metrics and the node's modules. */
  onPeerEvent?: (event: "connected" | "disconnected", nodeId: NodeId) => void;
  /** Once per PushOps from `peer`, after all its ops were applied: those that were new here (never empty). */
  onRemoteOps?: (peer: NodeId, fresh: readonly Op[]) => void;
  /** After a PushState part from `peer` was merged: the objects it changed here (never empty). */
  onSnapshotApplied?: (peer: NodeId, changed: readonly ChangedObject[]) => void;
  /** A Publish from `peer`, in the order the peer sent them. */
  onPublish?: (peer: NodeId, topic: string, payload: Uint8Array) => void;
  onSendError?: (error: unknown) => void;
  /** A PeerAddresses from `peer` (peer exchange): where it says it and its peers can be dialled. */
  onPeerAddresses?: (peer: NodeId, peers: PeerAddressesMessage["peers"]) => void;
  /** A membership message from `peer` (feature `membership`). */
  onMembership?: (peer: NodeId, message: MembershipMessage) => void;
  /** A dial of a candidate failed: `failures` in a row so far (discovery drops refused or dead candidates). */
  onDialFailed?: (address: string, error: unknown, failures: number) => void;
  /** Before a peer's PushOps is applied: undefined, or a promise to wait on until the store can take it. */
  storeRoom?: () => Promise<void> | undefined;
  /**
   * The wire feature a peer must announce to be sent an op (`lww_map_batch`: `map-batch`). A
   * PushOps holding an op its peer cannot decode and lacks is not sent: that session ends with a
   * refusal instead (see `opsForPeer`). Undefined: every op goes to every peer.
   */
  opFeature?: OpFeature<Op>;
  /**
   * With `opFeature`: an op's origin and sequence. An op the peer cannot decode but holds (the
   * latest version vector it announced, its Hello's then its pulls', covers it: it had it through
   * a snapshot) is left out of its PushOps rather than ending the session; a repair after a
   * reconnect reads from where the last session stopped, below that vector. Undefined: every such
   * op ends the session.
   */
  opId?: (op: Op) => { readonly origin: NodeId; readonly seq: number };
  /** The writes an op makes, which bound what one turn applies (`applySliceEnd`); default 1 each. */
  opWrites?: (op: Op) => number;
}

/** What `publish` did: how many peers the message went to, and how many it was dropped for. */
export interface PublishOutcome {
  readonly sent: number;
  /** Peers that announced `pubsub` but whose connection holds PUBLISH_BACKLOG_BYTES_MAX already. */
  readonly dropped: number;
}

export interface PeerInfo {
  readonly address: string;
  readonly nodeId: NodeId;
  readonly outbound: boolean;
  /** The version vector the peer announced in its handshake. */
  readonly announcedVector: VersionVector;
  /** The optional wire messages the peer reads. */
  readonly features: readonly WireFeature[];
}

export interface ConfiguredPeerStatus {
  readonly address: string;
  readonly nodeId: NodeId | undefined;
  readonly health: PeerHealth;
  readonly connected: boolean;
  readonly consecutiveFailures: number;
  /**
   * Why the last dial was refused, when it was refused for a reason a retry does not fix (a
   * certificate from another CA, a NodeId outside the peer's allowlist); undefined otherwise.
   */
  readonly refusal: string | undefined;
  /** The address is this node's own (a shared peer list that names every node): never dialed again. */
  readonly self: boolean;
  /** Who named this candidate (`static`, a discovery mode's name, ...); see `addCandidate`. */
  readonly sources: readonly string[];
}

/**
 * Where a peer stands, for the node's introspection: `connected`, `connecting` (a dial is under
 * way), `backoff` (the last dial failed; the next waits), `configured` (to be dialed: no slot
 * free yet, or the address is this node's own).
 */
export type PeerState = "connected" | "connecting" | "backoff" | "configured";

/** One peer as the management API shows it: every configured peer, and every connected one. */
export interface PeerStatus {
  readonly address: string;
  readonly nodeId: NodeId | undefined;
  readonly state: PeerState;
  /** Who dialed: `outbound` for a configured peer not connected yet (this node dials it). */
  readonly direction: "outbound" | "inbound";
  /** Keepalive round trip of the connection (see Connection.rttMs). */
  readonly rttMs: number | undefined;
  /** `healthy` while connected or not failing; `suspect`, then `dead`, as dials to it fail in a row. */
  readonly health: PeerHealth;
  /** When the peer entered `state` (`nowMs` time). */
  readonly sinceMs: number;
  /** Configured at start (`network.peers`) or added at run time (`addPeer`); false for an inbound stranger. */
  readonly configured: boolean;
}

interface DialTarget {
  readonly address: string;
  nodeId: NodeId | undefined;
  failures: number;
  dialing: boolean;
  timer: TimerHandle | undefined;
  /** The address turned out to be this node itself: never dialed again. */
  isSelf: boolean;
  /** See `ConfiguredPeerStatus.refusal`. */
  refusal: string | undefined;
  /** The code of that refusal: it is logged again only when the code changes. */
  refusalCode: NetErrorCode | undefined;
  /** When the last dial began or ended (`nowMs` time): the start of its `PeerState`. */
  sinceMs: number;
  /** Removed by `removePeer`: a dial under way is closed when it completes. */
  removed: boolean;
  /** See `addCandidate`; the target is dropped once none is left. */
  readonly sources: Set<string>;
  /** With a bound, a discovered target is not picked before then (`nowMs` time): backoff after a failure or a close. */
  notBeforeMs: number;
  /** With a bound: its connections that ended within OVERLAY_SHORT_CONNECTION_MS, in a row (refusals, mostly). */
  shortConnections: number;
}

/**
 * Keeps a node connected to its peers and moves messages between the connections and the
 * SyncEngine. Dials candidates (`addCandidate`: configured peers, discovered ones; "configured"
 * below) with exponential backoff and health tracking, accepts inbound peers up to `maxPeers`
 * (less one slot kept per configured peer), keeps one connection per peer NodeId (the one dialed
 * by the smaller NodeId, so both ends pick the same), and ticks the engine.
 */
/** The source of a peer added at run time (`addPeer`, the management API), beside `static` and the discovery modes. */
export const RUNTIME_PEER_SOURCE = "runtime";

/** The source of a departed member's address dialed once to rejoin after a partition (see DEPARTED_REDIAL_INTERVAL_MS). */
export const DEPARTED_PEER_SOURCE = "departed";

/** Sources whose addresses the operator wrote: always dialed and redialed, whatever the bound (they count toward it). */
const PINNED_SOURCES: ReadonlySet<string> = new Set(["static", RUNTIME_PEER_SOURCE]);

export class PeerManager<Op> {
  readonly #options: PeerManagerOptions<Op>;
  readonly #connections = new Map<NodeId, Connection<Op>>();
  /** Per connection, Publish bytes handed to it that its socket has not taken yet. */
  readonly #publishBacklog = new WeakMap<Connection<Op>, number>();
  readonly #targets: DialTarget[] = [];
  /** When each connection was adopted (`nowMs` time). */
  readonly #adoptedAt = new WeakMap<Connection<Op>, number>();
  #listener: Listener | undefined;
  #ticker: TimerHandle | undefined;
  #overlayTicker: TimerHandle | undefined;
  /** Per connected peer, the NodeIds it says it is connected to (its last PeerAddresses). */
  readonly #links = new Map<NodeId, ReadonlySet<NodeId>>();
  #nextRotationAtMs = 0;
  #nextDepartedDialAtMs = 0;
  /**
   * With a bound: peers refused for lack of room in the last REFUSED_PEER_COUNTED_MS (NodeId →
   * `nowMs` of the latest refusal, oldest first, at most `maxPeers`), counted among the candidates.
   */
  readonly #refusedForRoom = new Map<NodeId, number>();
  /** A rotation's new connection is being dialed: once adopted, an old one is closed. */
  #rotating: DialTarget | undefined;
  #stopped = false;
  readonly #abort = new AbortController();
  /** Sessions this node is ending with a refusal (an op the peer cannot decode): nothing more is sent on them. */
  readonly #ending = new WeakMap<Connection<Op>, NetError>();
  /** The version vector of each session's latest PullSince from its peer (before the first: its Hello's). */
  readonly #pulledVector = new WeakMap<Connection<Op>, VersionVector>();
  /** One line per peer and refusal per FEATURE_REFUSAL_LOG_INTERVAL_MS, however often an older peer dials back in. */
  readonly #endedLog: RefusalLog;

  constructor(options: PeerManagerOptions<Op>) {
    this.#options = options;
    this.#endedLog = new RefusalLog(options.logger, options.nowMs, FEATURE_REFUSAL_LOG_INTERVAL_MS);
  }

  /** A dial target for `address`, named by `source`. */
  #target(address: string, source: string): DialTarget {
    return {
      address,
      nodeId: undefined,
      failures: 0,
      dialing: false,
      timer: undefined,
      isSelf: false,
      refusal: undefined,
      refusalCode: undefined,
      sinceMs: this.#options.nowMs(),
      removed: false,
      sources: new Set([source]),
      notBeforeMs: 0,
      shortConnections: 0,
    };
  }

  /** Whether connections are bounded (`maxConnections` below `maxPeers`). */
  get #bound(): number | undefined {
    const { maxConnections, maxPeers } = this.#options;
    return maxConnections !== undefined && maxConnections < maxPeers ? maxConnections : undefined;
  }

  /** Dialed whatever the bound: no bound, or the operator named it. */
  #pinned(target: DialTarget): boolean {
    if (this.#bound === undefined) return true;
    for (const source of target.sources) if (PINNED_SOURCES.has(source)) return true;
    return false;
  }

  /**
   * Dials `address` and keeps it connected (with backoff) until every source that added it
   * removed it. `source` says who named it: `static` for `[network] peers`, a discovery mode's
   * name, or the caller's own. Adding an address again under another source only records that
   * source. Before `start`, the address is dialed when the manager starts.
   */
  addCandidate(address: string, source: string): void {
    const known = this.#targets.find((t) => t.address === address);
    if (known !== undefined) {
      const wasPinned = this.#pinned(known);
      known.sources.add(source);
      if (!wasPinned && this.#pinned(known)) this.#dial(known);
      return;
    }
    const target = this.#target(address, source);
    this.#targets.push(target);
    if (this.#ticker === undefined) return; // not started: start() dials it
    const own = this.#listener?.address;
    if (own !== undefined && isOwnAddress(address, own)) this.#isSelf(target);
    this.#options.logger.info("peer candidate added", { address, source });
    if (this.#pinned(target)) this.#dial(target);
    else this.#fill();
  }

  /**
   * `source` no longer names `address`. Once no source does, the address is not dialed again; a
   * connection to it stays open until it ends (it is authenticated whatever discovery says), and
   * is not redialed then.
   */
  removeCandidate(address: string, source: string): void {
    const index = this.#targets.findIndex((t) => t.address === address);
    if (index < 0) return;
    const target = this.#targets[index];
    target.sources.delete(source);
    if (target.sources.size > 0) return;
    this.#options.clock.clearTimeout(target.timer);
    this.#targets.splice(index, 1);
    this.#options.logger.info("peer candidate removed", { address, source });
  }

  /** Sends one message to a connected peer (no-op when it is not connected); failures are counted, never thrown. */
  sendTo(peer: NodeId, message: SessionMessage<Op>): void {
    this.#send([{ peer, message }]);
  }

  /** Starts listening (when configured), dialing and ticking. Rejects when the listen address cannot be bound. */
  async start(): Promise<void> {
    const { listen, transport, tickIntervalMs } = this.#options;
    if (listen !== undefined) this.#listener = await transport.listen(listen, (c) => this.#adopt(c));
    const own = this.#listener?.address;
    if (own !== undefined) {
      for (const target of this.#targets) if (isOwnAddress(target.address, own)) this.#isSelf(target);
    }
    this.#ticker = this.#options.clock.setInterval(
      () => this.#send(this.#options.engine.tick(this.#options.nowMs())),
      tickIntervalMs,
    );
    for (const target of this.#targets) if (this.#pinned(target)) this.#dial(target);
    if (this.#bound !== undefined) {
      const now = this.#options.nowMs();
      this.#nextRotationAtMs = now + this.#rotationDelayMs();
      this.#nextDepartedDialAtMs = now + DEPARTED_REDIAL_INTERVAL_MS * this.#options.random01();
      this.#overlayTicker = this.#options.clock.setInterval(() => this.#overlayTick(), OVERLAY_TICK_MS);
      this.#fill();
    }
  }

  /** The bound listen address (with the real port), when listening. */
  listenAddress(): string | undefined {
    return this.#listener?.address;
  }

  connectedPeers(): PeerInfo[] {
    return [...this.#connections.values()].map((c) => ({
      address: c.remoteAddress,
      nodeId: c.remoteNodeId,
      outbound: c.outbound,
      announcedVector: c.remoteVersionVector,
      features: c.remoteFeatures,
    }));
  }

  configuredPeers(): ConfiguredPeerStatus[] {
    return this.#targets.map((t) => this.#configuredStatus(t));
  }

  /** The configured peers dialed whatever the bound (every one without a bound): what `--wait-before-run` waits for. */
  alwaysDialed(): ConfiguredPeerStatus[] {
    return this.#targets.filter((t) => this.#pinned(t)).map((t) => this.#configuredStatus(t));
  }

  #configuredStatus(t: DialTarget): ConfiguredPeerStatus {
    return {
      address: t.address,
      nodeId: t.nodeId,
      health: peerHealth(t.failures, this.#options.backoff),
      connected: t.nodeId !== undefined && this.#connections.has(t.nodeId),
      consecutiveFailures: t.failures,
      refusal: t.refusal,
      self: t.isSelf,
      sources: [...t.sources],
    };
  }

  /**
   * Every configured peer (those of `network.peers` and those added since), then every connected
   * peer that is not one of them (it dialed this node).
   */
  peerStatuses(): PeerStatus[] {
    const listed = new Set<Connection<Op>>();
    const statuses = this.#targets.map((target) => {
      const connection = target.nodeId === undefined ? undefined : this.#connections.get(target.nodeId);
      if (connection !== undefined) {
        listed.add(connection);
        return this.#connectedStatus(connection, target.address, true);
      }
      const state: PeerState = target.dialing
        ? "connecting"
        : target.failures > 0 && !target.isSelf
          ? "backoff"
          : "configured";
      return {
        address: target.address,
        nodeId: target.nodeId,
        state,
        direction: "outbound" as const,
        rttMs: undefined,
        health: target.isSelf ? "healthy" : peerHealth(target.failures, this.#options.backoff),
        sinceMs: target.sinceMs,
        configured: true,
      };
    });
    for (const connection of this.#connections.values()) {
      if (!listed.has(connection))
        statuses.push(this.#connectedStatus(connection, connection.remoteAddress, false));
    }
    return statuses;
  }

  #connectedStatus(connection: Connection<Op>, address: string, configured: boolean): PeerStatus {
    return {
      address,
      nodeId: connection.remoteNodeId,
      state: "connected",
      direction: connection.outbound ? "outbound" : "inbound",
      rttMs: connection.rttMs,
      health: "healthy",
      sinceMs: this.#adoptedAt.get(connection) ?? this.#options.nowMs(),
      configured,
    };
  }

  /**
   * Dials `address` (`host:port`) and keeps it connected like a configured peer until
   * `removePeer` (the management API's `POST /peers`: source {@link RUNTIME_PEER_SOURCE}). Throws NumaxError SYNC_PEER_EXISTS when it is configured already.
   */
  addPeer(address: string): PeerStatus {
    const known = this.#targets.find((target) => target.address === address);
    if (known !== undefined) {
      // Found by discovery (or configured): the operator's add pins it, so it stays a peer when
      // discovery stops naming it. Added at run time already: nothing to add.
      if (known.sources.has(RUNTIME_PEER_SOURCE)) {
        throw new NumaxError("SYNC_PEER_EXISTS", `peer ${address} was added already`);
      }
      known.sources.add(RUNTIME_PEER_SOURCE);
      this.#options.logger.info("peer added", { address, sources: [...known.sources] });
      return this.peerStatuses().find((status) => status.address === address)!;
    }
    const target = this.#target(address, RUNTIME_PEER_SOURCE);
    this.#targets.push(target);
    const own = this.#listener?.address;
    if (own !== undefined && isOwnAddress(address, own)) this.#isSelf(target);
    this.#options.logger.info("peer added", { address });
    this.#dial(target);
    return this.peerStatuses().find((status) => status.address === address)!;
  }

  /**
   * Stops dialing the configured peer at `address` and closes its connection. Returns false when
   * no configured peer has that address.
   */
  async removePeer(address: string): Promise<boolean> {
    const index = this.#targets.findIndex((target) => target.address === address);
    if (index < 0) return false;
    const [target] = this.#targets.splice(index, 1);
    target!.removed = true;
    this.#options.clock.clearTimeout(target!.timer);
    this.#options.logger.info("peer removed", { address });
    const connection = target!.nodeId === undefined ? undefined : this.#connections.get(target!.nodeId);
    await connection?.close("peer removed by the operator");
    return true;
  }

  /**
   * Sends queued ops now, as far as each peer's send window allows: for ops queued together
   * (a store batch that just became durable), which have nothing more to wait for.
   */
  sendQueued(): void {
    this.#send(this.#options.engine.flush());
  }

  /**
   * Sends one Publish to every connected peer that announced the `pubsub` feature, except those
   * whose connection is backed up past PUBLISH_BACKLOG_BYTES_MAX (dropped there: at-most-once).
   * Messages to one peer leave in the order of the calls.
   */
  publish(topic: string, payload: Uint8Array): PublishOutcome {
    const message: PublishMessage = { type: "Publish", topic, payload };
    const bytes = topic.length + payload.byteLength;
    let sent = 0;
    let dropped = 0;
    for (const connection of this.#connections.values()) {
      if (!connection.remoteFeatures.includes("pubsub")) continue;
      const backlog = this.#publishBacklog.get(connection) ?? 0;
      if (backlog + bytes > PUBLISH_BACKLOG_BYTES_MAX) {
        dropped++;
        continue;
      }
      this.#publishBacklog.set(connection, backlog + bytes);
      sent++;
      void this.#sendOn(connection, message).then(() =>
        this.#publishBacklog.set(connection, this.#publishBacklog.get(connection)! - bytes),
      );
    }
    return { sent, dropped };
  }

  /** Sends what is queued, stops dialing and accepting, and closes every connection. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.sendQueued();
    this.#stopped = true;
    this.#abort.abort();
    const { clock } = this.#options;
    clock.clearTimeout(this.#ticker);
    clock.clearTimeout(this.#overlayTicker);
    for (const target of this.#targets) clock.clearTimeout(target.timer);
    await this.#listener?.close();
    await Promise.all([...this.#connections.values()].map((c) => c.close("node shutting down")));
  }

  #dial(target: DialTarget): void {
    if (this.#stopped || target.dialing || target.isSelf) return;
    if (target.nodeId !== undefined && this.#connections.has(target.nodeId)) return;
    const bound = this.#bound;
    if (bound !== undefined && !this.#pinned(target) && this.#connections.size >= bound) return;
    if (this.#connections.size >= this.#options.maxPeers) {
      // No free slot now; look again later (rotation: whichever configured peer is due first gets the next slot).
      this.#retryLater(target, "soon");
      return;
    }
    target.dialing = true;
    target.sinceMs = this.#options.nowMs();
    const { clock } = this.#options;
    const timeout = new AbortController();
    // AbortSignal.timeout's reason, on the clock (a simulated dial times out in simulated time).
    const timer = clock.setTimeout(
      () => timeout.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
      this.#options.dialTimeoutMs,
    );
    const signal = AbortSignal.any([this.#abort.signal, timeout.signal]);
    this.#options.transport
      .dial(target.address, signal)
      .finally(() => clock.clearTimeout(timer))
      .then(
        (connection) => {
          target.dialing = false;
          target.sinceMs = this.#options.nowMs();
          if (target.removed) {
            void connection.close("peer removed by the operator");
            return;
          }
          target.nodeId = connection.remoteNodeId;
          if (connection.remoteNodeId === this.#options.transport.localNodeId) {
            this.#isSelf(target);
            void connection.close("connected to self");
            return;
          }
          target.failures = 0;
          target.refusal = undefined;
          target.refusalCode = undefined;
          this.#adopt(connection);
          if (this.#rotating === target) this.#rotated(target);
        },
        (error: unknown) => {
          target.dialing = false;
          target.sinceMs = this.#options.nowMs();
          if (this.#stopped || target.removed) return;
          target.failures++;
          this.#options.onDialFailed?.(target.address, error, target.failures);
          if (!this.#pinned(target)) {
            this.#discoveredDialFailed(target, error);
            return;
          }
          const health = peerHealth(target.failures, this.#options.backoff);
          if (error instanceof NetError && !error.retryable) {
            this.#refused(target, error);
            return;
          }
          target.refusal = undefined;
          target.refusalCode = undefined;
          const log = target.failures === 1 || health === "dead" ? "warn" : "debug";
          this.#options.logger[log]("cannot reach peer", {
            address: target.address,
            error: describeError(error),
            failures: target.failures,
            health,
          });
          this.#retryLater(target, "failed");
        },
      );
  }

  /** `target` refused us for a reason a retry does not fix: the redial waits REFUSED_PEER_REDIAL_DELAY_MS. */
  #refused(target: DialTarget, error: NetError): void {
    this.#noteRefusal(target, error);
    this.#retryLater(target, "refused");
  }

  #noteRefusal(target: DialTarget, error: NetError): void {
    // One line per reason, not one per redial.
    if (target.refusalCode !== error.code) {
      this.#options.logger.warn(error.message, { address: target.address, code: error.code });
    }
    target.refusal = error.message;
    target.refusalCode = error.code;
  }

  /**
   * With a bound, a discovered target whose dial failed is not picked again before its backoff
   * (or REFUSED_PEER_REDIAL_DELAY_MS) has passed; another candidate is dialed instead.
   */
  #discoveredDialFailed(target: DialTarget, error: unknown): void {
    const refused = error instanceof NetError && !error.retryable;
    if (refused) this.#noteRefusal(target, error);
    else
      this.#options.logger.debug("cannot reach discovered peer", {
        address: target.address,
        error: describeError(error),
        failures: target.failures,
      });
    target.notBeforeMs =
      this.#options.nowMs() +
      reconnectDelayMs(target.failures, this.#options.backoff, this.#options.random01(), refused);
    this.#dropDeparted(target);
    this.#fill();
  }

  /** A departed member's address is dialed once: after that dial or its connection, it is no candidate of its own. */
  #dropDeparted(target: DialTarget): void {
    if (target.sources.has(DEPARTED_PEER_SOURCE)) this.removeCandidate(target.address, DEPARTED_PEER_SOURCE);
  }

  /** A discovered target the bound may pick (not one the operator wrote, not this node, not a departed member's one-off). */
  #isCandidate(target: DialTarget): boolean {
    if (this.#pinned(target) || target.isSelf) return false;
    return !(target.sources.size === 1 && target.sources.has(DEPARTED_PEER_SOURCE));
  }

  #connectedTo(target: DialTarget): boolean {
    return target.nodeId !== undefined && this.#connections.has(target.nodeId);
  }

  /** Candidates that may be dialed now: not connected, not being dialed, past their backoff or cooldown. */
  #eligible(): DialTarget[] {
    const now = this.#options.nowMs();
    return this.#targets.filter(
      (t) => this.#isCandidate(t) && !t.dialing && t.notBeforeMs <= now && !this.#connectedTo(t),
    );
  }

  /**
   * With a bound: dials random candidates until this node has `outboundTarget` connections,
   * counting those it accepted and the dials under way (docs/design/peer-discovery.md#a-bounded-set-of-connections).
   * `known`: `#want()`, when the caller has it.
   */
  #fill(known?: number): void {
    if (this.#bound === undefined || this.#stopped || this.#ticker === undefined) return;
    const want = known ?? this.#want();
    let busy = this.#connections.size + this.#targets.filter((t) => t.dialing).length;
    const eligible = this.#eligible();
    while (busy < want && eligible.length > 0) {
      const [target] = eligible.splice(Math.floor(this.#options.random01() * eligible.length), 1);
      this.#dial(target!);
      busy++;
    }
  }

  /**
   * With a bound: how many connections this node opens itself (see `outboundTarget`), counting
   * as candidates the peers it refused for lack of room lately that no candidate is known to be
   * (see REFUSED_PEER_COUNTED_MS).
   */
  #want(): number {
    const candidates = this.#targets.filter((t) => this.#isCandidate(t));
    const known = new Set(candidates.map((t) => t.nodeId));
    const now = this.#options.nowMs();
    let refused = 0;
    for (const [peer, atMs] of this.#refusedForRoom) {
      if (now - atMs >= REFUSED_PEER_COUNTED_MS) this.#refusedForRoom.delete(peer);
      else if (!known.has(peer)) refused++;
    }
    return outboundTarget(this.#bound!, candidates.length + refused);
  }

  #overlayTick(): void {
    // Once a tick: it walks every target and the refused peers.
    const want = this.#want();
    this.#trim(want);
    this.#fill(want);
    const now = this.#options.nowMs();
    if (now >= this.#nextDepartedDialAtMs) {
      this.#nextDepartedDialAtMs = now + DEPARTED_REDIAL_INTERVAL_MS;
      this.#dialDeparted();
    }
    if (now >= this.#nextRotationAtMs) {
      this.#nextRotationAtMs = now + this.#rotationDelayMs();
      this.#rotate();
    }
  }

  #rotationDelayMs(): number {
    return Math.round(OVERLAY_ROTATION_INTERVAL_MS * (0.5 + this.#options.random01()));
  }

  /** Dials one departed member's address once, when there is room (see DEPARTED_REDIAL_INTERVAL_MS). */
  #dialDeparted(): void {
    if (this.#connections.size >= this.#bound!) return;
    const own = this.#listener?.address;
    const addresses = (this.#options.departedAddresses?.() ?? []).filter((address) => {
      if (own !== undefined && isOwnAddress(address, own)) return false;
      const target = this.#targets.find((t) => t.address === address);
      return target === undefined || (!this.#pinned(target) && !target.dialing && !this.#connectedTo(target));
    });
    const address = pickRandom(addresses, this.#options.random01());
    if (address === undefined) return;
    let target = this.#targets.find((t) => t.address === address);
    if (target === undefined) {
      target = this.#target(address, DEPARTED_PEER_SOURCE);
      this.#targets.push(target);
    } else {
      target.sources.add(DEPARTED_PEER_SOURCE);
    }
    this.#dial(target);
  }

  /**
   * Outbound connections beyond `#want` (opened while every candidate known fitted in the bound,
   * before the node learned of more): one a tick is closed, the oldest that is not its peer's
   * last path. The clique the first members form while they join dissolves into a random overlay
   * and leaves room for the others.
   */
  #trim(want: number): void {
    const rotatable = this.#rotatable();
    if (rotatable.length <= want) return;
    const victim = rotationVictim(rotatable);
    if (victim === undefined) return;
    this.#options.logger.debug("connection trimmed", { closed: victim });
    void this.#connections.get(victim)?.close("more connections than this node opens with max_connections");
  }

  /**
   * Rotation: a connection to a random candidate first; once it is up, the oldest outbound
   * connection whose peer has another path is closed (`#rotated`). A node with fewer than two
   * outbound connections does not rotate: its one connection may be its only path. A full node
   * closes that connection first.
   */
  #rotate(): void {
    if (this.#rotating?.dialing === true) return;
    if (this.#connections.size >= this.#bound!) {
      // Full: the oldest outbound connection goes first, and the slot is for whoever dials in.
      const victim = rotationVictim(this.#rotatable());
      if (victim !== undefined) void this.#connections.get(victim)?.close("rotated: room for another member");
      return;
    }
    if (this.#rotatable().length < 2) return;
    const target = pickRandom(this.#eligible(), this.#options.random01());
    if (target === undefined) return;
    this.#rotating = target;
    this.#dial(target);
  }

  #rotated(target: DialTarget): void {
    this.#rotating = undefined;
    if (!this.#connectedTo(target)) return; // refused on adoption (the bound was reached meanwhile)
    const victim = rotationVictim(this.#rotatable().filter((c) => c.peer !== target.nodeId));
    if (victim === undefined) return;
    this.#options.logger.debug("connection rotated", { closed: victim, opened: target.nodeId });
    void this.#connections.get(victim)?.close("rotated: replaced by a connection to a random member");
  }

  /** Outbound connections to peers the operator did not name: what a rotation may close. */
  #rotatable(): RotationCandidate<NodeId>[] {
    const rotatable: RotationCandidate<NodeId>[] = [];
    for (const connection of this.#connections.values()) {
      const peer = connection.remoteNodeId;
      if (!connection.outbound || this.#isPinnedPeer(peer)) continue;
      rotatable.push({
        peer,
        sinceMs: this.#adoptedAt.get(connection) ?? 0,
        peerLinks: this.#links.get(peer)?.size,
      });
    }
    return rotatable;
  }

  /**
   * A peer with a reserved slot: one of the targets kept connected (every target without a bound;
   * with one, those the operator named). Discovered candidates under a bound are a pool to draw
   * from, not peers to keep: counted here, the members of a cluster larger than `max_peers` took
   * every slot, and a node refused every member it had not dialled itself (in a 100-node cluster,
   * members refused by all of them, without a single connection for the whole run).
   */
  #isPinnedPeer(peer: NodeId): boolean {
    return this.#targets.some((t) => t.nodeId === peer && this.#pinned(t));
  }

  /**
   * The connected peers that say they are connected to `target` (their last PeerAddresses): the
   * helpers through which membership probes a member this node has no connection to.
   */
  neighboursLinkedTo(target: NodeId): NodeId[] {
    const linked: NodeId[] = [];
    for (const peer of this.#connections.keys())
      if (this.#links.get(peer)?.has(target) === true) linked.push(peer);
    return linked;
  }

  #isSelf(target: DialTarget): void {
    target.isSelf = true;
    this.#options.logger.warn("peer address is this node itself; not dialing it again", {
      address: target.address,
    });
  }

  /**
   * `failed`: the backoff for the failures so far; `refused`: REFUSED_PEER_REDIAL_DELAY_MS (the
   * peer said a retry does not help); `soon`: the initial delay (a connection ended cleanly, no
   * slot was free).
   */
  #retryLater(target: DialTarget, after: RetryAfter): void {
    // A removed peer or candidate whose dial was under way when it was removed is not dialed again.
    if (this.#stopped || !this.#targets.includes(target)) return;
    this.#options.clock.clearTimeout(target.timer);
    const delayMs =
      after === "soon"
        ? this.#options.backoff.initialDelayMs
        : reconnectDelayMs(
            target.failures,
            this.#options.backoff,
            this.#options.random01(),
            after === "refused",
          );
    target.timer = this.#options.clock.setTimeout(() => this.#dial(target), delayMs);
  }

  #adopt(connection: Connection<Op>): void {
    const { logger, engine, maxPeers } = this.#options;
    const peer = connection.remoteNodeId;
    if (this.#stopped) {
      void connection.close("node shutting down");
      return;
    }
    const existing = this.#connections.get(peer);
    if (existing !== undefined) {
      if (!this.#preferred(connection, existing)) {
        void connection.close("duplicate connection to the same peer");
        return;
      }
      this.#connections.delete(peer);
      this.#send(engine.peerDisconnected(peer, this.#options.nowMs()));
      void existing.close("replaced by the preferred connection to the same peer");
    } else if (this.#connections.size >= maxPeers) {
      logger.warn("refusing peer: max_peers reached", { nodeId: peer, maxPeers });
      void connection.close("max_peers reached");
      return;
    } else if (
      this.#bound !== undefined &&
      this.#connections.size >= this.#bound &&
      !this.#isPinnedPeer(peer)
    ) {
      // Expected while the overlay forms: the peer is told where else to go, and picks another.
      logger.debug("refusing peer: max_connections reached", { nodeId: peer, maxConnections: this.#bound });
      this.#refusedForRoom.delete(peer);
      this.#refusedForRoom.set(peer, this.#options.nowMs());
      if (this.#refusedForRoom.size > maxPeers)
        this.#refusedForRoom.delete(this.#refusedForRoom.keys().next().value!);
      const entries = this.#options.redirectEntries?.();
      const told =
        entries !== undefined && connection.remoteFeatures.includes("peer-exchange")
          ? this.#sendOn(connection, { type: "PeerAddresses", peers: entries })
          : Promise.resolve();
      // Closed once the connection took the list: a close first would drop it.
      void told.then(() => connection.close("max_connections reached"));
      return;
    } else if (!this.#isPinnedPeer(peer) && this.#unconfiguredConnections() >= this.#unconfiguredSlots()) {
      logger.warn("refusing peer: the remaining max_peers slots are kept for configured peers", {
        nodeId: peer,
        maxPeers,
        configuredPeers: this.#reservedSlots(),
      });
      void connection.close("the remaining peer slots are kept for configured peers");
      return;
    }
    this.#connections.set(peer, connection);
    this.#adoptedAt.set(connection, this.#options.nowMs());
    // A configured peer that reached us is healthy again, whichever side dialed: its backoff
    // restarts from the initial delay, so a later loss is redialed quickly, not at the ceiling.
    for (const target of this.#targets) {
      if (target.nodeId !== peer) continue;
      target.failures = 0;
      target.refusal = undefined;
      target.refusalCode = undefined;
      this.#options.clock.clearTimeout(target.timer);
    }
    this.#options.onPeerEvent?.("connected", peer);
    logger.debug("peer adopted", {
      nodeId: peer,
      address: connection.remoteAddress,
      outbound: connection.outbound,
    });
    this.#send(engine.peerConnected(peer, this.#options.nowMs(), connection.remoteMaxMessageSizeBytes));
    void this.#pump(connection);
  }

  #unconfiguredConnections(): number {
    let count = 0;
    for (const peer of this.#connections.keys()) if (!this.#isPinnedPeer(peer)) count++;
    return count;
  }

  /**
   * Peers that are not configured (they dialed us) may hold every slot but one per configured
   * peer: strangers, or members that only dial in, can never lock the configured peers out.
   */
  #unconfiguredSlots(): number {
    return Math.max(0, this.#options.maxPeers - this.#reservedSlots());
  }

  /** The targets with a reserved slot (see `#isPinnedPeer`). */
  #reservedSlots(): number {
    let reserved = 0;
    for (const target of this.#targets) if (this.#pinned(target)) reserved++;
    return reserved;
  }

  /** Of two connections to one peer, keep the one dialed by the smaller NodeId: both ends agree. */
  #preferred(candidate: Connection<Op>, existing: Connection<Op>): boolean {
    const localIsSmaller = this.#options.transport.localNodeId < candidate.remoteNodeId;
    const wantOutbound = localIsSmaller;
    return candidate.outbound === wantOutbound && existing.outbound !== wantOutbound;
  }

  async #pump(connection: Connection<Op>): Promise<void> {
    const { engine, logger } = this.#options;
    const peer = connection.remoteNodeId;
    try {
      for await (const message of connection) {
        if (message.type === "PullSince") this.#pulledVector.set(connection, message.versionVector);
        // One slice per turn of the event loop: queued messages would otherwise be handled back
        // to back in microtasks, and a flooding peer would starve timers, other peers and the
        // observability endpoint. The connection stops reading while its queue is full.
        switch (message.type) {
          case "PushOps":
            await this.#applyInSlices(peer, message);
            break;
          case "PushState": {
            const changed = engine.applySnapshotPart(peer, message);
            if (changed.length > 0) this.#options.onSnapshotApplied?.(peer, changed);
            break;
          }
          case "Publish":
            this.#options.onPublish?.(peer, message.topic, message.payload);
            break;
          case "PeerAddresses":
            this.#links.set(
              peer,
              new Set(message.peers.map((entry) => entry.nodeId).filter((id) => id !== peer)),
            );
            this.#options.onPeerAddresses?.(peer, message.peers);
            break;
          case "MemberPing":
          case "MemberAck":
          case "MemberPingReq":
          case "MemberNack":
          case "MemberSync":
            this.#options.onMembership?.(peer, message);
            break;
          default:
            this.#send(engine.receive(peer, message, this.#options.nowMs()));
        }
        await nextTurn();
      }
    } catch (error) {
      logger.warn("peer connection failed", { nodeId: peer, error: describeError(error) });
    }
    const { reason, error } = await connection.closed;
    if (this.#connections.get(peer) !== connection) return;
    this.#connections.delete(peer);
    this.#send(engine.peerDisconnected(peer, this.#options.nowMs()));
    this.#options.onPeerEvent?.("disconnected", peer);
    logger[error === undefined ? "info" : "warn"]("peer disconnected", { nodeId: peer, reason });
    this.#links.delete(peer);
    const target = this.#targets.find((t) => t.nodeId === peer);
    if (target === undefined || !this.#pinned(target)) {
      // With a bound, a lost connection is replaced by one to a random candidate, not by the same peer.
      if (target !== undefined) {
        const now = this.#options.nowMs();
        const lastedMs = now - (this.#adoptedAt.get(connection) ?? now);
        target.shortConnections = lastedMs < OVERLAY_SHORT_CONNECTION_MS ? target.shortConnections + 1 : 0;
        target.notBeforeMs =
          now +
          reconnectDelayMs(
            target.shortConnections + 1,
            this.#options.backoff,
            this.#options.random01(),
            false,
          );
        this.#dropDeparted(target);
      }
      this.#fill();
      return;
    }
    // The peer ended the session with an Error frame a retry does not fix (it cannot read what we
    // send, say), or this node did: reconnecting at once would only end the same way.
    const ended = this.#ending.get(connection);
    if (ended !== undefined) {
      // Logged when the session was ended.
      target.refusal = ended.message;
      target.refusalCode = ended.code;
      this.#retryLater(target, "refused");
    } else if (error instanceof NetError && error.wireCode !== undefined && !error.retryable)
      this.#refused(target, error);
    else this.#retryLater(target, error === undefined ? "soon" : "failed");
  }

  async #applyInSlices(peer: NodeId, message: PushOpsMessage<Op>): Promise<void> {
    const { engine, storeRoom } = this.#options;
    // The new ops of the whole message, so the node's modules get one event per key for it.
    const fresh: Op[] = [];
    let start = 0;
    do {
      if (start > 0) await nextTurn();
      await storeRoom?.();
      const end = applySliceEnd(message.ops, start, this.#options.opWrites ?? oneWrite);
      const slice = engine.applyPushed(peer, message.ops.slice(start, end));
      for (const op of slice.fresh) fresh.push(op);
      this.#send(slice.out);
      start = end;
    } while (start < message.ops.length);
    this.#send(engine.pushedDone(peer, message, fresh.length));
    if (fresh.length > 0) this.#options.onRemoteOps?.(peer, fresh);
  }

  #send(outgoing: readonly Outgoing<Op>[]): void {
    for (const { peer, message } of outgoing) {
      const connection = this.#connections.get(peer);
      if (connection === undefined || this.#ending.has(connection)) continue;
      const sendable =
        message.type === "PushOps"
          ? this.#pushFor(connection, message)
          : message.type === "PushState"
            ? this.#stateFor(connection, message)
            : message;
      if (sendable !== undefined) void this.#sendOn(connection, sendable);
    }
  }

  /**
   * `message` as `connection`'s peer reads it (see `opsForPeer`), or undefined when it holds an
   * op the peer cannot decode and lacks: then the session ends, for the op can be neither skipped
   * nor split for it, and stays in the op-log for when the peer is upgraded.
   */
  #pushFor(connection: Connection<Op>, message: PushOpsMessage<Op>): PushOpsMessage<Op> | undefined {
    const { opFeature, opId } = this.#options;
    if (opFeature === undefined) return message;
    const vector = this.#pulledVector.get(connection) ?? connection.remoteVersionVector;
    const ops = opsForPeer(message.ops, connection.remoteFeatures, opFeature, (op) => {
      if (opId === undefined) return false;
      const { origin, seq } = opId(op);
      return seq <= (vector.get(origin) ?? 0);
    });
    if (ops === message.ops) return message;
    if (ops !== undefined) return { ...message, ops };
    const peer = connection.remoteNodeId;
    const refusal = missingMapBatchError(
      this.#options.transport.localNodeId,
      peer,
      connection.remoteAddress,
      "held-op",
    );
    this.#ending.set(connection, refusal);
    this.#endedLog.report(peer, refusal.code, refusal.message, {
      nodeId: peer,
      address: connection.remoteAddress,
      code: refusal.code,
    });
    // The peer reads why in an Error frame that says a retry does not help (no redial loop).
    void this.#sendOn(connection, replyFor(refusal)).then(() =>
      connection.close(`peer ${peer} cannot read multi-field map ops (${refusal.code}, logged above)`),
    );
    return undefined;
  }

  /** A `PushState` part as `connection`'s peer reads it (features it lacks are left out). */
  #stateFor(connection: Connection<Op>, part: PushStateMessage): PushStateMessage {
    const features = connection.remoteFeatures;
    // A peer without `state-transfer` would take the marker for an origin: it merges instead.
    const merged =
      part.replace === true && !features.includes("state-transfer") ? { ...part, replace: false } : part;
    return features.includes("rga-ghosts") ? merged : withoutRgaGhosts(merged);
  }

  /** Sends without waiting; a failure is counted and logged, never thrown. Resolves once the connection took it. */
  #sendOn(connection: Connection<Op>, message: SessionMessage<Op>): Promise<void> {
    return connection.send(message).catch((error: unknown) => {
      this.#options.onSendError?.(error);
      this.#options.logger.debug("send failed", {
        nodeId: connection.remoteNodeId,
        type: message.type,
        error: describeError(error),
      });
    });
  }
}

type RetryAfter = "failed" | "refused" | "soon";
