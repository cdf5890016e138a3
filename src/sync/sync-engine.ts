import type { NodeId } from "../identity/node-id.ts";
import {
  PUSH_OPS_OPS_MAX,
  type PushOpsMessage,
  type PushStateMessage,
  type SessionMessage,
  type VersionVector,
} from "../net/messages.ts";
import { createSeededRandom } from "./seeded-random.ts";
import type { ChangedObject } from "./sync-events.ts";

/**
 * What the engine needs from the node's replicated state. `applyRemote` de-duplicates by OpId
 * and returns exactly the ops that were new here (those, and only those, are relayed).
 */
export interface SyncReplica<Op> {
  versionVector(): VersionVector;
  /**
   * Every origin whose ops this replica has applied, those it holds only out of order (above a
   * gap, so without an entry in its version vector) too.
   */
  heldOrigins(): Iterable<NodeId>;
  /**
   * Ops this replica holds that `vector` lacks, oldest first, each origin's in sequence order
   * (what a cut leaves of an origin is a run right after its mark: a repair's mark advances to
   * the highest sequence sent), at most `limit`; with `origins`, only ops of those origins;
   * with `bytes`, at most `bytes.bytesMax` of them as `bytes.opBytes` counts them (one op at
   * least), and no more read from the op-log than about that per origin.
   */
  opsSince(
    vector: VersionVector,
    limit: number,
    origins?: ReadonlySet<NodeId>,
    bytes?: OpBytesBudget<Op>,
  ): readonly Op[];
  applyRemote(ops: readonly Op[]): readonly Op[];
  /** The op's origin and its sequence number there (its OpId). */
  idOf(op: Op): { readonly origin: NodeId; readonly seq: number };
  /** This node's NodeId: the origin of its local ops. */
  localOrigin(): NodeId;
  /** Whether ops `vector` lacks were compacted out of the op-log (such a peer needs a snapshot). */
  needsSnapshot(vector: VersionVector): boolean;
  /**
   * Whether a peer at `vector` lacks removes whose tombstones were collected here: it may hold
   * what they removed, so it gets a replacing snapshot and nothing it sends is taken in. `peer`:
   * the pulling node (a node new to the cluster merges instead: see ReplicatedState.isStale).
   */
  isStale(vector: VersionVector, peer: NodeId): boolean;
  /**
   * The whole state as PushState parts of bounded size; the last part is final and carries the
   * vector. `replace`: every part is marked for the receiver to replace its state with it.
   * `peerMaxMessageSizeBytes`: the largest frame the peer reads, when it announced it (parts are
   * cut to fit the smaller of it and this node's limit).
   */
  snapshotParts(replace: boolean, peerMaxMessageSizeBytes?: number): PushStateMessage[];
  /**
   * Merges a PushState part (a state join); a final part also advances the version vector.
   * Returns the objects it changed here.
   */
  applySnapshotPart(part: PushStateMessage): readonly ChangedObject[];
}

/**
 * A bound of PushOps batches in bytes: at most `bytesMax`, each op counted by `opBytes` (at least
 * as many as it encodes to: `opWireBytesMax`), one op at least.
 */
export interface OpBytesBudget<Op> {
  readonly bytesMax: number;
  readonly opBytes: (op: Op) => number;
}

export interface SyncEngineOptions<Op = unknown> {
  /** Ops waiting for one peer before the queue sheds them (they stay in the op-log; anti-entropy delivers them). */
  queuedOpsLimit: number;
  /** Largest PushOps batch; at most PUSH_OPS_OPS_MAX, which receivers refuse beyond. */
  batchOpsMax: number;
  /**
   * Largest PushOps batch in bytes (an op larger alone goes in no batch: `onOpTooLarge`): the
   * connection refuses to send a frame over `max_message_size` (NET_FRAME_TOO_LARGE, the
   * connection stays up), and a refused batch waited for anti-entropy. A repair reads one such batch from the op-log at a
   * time. Undefined: no byte bound.
   */
  batchBytes: OpBytesBudget<Op> | undefined;
  /**
   * With `batchBytes`: the batch bytes for a peer whose frames are at most `maxMessageSizeBytes`
   * (the `max_message_size` it announced in its handshake, `peerConnected`); a peer that reads
   * less than this node gets batches cut to its limit, at most `batchBytes.bytesMax`. Undefined:
   * every peer gets `batchBytes`.
   */
  peerBatchBytesMax: ((maxMessageSizeBytes: number) => number) | undefined;
  /**
   * An op of the op-log or the queue larger than a peer's batch bytes (written before ops were
   * checked at the call, under a larger `max_message_size`, or larger than what the peer reads):
   * no frame can carry it to that peer, so it is left out of its batches (and counted in
   * `opsTooLarge`) instead of being sent, refused and sent again for good. Told here each time.
   */
  onOpTooLarge: ((peer: NodeId, op: Op, opBytes: number, bytesMax: number) => void) | undefined;
  /**
   * PushOps batches sent to one peer and not yet acknowledged before sending pauses: the ceiling
   * of the adaptive send window (see `clock`).
   */
  inflightBatchesMax: number;
  /**
   * Monotonic ms, to time each batch's ack: the adaptive send window. Each peer's window of
   * unacknowledged batches halves when an ack comes back SEND_QUEUEING_DELAY_MAX_MS later than
   * the fastest one seen on that connection (a queue builds on the path, or the peer is slow to
   * apply: its load), at most once per round trip, and grows by one batch per round trip
   * otherwise, up to `inflightBatchesMax` (AIMD, as TCP's congestion window). What waits meanwhile
   * is batched into fewer, fuller batches; past `queuedOpsLimit` it is shed and re-sent from the
   * op-log. Undefined: a fixed window of `inflightBatchesMax`.
   */
  clock: (() => number) | undefined;
  /** How often every peer is asked for what this node lacks. */
  antiEntropyIntervalMs: number;
  /** Ops asked for in one PullSince. */
  pullLimit: number;
  /**
   * K-fanout: local ops and ops new here go to K = ceil(log2(N)) + `fanoutExtra` connected peers
   * chosen at random per batch (or every peer when there are at most K), N from `clusterSize`;
   * relays skip peers that pruned every origin of the batch before drawing. Undefined: every
   * connected peer (full relay). See docs/design/peer-discovery.md#dissemination.
   */
  fanoutExtra: number | undefined;
  /**
   * With fanout, below this N batches go to every connected peer and the fanout pulls stop: the
   * pruned full relay, cheaper in a small cluster (see FANOUT_CLUSTER_SIZE_MIN).
   */
  fanoutClusterSizeMin: number;
  /** N of the fanout: the cluster's live members, this node included. Default: connected peers + 1. */
  clusterSize: (() => number) | undefined;
  /**
   * With fanout, how often one connected peer (round robin over a shuffled list) is asked for what
   * this node lacks, beside every peer's `antiEntropyIntervalMs` round: gossip leaves a few nodes
   * without a batch now and then, and this brings it within about this long.
   */
  fanoutPullIntervalMs: number;
  /** Uniform in [0, 1): which peers a batch goes to. Seeded in the simulator. */
  random: () => number;
}

/**
 * Default `pullLimit`: one batch. A pull is answered in one synchronous step (read from the
 * op-log, encoded, sent), so its size bounds how long the answer holds the event loop; a puller
 * whose answer came full asks again at once.
 */
export const PULL_OPS_MAX = PUSH_OPS_OPS_MAX;

/**
 * Default `fanoutPullIntervalMs`: four PullSince a second per node (this node's version vector,
 * about 20 bytes per origin), answered with nothing when gossip already delivered everything. With
 * one a second, the ten-node gate at 5 000 ops/s per node converged 0.65-0.92 s after the load
 * (full relay: 0.05 s): under load some node always misses a recent batch and waits for its pull.
 */
export const FANOUT_PULL_INTERVAL_MS = 250;

/**
 * Default `fanoutClusterSizeMin`: the K-fanout takes over from the pruned full relay at 50 live
 * members. Below, the full relay costs fewer messages per op (`npm run bench -- gossip`'s
 * workload: N = 10 2.29 against 2.70, N = 32 7.01 against 8.70, N = 48 12.91 against 13.59):
 * with pruning a relay's pushes approach a spanning tree, while K random peers per batch resend
 * to nodes that have the ops already. From 50 the fanout costs less (N = 50 13.4 against 14.6,
 * N = 100 16.3 against 51.8).
 */
export const FANOUT_CLUSTER_SIZE_MIN = 50;

export const DEFAULT_SYNC_ENGINE_OPTIONS: SyncEngineOptions = {
  queuedOpsLimit: 10_000,
  batchOpsMax: PUSH_OPS_OPS_MAX,
  batchBytes: undefined,
  peerBatchBytesMax: undefined,
  onOpTooLarge: undefined,
  inflightBatchesMax: 16,
  antiEntropyIntervalMs: 30_000,
  pullLimit: PULL_OPS_MAX,
  fanoutExtra: undefined,
  fanoutClusterSizeMin: FANOUT_CLUSTER_SIZE_MIN,
  clusterSize: undefined,
  fanoutPullIntervalMs: FANOUT_PULL_INTERVAL_MS,
  random: () => 0,
  clock: undefined,
};

/**
 * How much longer than twice the fastest ack of a connection its smoothed ack round trip may
 * grow before the send window halves: the queueing delay this node's batches may add on a path,
 * and the time a loaded peer may take over applying them. LEDBAT's target (RFC 6817). Twice the
 * fastest, because a path's jitter alone (a round trip of 300-700 ms) is no queue.
 */
export const SEND_QUEUEING_DELAY_MAX_MS = 100;

/**
 * A batch unacknowledged this many smoothed round trips after it went out is taken as lost: its
 * slot in the window is freed, the window halves (a loss is a congestion signal, as in TCP), and
 * its ops are re-sent from the op-log once the queue drains. A connection that loses a frame
 * without closing (a lossy path in the simulator; TCP would retransmit) would otherwise hold the
 * slot for good, and a window of lost slots sends nothing.
 */
export const SEND_ACK_TIMEOUT_RTTS = 4;

/** The least time before an unacknowledged batch is taken as lost, whatever the round trip. */
export const SEND_ACK_TIMEOUT_MIN_MS = 2_000;

/**
 * The most a connection's least ack timeout grows to after spurious losses (see
 * EXPIRED_BATCHES_REMEMBERED): a peer slower than this is treated as losing batches.
 */
export const SEND_ACK_TIMEOUT_MAX_MS = 30_000;

/**
 * Batches taken as lost that a connection remembers (id and send time), so that a late ack of one
 * shows the loss was spurious, as TCP's Eifel detection does (RFC 4015): the batch was slow, not
 * lost. The connection's least timeout then becomes twice that ack's round trip (up to
 * SEND_ACK_TIMEOUT_MAX_MS). Without it a peer loaded past 2 s per ack had every batch re-sent:
 * each op applied 2.7 times in a ten-node gate run, and the extra work kept the peer behind.
 */
export const EXPIRED_BATCHES_REMEMBERED = 64;

/** K of the K-fanout for a cluster of `clusterSize` nodes: ceil(log2(N)) + `extra`, at least 1. */
export function fanoutOf(clusterSize: number, extra: number): number {
  return Math.max(1, Math.ceil(Math.log2(Math.max(1, clusterSize))) + extra);
}

/** Disconnected peers whose unacknowledged ops are remembered for repair on reconnect. */
export const UNACKED_PEERS_MAX = 1024;

/**
 * Peers whose latest reported version vector is remembered (`reportedVectors`): connected ones
 * and those gone since, so a partitioned peer's last state stays visible; past it the oldest report
 * is forgotten.
 */
export const REPORTED_VECTORS_MAX = 1024;

/** The version vector a peer sent in its latest PullSince, and when it arrived (`nowMs` time). */
export interface ReportedVector {
  readonly vector: VersionVector;
  readonly atMs: number;
}

/** A message for one peer, produced by the engine for the I/O layer to send. */
export interface Outgoing<Op> {
  readonly peer: NodeId;
  readonly message: SessionMessage<Op>;
}

/** Counters the node turns into metrics; the engine only counts. */
export interface SyncEngineStats {
  opsQueued: number;
  opsShed: number;
  opsSent: number;
  batchesSent: number;
  remoteOpsReceived: number;
  remoteOpsApplied: number;
  antiEntropyRounds: number;
  snapshotsSent: number;
  snapshotsApplied: number;
  /** Relays skipped because the peer gets those origins' ops another way. */
  opsPruned: number;
  /** Times a peer's send window halved (its acks came back late, or a batch was lost). */
  sendWindowCuts: number;
  /** Batches unacknowledged past their timeout (SEND_ACK_TIMEOUT_RTTS), taken as lost and repaired. */
  batchesLost: number;
  /** Of those, batches whose ack came later after all (EXPIRED_BATCHES_REMEMBERED): the connection's timeout grew. */
  batchesLostSpuriously: number;
  /** Ops left out of a peer's batches because no frame it reads can carry them (see `onOpTooLarge`). */
  opsTooLarge: number;
}

interface InflightBatch<Op> {
  readonly ops: readonly Op[];
  /** Drained from the push queue (local and relayed ops), as opposed to a pull answer or a repair. */
  readonly pushed: boolean;
  /** The peer's pulls received before it was sent (see `#afterOnTheWay`). */
  readonly sentAfterPulls: number;
  /** `clock` time it was sent. */
  readonly sentMs: number;
}

interface PeerSession<Op> {
  readonly nodeId: NodeId;
  /** `batchBytes`, cut to what the peer reads (`peerBatchBytesMax`). */
  readonly batchBytes: OpBytesBudget<Op> | undefined;
  /** The largest frame the peer reads, as it announced it (undefined: builds before the announcement). */
  readonly peerMaxMessageSizeBytes: number | undefined;
  queue: Op[];
  /**
   * A snapshot answer taken while this node's own ops up to `untilSeq` were not all durable:
   * sent once they are (the state carries them), so a crash cannot leave the peer holding ops
   * whose sequence numbers the restarted node reuses.
   */
  heldSnapshot: { readonly parts: readonly PushStateMessage[]; readonly untilSeq: number } | undefined;
  /** Unacknowledged batches: their ops are repaired on the next session if this one ends first. */
  inflight: Map<number, InflightBatch<Op>>;
  /**
   * Origins whose ops are not relayed to this peer: it acknowledged a relayed batch of them with
   * nothing new, so it receives them another way (Plumtree's prune). Local ops are always sent.
   */
  pruned: Set<NodeId>;
  nextBatchId: number;
  lastAntiEntropyMs: number;
  /** PullSince messages received from the peer in this session. */
  pullsReceived: number;
  /** Unacknowledged batches allowed (a fraction grows towards the next whole one). */
  windowBatches: number;
  /** The fastest ack round trip of this session: the path's delay with no queue. */
  baseRttMs: number;
  /** The ack round trip, smoothed (an EWMA of 1/8, as TCP's SRTT); undefined before the first ack. */
  smoothedRttMs: number | undefined;
  /** When the window last halved: once per round trip, for the acks of one burst are late together. */
  windowCutAtMs: number;
  /** The least time before a batch is taken as lost: SEND_ACK_TIMEOUT_MIN_MS, raised by spurious losses. */
  ackTimeoutMinMs: number;
  /** Batches taken as lost, by id, with their send time (at most EXPIRED_BATCHES_REMEMBERED). */
  expired: Map<number, number>;
  /**
   * The peer's latest pull showed it stale (`isStale`): what it pushes is acknowledged and
   * dropped, its snapshots ignored, until a pull shows it took the replacing snapshot.
   */
  stale: boolean;
  /**
   * Ops were shed for this peer: per origin, the sequence after which it may lack ops. Once the
   * queue is empty they are re-sent from the op-log, so a burst never waits for the peer's next pull.
   */
  repairAfter: Map<NodeId, number> | undefined;
  /**
   * This node's own ops were shed for this peer (its queue was full) and wait in `repairAfter`:
   * its later ones wait for that repair too (see `#enqueue`). Cleared when the repair ends.
   */
  localShed: boolean;
  /**
   * While `localShed`: how many of the queue's first ops must go before this node's own ops may
   * be repaired beside the queue (the last own op queued before the shed is among them), and
   * whether the next batch is the repair's (`#drain`: the two take turns).
   */
  ownQueuedAhead: number;
  repairTurn: boolean;
  /**
   * Origins of `repairAfter` that continue a pull answer: the peer asked for them. The others
   * were shed (or unacknowledged), and once the peer prunes such an origin it gets its ops
   * directly: their repair is dropped, as their relay is.
   */
  repairAsked: Set<NodeId>;
  /**
   * While a repair is under way: per origin, the sequences pushed from the queue since it began.
   * The repair reads every op above its marks from the op-log, these too: it skips them.
   */
  pushedDuringRepair: Map<NodeId, Set<number>>;
}

/**
 * The sync state machine of one node: fed by local ops, peer messages and timer ticks, it
 * returns the messages to send. No sockets, timers or clocks inside (time arrives as `nowMs`),
 * so the same code runs in a real node and in the deterministic simulator.
 *
 * Propagation: local ops are queued for every connected peer and sent in PushOps batches;
 * ops that arrive from a peer and are new here are relayed to every other peer (gossip; the
 * replica's OpId de-duplication ends loops). Repair: on connect, and every
 * `antiEntropyIntervalMs`, the node sends its version vector in a PullSince and the peer answers
 * with exactly the ops it lacks.
 */
export class SyncEngine<Op> {
  readonly #replica: SyncReplica<Op>;
  readonly #options: SyncEngineOptions<Op>;
  readonly #sessions = new Map<NodeId, PeerSession<Op>>();
  /** Per disconnected peer: per origin, the sequence after which it may lack ops we sent or queued. */
  readonly #unacked = new Map<NodeId, Map<NodeId, number>>();
  /** Per peer, its latest PullSince's vector; in the order they arrived, oldest first. */
  readonly #reported = new Map<NodeId, ReportedVector>();
  readonly stats: SyncEngineStats = {
    opsQueued: 0,
    opsShed: 0,
    opsSent: 0,
    batchesSent: 0,
    remoteOpsReceived: 0,
    remoteOpsApplied: 0,
    antiEntropyRounds: 0,
    snapshotsSent: 0,
    snapshotsApplied: 0,
    opsPruned: 0,
    sendWindowCuts: 0,
    batchesLost: 0,
    batchesLostSpuriously: 0,
    opsTooLarge: 0,
  };

  /** The highest sequence of this node's own ops known durable: handed to `localOps`, or loaded at start. */
  #localDurableSeq: number;
  /** With fanout: the peers still to be pulled from in this pass, and when the last pull went. */
  #pullOrder: NodeId[] = [];
  #lastFanoutPullMs = 0;

  constructor(replica: SyncReplica<Op>, options: Partial<SyncEngineOptions<Op>> = {}) {
    this.#replica = replica;
    // What the replica holds when the engine starts was read from the store: durable.
    this.#localDurableSeq = replica.versionVector().get(replica.localOrigin()) ?? 0;
    // Each engine its own stream: engines of one process (the simulator's) must not share one.
    this.#options = { ...DEFAULT_SYNC_ENGINE_OPTIONS, random: createSeededRandom(1).next, ...options };
    const { batchOpsMax } = this.#options;
    if (!Number.isSafeInteger(batchOpsMax) || batchOpsMax < 1 || batchOpsMax > PUSH_OPS_OPS_MAX) {
      throw new RangeError(
        `batchOpsMax must be within 1..${PUSH_OPS_OPS_MAX} (PUSH_OPS_OPS_MAX), got ${batchOpsMax}`,
      );
    }
  }

  connectedPeers(): NodeId[] {
    return [...this.#sessions.keys()];
  }

  /**
   * What each peer last said it holds: the vector of its latest PullSince (sent when it connects
   * and every anti-entropy interval), kept after it disconnects. For the convergence view.
   */
  reportedVectors(): ReadonlyMap<NodeId, ReportedVector> {
    return this.#reported;
  }

  /** Ops queued for sending, over all peers (0 means everything queued was handed to the transport). */
  queuedOps(): number {
    let total = 0;
    for (const session of this.#sessions.values()) total += session.queue.length;
    return total;
  }

  /** The longest of the per-peer send queues (each bounded by `queuedOpsLimit`). */
  longestQueue(): number {
    let longest = 0;
    for (const session of this.#sessions.values()) longest = Math.max(longest, session.queue.length);
    return longest;
  }

  /** Batches sent and not yet acknowledged, over all peers. */
  inflightBatches(): number {
    let total = 0;
    for (const session of this.#sessions.values()) total += session.inflight.size;
    return total;
  }

  /** The send windows (unacknowledged batches allowed), summed over the peers. */
  sendWindowBatches(): number {
    let total = 0;
    for (const session of this.#sessions.values()) total += Math.floor(session.windowBatches);
    return total;
  }

  /** The slowest peer's smoothed ack round trip, in ms (0 before any ack, or without `clock`). */
  ackRttMs(): number {
    let slowest = 0;
    for (const session of this.#sessions.values()) slowest = Math.max(slowest, session.smoothedRttMs ?? 0);
    return slowest;
  }

  /**
   * A handshake with `peer` completed: asks for what this node lacks (the peer does the same).
   * `peerMaxMessageSizeBytes`: the largest frame the peer reads, as it announced it (undefined
   * from builds before the announcement).
   */
  peerConnected(peer: NodeId, nowMs: number, peerMaxMessageSizeBytes?: number): Outgoing<Op>[] {
    const session: PeerSession<Op> = {
      nodeId: peer,
      batchBytes: this.#batchBytesFor(peerMaxMessageSizeBytes),
      peerMaxMessageSizeBytes,
      queue: [],
      inflight: new Map(),
      pruned: new Set(),
      nextBatchId: 1,
      lastAntiEntropyMs: nowMs,
      pullsReceived: 0,
      windowBatches: this.#options.inflightBatchesMax,
      baseRttMs: Number.POSITIVE_INFINITY,
      smoothedRttMs: undefined,
      windowCutAtMs: Number.NEGATIVE_INFINITY,
      ackTimeoutMinMs: SEND_ACK_TIMEOUT_MIN_MS,
      expired: new Map(),
      stale: false,
      repairAfter: undefined,
      localShed: false,
      ownQueuedAhead: 0,
      repairTurn: false,
      repairAsked: new Set(),
      pushedDuringRepair: new Map(),
      heldSnapshot: undefined,
    };
    session.repairAfter = this.#unacked.get(peer);
    this.#unacked.delete(peer);
    this.#sessions.set(peer, session);
    this.#forgetPrunes();
    // Pull even when the Hello said the peer has nothing new: its vector was read at the
    // handshake, and ops it made since may have gone out on a connection that just closed.
    const out = [this.#pull(session, nowMs)];
    out.push(...this.#drain(session));
    return out;
  }

  #batchBytesFor(peerMaxMessageSizeBytes: number | undefined): OpBytesBudget<Op> | undefined {
    const { batchBytes, peerBatchBytesMax } = this.#options;
    if (batchBytes === undefined || peerBatchBytesMax === undefined || peerMaxMessageSizeBytes === undefined)
      return batchBytes;
    const bytesMax = Math.min(batchBytes.bytesMax, peerBatchBytesMax(peerMaxMessageSizeBytes));
    return bytesMax === batchBytes.bytesMax ? batchBytes : { ...batchBytes, bytesMax };
  }

  /**
   * The connection ended. Ops still queued or sent without an ack may never have arrived:
   * they are re-sent from the op-log when the peer connects again.
   */
  peerDisconnected(peer: NodeId, nowMs: number): Outgoing<Op>[] {
    const session = this.#sessions.get(peer);
    if (session === undefined) return [];
    this.#sessions.delete(peer);
    this.#rememberUnacked(session);
    // The topology changed: a path some peer pruned may have run through the lost peer. A pull
    // to every remaining peer fetches what went missing and makes each of them relay to us again.
    this.#forgetPrunes();
    return [...this.#sessions.values()].map((other) => this.#pull(other, nowMs));
  }

  #rememberUnacked(session: PeerSession<Op>): void {
    const peer = session.nodeId;
    const pending = [...session.inflight.values()].flatMap((batch) => batch.ops);
    for (const op of session.queue) pending.push(op);
    if (pending.length === 0 && session.repairAfter === undefined) return;
    const repairAfter = new Map(session.repairAfter ?? this.#unacked.get(peer) ?? []);
    for (const op of pending) {
      const { origin, seq } = this.#replica.idOf(op);
      const after = repairAfter.get(origin);
      if (after === undefined || seq - 1 < after) repairAfter.set(origin, seq - 1);
    }
    this.#unacked.set(peer, repairAfter);
    // Bounded: past it the oldest peer's repair is left to its own anti-entropy pulls.
    if (this.#unacked.size > UNACKED_PEERS_MAX) this.#unacked.delete(this.#unacked.keys().next().value!);
  }

  /** Queues ops made on this node for every connected peer; they are durable here (see {@link SyncEngine.localOps}'s caller). */
  localOps(ops: readonly Op[]): void {
    for (const op of ops) {
      const { seq } = this.#replica.idOf(op);
      if (seq > this.#localDurableSeq) this.#localDurableSeq = seq;
    }
    for (const session of this.#targets(undefined)) this.#enqueue(session, ops);
  }

  /**
   * The sessions a batch goes to: every connected one (but `source`'s), or with fanout in a
   * cluster of at least `fanoutClusterSizeMin`, K of them chosen at random (a partial
   * Fisher-Yates shuffle).
   */
  #targets(source: PeerSession<Op> | undefined, relayed?: readonly Op[]): PeerSession<Op>[] {
    const { fanoutExtra, random } = this.#options;
    if (fanoutExtra === undefined || !this.#fanoutActive())
      return [...this.#sessions.values()].filter((session) => session !== source);
    // The K are drawn from the peers that still want some of these ops: a peer that pruned every
    // origin of a relay gets them another way, and a draw spent on it would shrink the fanout.
    const others = [...this.#sessions.values()].filter(
      (session) =>
        session !== source &&
        (relayed === undefined ||
          session.pruned.size === 0 ||
          relayed.some((op) => !session.pruned.has(this.#replica.idOf(op).origin))),
    );
    const k = fanoutOf(this.#members(), fanoutExtra);
    if (others.length <= k) return others;
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(random() * (others.length - i));
      [others[i], others[j]] = [others[j]!, others[i]!];
    }
    return others.slice(0, k);
  }

  /**
   * Ops read from the op-log for a pull answer or a repair, less this node's own ops not yet
   * durable: the log holds them from the moment they are made, and one sent before its commit
   * and lost in a crash would have its sequence number reused (docs/storage.md). They reach the
   * peer by push once durable.
   */
  #durableOnly(ops: readonly Op[]): readonly Op[] {
    const local = this.#replica.localOrigin();
    const durable = this.#localDurableSeq;
    if (
      ops.every((op) => {
        const { origin, seq } = this.#replica.idOf(op);
        return origin !== local || seq <= durable;
      })
    )
      return ops;
    return ops.filter((op) => {
      const { origin, seq } = this.#replica.idOf(op);
      return origin !== local || seq <= durable;
    });
  }

  receive(peer: NodeId, message: SessionMessage<Op>, nowMs: number): Outgoing<Op>[] {
    const session = this.#sessions.get(peer);
    if (session === undefined) return [];
    switch (message.type) {
      case "PushOps": {
        const { fresh, out } = this.applyPushed(peer, message.ops);
        out.push(...this.pushedDone(peer, message, fresh.length));
        return out;
      }
      case "PushOpsAck": {
        const batch = session.inflight.get(message.batchId);
        session.inflight.delete(message.batchId);
        if (batch !== undefined) this.#timeAck(session, batch);
        else this.#noteSpuriousLoss(session, message.batchId);
        if (batch?.pushed === true && message.applied === 0) this.#prune(session, batch.ops);
        return this.#drain(session);
      }
      case "PullSince": {
        this.#reported.delete(peer);
        this.#reported.set(peer, { vector: message.versionVector, atMs: nowMs });
        if (this.#reported.size > REPORTED_VECTORS_MAX)
          this.#reported.delete(this.#reported.keys().next().value!);
        // A pull also asks to be relayed to again (Plumtree's graft): the peer's paths changed.
        session.pruned.clear();
        const out: Outgoing<Op>[] = [];
        session.stale = this.#replica.isStale(message.versionVector, peer);
        if (session.stale) {
          this.#sendSnapshot(
            session,
            this.#replica.snapshotParts(true, session.peerMaxMessageSizeBytes),
            out,
          );
          return out;
        }
        const lacking = this.#afterOnTheWay(session, message.versionVector);
        if (this.#replica.needsSnapshot(lacking))
          this.#sendSnapshot(
            session,
            this.#replica.snapshotParts(false, session.peerMaxMessageSizeBytes),
            out,
          );
        const limit = Math.min(message.limit, this.#options.pullLimit);
        const ops = this.#replica.opsSince(lacking, limit);
        out.push(...this.#sendBatches(session, this.#durableOnly(ops)));
        if (ops.length >= limit) this.#continueAnswer(session, lacking, ops);
        return out;
      }
      case "PushState":
        this.applySnapshotPart(peer, message);
        return [];
      case "Ping": // keepalive belongs to the connection, which never hands these up
      case "Pong":
      case "Publish": // module messages, not state: the PeerManager hands them to the node's modules
      case "PeerAddresses": // peer exchange, not state: the PeerManager hands them to discovery
      case "MemberPing": // membership, not state: the PeerManager hands them to the membership service
      case "MemberAck":
      case "MemberPingReq":
      case "MemberNack":
      case "MemberSync":
      case "Error":
        return [];
    }
  }

  /** Sends a snapshot's parts, or holds them until this node's own ops they carry are durable. */
  #sendSnapshot(session: PeerSession<Op>, parts: readonly PushStateMessage[], out: Outgoing<Op>[]): void {
    this.stats.snapshotsSent++;
    const untilSeq = this.#replica.versionVector().get(this.#replica.localOrigin()) ?? 0;
    if (untilSeq <= this.#localDurableSeq)
      for (const part of parts) out.push({ peer: session.nodeId, message: part });
    else session.heldSnapshot = { parts, untilSeq };
  }

  /** Merges a PushState part from `peer` (what `receive` does with one); returns the objects it changed here. */
  applySnapshotPart(peer: NodeId, part: PushStateMessage): readonly ChangedObject[] {
    const session = this.#sessions.get(peer);
    if (session === undefined || session.stale) return [];
    const changed = this.#replica.applySnapshotPart(part);
    if (part.final) this.stats.snapshotsApplied++;
    return changed;
  }

  /**
   * Applies ops of a PushOps from `peer` (all of them, or one slice: the I/O layer may apply a
   * large batch in slices, yielding between them) and relays the new ones to every other peer.
   * Returns the ops that were new here. Once every slice is applied, `pushedDone` acknowledges
   * the batch.
   */
  applyPushed(peer: NodeId, ops: readonly Op[]): { fresh: readonly Op[]; out: Outgoing<Op>[] } {
    const session = this.#sessions.get(peer);
    if (session === undefined || session.stale) return { fresh: [], out: [] };
    this.stats.remoteOpsReceived += ops.length;
    const fresh = this.#replica.applyRemote(ops);
    this.stats.remoteOpsApplied += fresh.length;
    const out: Outgoing<Op>[] = [];
    if (fresh.length === 0) return { fresh, out };
    // Relay at once: the incoming batch already gives the batching, and waiting for a tick would add latency per hop.
    for (const other of this.#targets(session, fresh)) {
      const relayed =
        other.pruned.size === 0
          ? fresh
          : fresh.filter((op) => !other.pruned.has(this.#replica.idOf(op).origin));
      this.stats.opsPruned += fresh.length - relayed.length;
      if (relayed.length === 0) continue;
      this.#enqueue(other, relayed);
      out.push(...this.#drain(other));
    }
    return { fresh, out };
  }

  /** Every op of `message` went through `applyPushed`, `applied` of them new: acknowledges it. */
  pushedDone(peer: NodeId, message: PushOpsMessage<Op>, applied: number): Outgoing<Op>[] {
    const session = this.#sessions.get(peer);
    if (session === undefined) return [];
    return [{ peer, message: { type: "PushOpsAck", batchId: message.batchId, applied } }];
  }

  /** Timer input: sends queued batches and runs due anti-entropy rounds. */
  tick(nowMs: number): Outgoing<Op>[] {
    const out: Outgoing<Op>[] = [];
    for (const session of this.#sessions.values()) {
      this.#expireLost(session);
      out.push(...this.#drain(session));
      if (nowMs - session.lastAntiEntropyMs >= this.#options.antiEntropyIntervalMs)
        out.push(this.#pull(session, nowMs));
    }
    if (this.#pullsDue() && nowMs - this.#lastFanoutPullMs >= this.#options.fanoutPullIntervalMs) {
      this.#lastFanoutPullMs = nowMs;
      const session = this.#nextPullPeer();
      if (session !== undefined) out.push(this.#pull(session, nowMs));
    }
    return out;
  }

  /** N of the fanout: the live members, at least the connected peers and this node. */
  #members(): number {
    return Math.max(this.#options.clusterSize?.() ?? 0, this.#sessions.size + 1);
  }

  /**
   * Whether the periodic pulls run. Once every peer pruned an origin towards this node (each
   * saw one batch of it acknowledged as a duplicate: the op came another way first), no relay
   * carries that origin's next ops here, and only a pull brings them (and grafts). So they run
   * whenever some live member is not a peer, whose ops reach this node through relays only (a
   * bounded set of connections, below `fanoutClusterSizeMin` too). Connected to every live member, each origin pushes its own ops
   * here and never prunes them: then, and when the K of the fanout covers every peer, a pull
   * would only clear the peer's prunes (the graft), bringing back the relays that deliver each
   * op twice (in a 3-node cluster under load: a third of every node's CPU, and the lagging
   * vectors those pulls carried drew whole snapshots).
   */
  #pullsDue(): boolean {
    const relayedOnly = this.#members() > this.#sessions.size + 1;
    return this.#fanoutActive() ? relayedOnly || !this.#fanoutCoversEveryPeer() : relayedOnly;
  }

  /** Whether the K of the fanout is at least the connected peers (every batch goes to each). */
  #fanoutCoversEveryPeer(): boolean {
    return this.#sessions.size <= fanoutOf(this.#members(), this.#options.fanoutExtra ?? 0);
  }

  /**
   * K-fanout and its pulls run: configured, and the cluster is large enough for them to cost
   * less than the pruned full relay. Below, a fanout pull every 250 ms would also undo the
   * relay's pruning (a pull grafts), which made it dearer than either.
   */
  #fanoutActive(): boolean {
    return this.#options.fanoutExtra !== undefined && this.#members() >= this.#options.fanoutClusterSizeMin;
  }

  /** Round robin over a list of the connected peers shuffled at each pass. */
  #nextPullPeer(): PeerSession<Op> | undefined {
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.#pullOrder.length > 0) {
        const session = this.#sessions.get(this.#pullOrder.pop()!);
        if (session !== undefined) return session;
      }
      this.#pullOrder = [...this.#sessions.keys()];
      for (let i = this.#pullOrder.length - 1; i > 0; i--) {
        const j = Math.floor(this.#options.random() * (i + 1));
        [this.#pullOrder[i], this.#pullOrder[j]] = [this.#pullOrder[j]!, this.#pullOrder[i]!];
      }
    }
    return undefined;
  }

  /** Sends whatever is queued now, within each peer's window (called right after local ops for low latency). */
  flush(): Outgoing<Op>[] {
    const out: Outgoing<Op>[] = [];
    for (const session of this.#sessions.values()) out.push(...this.#drain(session));
    return out;
  }

  #pull(session: PeerSession<Op>, nowMs: number): Outgoing<Op> {
    this.stats.antiEntropyRounds++;
    session.lastAntiEntropyMs = nowMs;
    return {
      peer: session.nodeId,
      message: {
        type: "PullSince",
        versionVector: this.#replica.versionVector(),
        limit: this.#options.pullLimit,
      },
    };
  }

  #enqueue(session: PeerSession<Op>, ops: readonly Op[]): void {
    const room = this.#options.queuedOpsLimit - session.queue.length;
    // With room, only this node's ops after a shed of them (`localShed`) are held back: any other
    // repair leaves the batch to the queue whole, without a look at each op.
    if (room >= ops.length && !session.localShed) {
      for (const op of ops) session.queue.push(op);
      this.stats.opsQueued += ops.length;
      return;
    }
    const local = this.#replica.localOrigin();
    let queued = 0;
    // Ops left to the repair while the queue had room: not shed (the metric is a full queue's drop).
    let behind = 0;
    for (const op of ops) {
      const { origin, seq } = this.#replica.idOf(op);
      const after = session.repairAfter?.get(origin);
      // Once this node's own ops were shed for the peer (its queue full: it reads slower than this
      // node writes), its later ones are left to the repair too, which reads them from the op-log
      // in sequence order: queued, they reached the peer before the ops under repair, above a gap
      // (a sparse seen entry, an out-of-order op-log insert and two store writes there per op, and
      // a version vector stuck at the gap until the repair ended). Not after a lost batch or a
      // reconnect: that repair is short, and new ops waiting for it converged later in the
      // simulator. Relays are still queued: their pushes are what tells this node the peer gets an
      // origin directly (a batch acknowledged with nothing new prunes it), and a repair of an
      // origin it pruned stops.
      const behindRepair = origin === local && session.localShed && after !== undefined && seq > after;
      if (!behindRepair && queued < room) {
        session.queue.push(op);
        queued++;
        continue;
      }
      if (behindRepair && queued < room) behind++;
      // Shed rather than grow without bound: the ops are durable in the op-log, re-sent from there
      // once this peer's queue drains (and the peer's own anti-entropy pull would fetch them too).
      if (origin === local && !session.localShed) {
        session.localShed = true;
        session.ownQueuedAhead = this.#ownQueuedAhead(session.queue, local);
      }
      session.repairAfter ??= new Map();
      if (after === undefined || seq - 1 < after) session.repairAfter.set(origin, seq - 1);
    }
    this.stats.opsQueued += queued;
    this.stats.opsShed += ops.length - queued - behind;
  }

  /** How many of `queue`'s first ops reach its last op of origin `local` (0: none queued). */
  #ownQueuedAhead(queue: readonly Op[], local: NodeId): number {
    for (let i = queue.length - 1; i >= 0; i--)
      if (this.#replica.idOf(queue[i]!).origin === local) return i + 1;
    return 0;
  }

  /**
   * The puller's `vector` advanced past the ops already on their way to it (sent and not yet
   * acknowledged), origin by origin while their sequences are contiguous. Under load a peer's
   * vector trails this node's by about the send window (16 batches of 1024 ops): read as it is,
   * an anti-entropy pull was answered with every op in flight again and, once the op-log had
   * moved past the start of the window, with a snapshot of the whole state. An op in flight
   * arrives, or is repaired when the connection drops (`#rememberUnacked`). A batch still
   * unacknowledged at the peer's next pull after the one that found it in flight is taken as
   * lost (dropped without the connection closing): that pull re-sends its ops. Queued ops do not
   * count: a window held by lost batches may never let them out.
   */
  #afterOnTheWay(session: PeerSession<Op>, vector: VersionVector): VersionVector {
    const since = session.pullsReceived++;
    const inFlight = new Map<NodeId, Set<number>>();
    for (const batch of session.inflight.values()) {
      if (batch.sentAfterPulls < since) continue;
      for (const op of batch.ops) {
        const { origin, seq } = this.#replica.idOf(op);
        let seqs = inFlight.get(origin);
        if (seqs === undefined) {
          seqs = new Set();
          inFlight.set(origin, seqs);
        }
        seqs.add(seq);
      }
    }
    if (inFlight.size === 0) return vector;
    const advanced = new Map(vector);
    for (const [origin, seqs] of inFlight) {
      let seq = vector.get(origin) ?? 0;
      while (seqs.has(seq + 1)) seq++;
      advanced.set(origin, seq);
    }
    return advanced;
  }

  /**
   * A pull answer came full: the puller lacks more. The rest goes out as a repair from the op-log
   * (one batch per ack, within the window) rather than the puller asking again. The puller cannot
   * tell an answer from the pushes that share the connection, so counting answers on its side
   * made every PULL_OPS_MAX ops pushed in steady state look like a full answer: a pull each
   * time, each answered with ops already in flight (duplicates to decode and dedup), or with a
   * whole snapshot once those were past the op-log's floor.
   */
  #continueAnswer(session: PeerSession<Op>, pulled: VersionVector, sent: readonly Op[]): void {
    const repairAfter = new Map(session.repairAfter ?? []);
    for (const [origin, seq] of pulled) {
      const after = repairAfter.get(origin);
      if (after === undefined || seq < after) repairAfter.set(origin, seq);
    }
    // Every origin the answer could have carried, those held only out of order too (the version
    // vector has no entry for them): the puller asked for all it lacks.
    for (const origin of this.#replica.heldOrigins()) {
      if (!pulled.has(origin) && !repairAfter.has(origin)) repairAfter.set(origin, 0);
    }
    for (const op of sent) {
      const { origin, seq } = this.#replica.idOf(op);
      if (seq > (repairAfter.get(origin) ?? seq)) repairAfter.set(origin, seq);
    }
    session.repairAfter = repairAfter;
    for (const origin of repairAfter.keys()) session.repairAsked.add(origin);
  }

  /**
   * Re-sends shed ops from the op-log while the window has room; clears the repair once caught up.
   * With `only` (this node's own origin, beside a queue that never empties: `#drain`), that
   * origin's ops alone, and only its repair ends when it has caught up.
   */
  #repair(session: PeerSession<Op>, only?: NodeId): Outgoing<Op>[] {
    const repairAfter = session.repairAfter;
    const room = Math.floor(session.windowBatches) - session.inflight.size;
    if (repairAfter === undefined || (session.queue.length > 0 && only === undefined) || room <= 0) return [];
    if (only !== undefined && !repairAfter.has(only)) return [];
    // Shed relays of an origin the peer has since pruned reach it directly: re-sending them from
    // the op-log only made duplicates for it to decode (under overload, ten times the ops applied).
    for (const origin of session.pruned) if (!session.repairAsked.has(origin)) repairAfter.delete(origin);
    // One batch per call (each ack and tick calls again): a burst shed by a slow peer is read
    // back from the op-log in steps, never in one long stall.
    // Batches whose every op already went out from the queue send nothing: read on until one has
    // something to send (the ops read are at most those pushed, plus one batch).
    for (;;) {
      const vector = new Map(this.#replica.versionVector());
      // From each origin's mark, not below it: an origin held out of order (its vector entry under
      // the mark, or none) would otherwise be read from the same place again and again.
      for (const [origin, seq] of repairAfter) vector.set(origin, seq);
      const limit = this.#options.batchOpsMax;
      const batchBytes = session.batchBytes;
      // Only the origins under repair: ops of others held above the vector (out of order) are not
      // this repair's to send, and read here they were sent again with every batch, crowding out
      // the ops the repair is for. One batch's worth, in bytes too: read by ops alone, a repair of
      // large ops read about 1,000 to send 10, on every ack.
      const origins = only === undefined ? new Set(repairAfter.keys()) : new Set([only]);
      const ops = this.#replica.opsSince(vector, limit, origins, batchBytes);
      // A read cut by bytes may end short of `limit` with more to come: then only an empty one
      // says the repair is done.
      const done = ops.length === 0 || (batchBytes === undefined && ops.length < limit);
      const unsent = this.#durableOnly(ops).filter((op) => {
        const { origin, seq } = this.#replica.idOf(op);
        return session.pushedDuringRepair.get(origin)?.has(seq) !== true;
      });
      if (!done) {
        for (const op of ops) {
          const { origin, seq } = this.#replica.idOf(op);
          if (seq > (repairAfter.get(origin) ?? seq)) repairAfter.set(origin, seq);
        }
      } else {
        session.localShed = false;
        if (only !== undefined && repairAfter.size > 1) {
          // Its own ops caught up; the relays' repair goes on once the queue is empty.
          repairAfter.delete(only);
          session.pushedDuringRepair.delete(only);
        } else {
          session.repairAfter = undefined;
          session.repairAsked.clear();
          session.pushedDuringRepair.clear();
        }
      }
      if (unsent.length > 0 || done) return this.#sendBatches(session, unsent);
    }
  }

  #notePushedDuringRepair(session: PeerSession<Op>, ops: readonly Op[]): void {
    for (const op of ops) {
      const { origin, seq } = this.#replica.idOf(op);
      let seqs = session.pushedDuringRepair.get(origin);
      if (seqs === undefined) {
        seqs = new Set();
        session.pushedDuringRepair.set(origin, seqs);
      }
      seqs.add(seq);
    }
  }

  /** An ack came back: the send window adapts to its round trip (see SyncEngineOptions.clock). */
  #timeAck(session: PeerSession<Op>, batch: Pick<InflightBatch<Op>, "sentMs">): void {
    const { clock, inflightBatchesMax } = this.#options;
    if (clock === undefined) return;
    const nowMs = clock();
    const rttMs = nowMs - batch.sentMs;
    session.baseRttMs = Math.min(session.baseRttMs, rttMs);
    session.smoothedRttMs =
      session.smoothedRttMs === undefined
        ? rttMs
        : session.smoothedRttMs + (rttMs - session.smoothedRttMs) / 8;
    if (session.smoothedRttMs - 2 * session.baseRttMs > SEND_QUEUEING_DELAY_MAX_MS)
      this.#cutWindow(session, nowMs);
    else
      session.windowBatches = Math.min(inflightBatchesMax, session.windowBatches + 1 / session.windowBatches);
  }

  /** Halves the send window, at most once per round trip (the acks of one burst are late together). */
  #cutWindow(session: PeerSession<Op>, nowMs: number): void {
    if (nowMs - session.windowCutAtMs < (session.smoothedRttMs ?? 0)) return;
    session.windowCutAtMs = nowMs;
    session.windowBatches = Math.max(1, Math.floor(session.windowBatches / 2));
    this.stats.sendWindowCuts++;
  }

  /**
   * The ack of a batch taken as lost came: the loss was spurious (EXPIRED_BATCHES_REMEMBERED). Its
   * round trip counts, and the connection's least timeout becomes at least twice it.
   */
  #noteSpuriousLoss(session: PeerSession<Op>, batchId: number): void {
    const sentMs = session.expired.get(batchId);
    if (sentMs === undefined) return; // a duplicated ack, or one of a batch forgotten since
    session.expired.delete(batchId);
    this.stats.batchesLostSpuriously++;
    const { clock } = this.#options;
    if (clock === undefined) return;
    const rttMs = clock() - sentMs;
    session.ackTimeoutMinMs = Math.min(SEND_ACK_TIMEOUT_MAX_MS, Math.max(session.ackTimeoutMinMs, 2 * rttMs));
    this.#timeAck(session, { sentMs });
  }

  /** Batches unacknowledged past their timeout are lost: their slots are freed, their ops repaired. */
  #expireLost(session: PeerSession<Op>): void {
    const { clock } = this.#options;
    if (clock === undefined || session.inflight.size === 0) return;
    const nowMs = clock();
    const timeoutMs = Math.max(session.ackTimeoutMinMs, SEND_ACK_TIMEOUT_RTTS * (session.smoothedRttMs ?? 0));
    let lost: Op[] | undefined;
    for (const [batchId, batch] of session.inflight) {
      if (nowMs - batch.sentMs < timeoutMs) continue;
      session.inflight.delete(batchId);
      session.expired.set(batchId, batch.sentMs);
      if (session.expired.size > EXPIRED_BATCHES_REMEMBERED)
        session.expired.delete(session.expired.keys().next().value!);
      this.stats.batchesLost++;
      lost ??= [];
      for (const op of batch.ops) lost.push(op);
    }
    if (lost === undefined) return;
    this.#cutWindow(session, nowMs);
    session.repairAfter ??= new Map();
    for (const op of lost) {
      const { origin, seq } = this.#replica.idOf(op);
      const after = session.repairAfter.get(origin);
      if (after === undefined || seq - 1 < after) session.repairAfter.set(origin, seq - 1);
    }
  }

  #drain(session: PeerSession<Op>): Outgoing<Op>[] {
    const out: Outgoing<Op>[] = [];
    const held = session.heldSnapshot;
    if (held !== undefined && held.untilSeq <= this.#localDurableSeq) {
      session.heldSnapshot = undefined;
      for (const part of held.parts) out.push({ peer: session.nodeId, message: part });
    }
    while (session.queue.length > 0 && session.inflight.size < Math.floor(session.windowBatches)) {
      // This node's own ops wait behind the repair (`#enqueue`), which otherwise runs only once the
      // queue is empty: a steady stream of relays held them back until the peer's anti-entropy
      // pull. Once the own ops queued before the shed are out, their repair takes every other batch.
      if (session.localShed && session.ownQueuedAhead === 0 && session.repairTurn) {
        session.repairTurn = false;
        const repaired = this.#repair(session, this.#replica.localOrigin());
        out.push(...repaired);
        if (repaired.length > 0) continue;
      }
      session.repairTurn = true;
      const { end, batch } = this.#cut(session, session.queue, 0);
      const taken = session.queue.splice(0, end);
      session.ownQueuedAhead = Math.max(0, session.ownQueuedAhead - taken.length);
      if (session.repairAfter !== undefined) this.#notePushedDuringRepair(session, taken);
      if (batch.length > 0) out.push(this.#batch(session, batch, true));
    }
    if (session.repairAfter !== undefined) out.push(...this.#repair(session));
    return out;
  }

  /** Answers a pull at once, outside the window: the peer asked for exactly this much. */
  #sendBatches(session: PeerSession<Op>, ops: readonly Op[]): Outgoing<Op>[] {
    const out: Outgoing<Op>[] = [];
    for (let start = 0; start < ops.length; ) {
      const { end, batch } = this.#cut(session, ops, start);
      if (batch.length > 0) out.push(this.#batch(session, batch, false));
      start = end;
    }
    return out;
  }

  /**
   * The batch of `ops` that starts at `start` (at most `batchOpsMax` ops and the session's batch
   * bytes) and where it ends. An op larger than the batch bytes alone is left out
   * (`onOpTooLarge`): no frame the peer reads carries it, and sent alone it was refused, taken as
   * lost and sent again, for good.
   */
  #cut(session: PeerSession<Op>, ops: readonly Op[], start: number): { end: number; batch: Op[] } {
    const budget = session.batchBytes;
    const end = Math.min(ops.length, start + this.#options.batchOpsMax);
    if (budget === undefined) return { end, batch: ops.slice(start, end) };
    const batch: Op[] = [];
    let bytes = 0;
    for (let index = start; index < end; index++) {
      const op = ops[index]!;
      const opBytes = budget.opBytes(op);
      if (opBytes > budget.bytesMax) {
        this.stats.opsTooLarge++;
        this.#options.onOpTooLarge?.(session.nodeId, op, opBytes, budget.bytesMax);
        continue;
      }
      bytes += opBytes;
      if (bytes > budget.bytesMax && batch.length > 0) return { end: index, batch };
      batch.push(op);
    }
    return { end, batch };
  }

  /** The peer had every op of a pushed batch already: stop relaying those origins to it (never our own). */
  #prune(session: PeerSession<Op>, ops: readonly Op[]): void {
    const local = this.#replica.localOrigin();
    for (const op of ops) {
      const { origin } = this.#replica.idOf(op);
      if (origin !== local) session.pruned.add(origin);
    }
  }

  #forgetPrunes(): void {
    for (const session of this.#sessions.values()) session.pruned.clear();
  }

  #batch(session: PeerSession<Op>, ops: readonly Op[], pushed: boolean): Outgoing<Op> {
    const batchId = session.nextBatchId++;
    session.inflight.set(batchId, {
      ops,
      pushed,
      sentAfterPulls: session.pullsReceived,
      sentMs: this.#options.clock?.() ?? 0,
    });
    this.stats.batchesSent++;
    this.stats.opsSent += ops.length;
    return { peer: session.nodeId, message: { type: "PushOps", batchId, ops } };
  }
}

/** Where the run of `ops` from `start` (before `end`) that fits `budget` ends: one op at least. */
export function bytesEnd<Op>(
  ops: readonly Op[],
  start: number,
  end: number,
  budget: OpBytesBudget<Op>,
): number {
  let bytes = 0;
  for (let index = start; index < end; index++) {
    bytes += budget.opBytes(ops[index]!);
    if (bytes > budget.bytesMax && index > start) return index;
  }
  return end;
}

/** True when `have` holds every op `other` holds (per origin, contiguous sequences). */
export function vectorCovers(have: VersionVector, other: VersionVector): boolean {
  for (const [origin, seq] of other) if ((have.get(origin) ?? 0) < seq) return false;
  return true;
}
