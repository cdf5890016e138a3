import { bytesKey } from "../../bytes/bytes-key.ts";
import { backgroundClock, type Clock, type TimerHandle } from "../../clock/clock.ts";
import type { Crdt } from "../../crdt/crdt.ts";
import { type CrdtOf, FAMILY_DEFINITIONS } from "../../crdt/crdt-families.ts";
import type { GCounter } from "../../crdt/g-counter.ts";
import { ClockDriftError, type HlcTimestamp, HybridClock } from "../../crdt/hybrid-clock.ts";
import type { LwwMap, LwwMapCell } from "../../crdt/lww-map.ts";
import type { LwwWrite } from "../../crdt/lww-register.ts";
import { crdtPackr } from "../../crdt/msgpack.ts";
import {
  CRDT_FAMILIES,
  type CrdtFamily,
  FAMILY_OF_OP_TYPE,
  type LwwMapEntryWrite,
  makeOp,
  type Op,
  type OpKind,
  opWriteCount,
} from "../../crdt/op.ts";
import { opFromMsgpackValue } from "../../crdt/op-codec.ts";
import { formatOpId, makeOpId, type OpId, opIdFromBytes, opIdToBytes } from "../../crdt/op-id.ts";
import type { PNCounter } from "../../crdt/pn-counter.ts";
import { type VersionVector, vectorCovers } from "../../crdt/version-vector.ts";
import { describeError } from "../../errors/numax-error.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES } from "../../net/frame.ts";
import { type Logger, silentLogger } from "../../observe/logger.ts";
import type { ExtendedKvBackend } from "../../store/extended-kv-backend.ts";
import { refuseWhileCommitsFail } from "../../store/store-error.ts";
import type { CrdtHost } from "../../wasm/abi/crdt-host.ts";
import { crdtOpFeature } from "../op-feature-guard.ts";
import { assertOpFits, opBytesMaxOf, removeParts } from "../op-wire-budget.ts";
import { bytesEnd, type OpBytesBudget } from "../sync-engine.ts";
import type { ChangedObject } from "../sync-events.ts";
import { CellStoreWrites } from "./cell-store-writes.ts";
import { MAP_BATCH_BYTES_MAX, MapWriteBatch } from "./map-write-batch.ts";
import { MsgpackChunks } from "./msgpack-chunks.ts";
import { OpLogIndex } from "./op-log-index.ts";
import { opLogPageRecord } from "./op-log-page-record.ts";
import {
  CLOCK_KEY,
  COMPACTION_KEY,
  CRDT_PREFIX,
  crdtObjectPrefix,
  OPLOG_PREFIX,
  opIdKey,
  originKey,
  packedRecord,
  pageKey,
  parseCellStorageKey,
  parseOpIdKey,
  parseOriginKey,
  parsePageKey,
  ReplicaStoreError,
  recordPayload,
  SEEN_PREFIX,
  VV_PREFIX,
  withVersion,
} from "./replica-layout.ts";
import { SeenOps } from "./seen-ops.ts";
import { type MemberReport, TombstoneStability } from "./tombstone-stability.ts";

/**
 * `op_log_limit`: ops kept to serve peers (see OpLogIndex for what happens at the bound). 300 000
 * covers 10-25 s of three nodes writing 4 000-10 000 distinct ops a second each (at 10 000 a
 * lagging peer got whole-state snapshots instead); the index holds 44-111 bytes of heap per op
 * (docs/LIMITS.md#replicated-state).
 */
export const DEFAULT_OP_LOG_LIMIT = 300_000;
/** `op_log_size_limit`: estimated bytes of ops kept to serve peers. */
export const DEFAULT_OP_LOG_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/** `seen_ops_limit`: out-of-order op ids remembered above the version vector (see SeenOps). */
export const DEFAULT_SEEN_OPS_LIMIT = 100_000;
/** `tombstone_horizon`: how long a silent member holds tombstone collection back (see TombstoneStability). */
export const DEFAULT_TOMBSTONE_HORIZON_MS = 7 * 24 * 3600 * 1000;
/**
 * Ops gathered into one store batch at most (group commit). A batch is written as soon as this
 * many ops are waiting, else by the rule of STORE_BATCH_INTERVAL_MS; each op is always in the
 * same batch as the cells it changed.
 */
export const OPS_PER_BATCH_MAX = 4096;

/**
 * Staged ops go to the store at most once per this many ms: an op made when the last batch is
 * older is written at the end of its synchronous run (no wait at idle), later ones wait for the
 * interval to end, amending their open op meanwhile. So a guest waking every millisecond makes
 * one op, one store batch, one commit and one push per peer every 10 ms rather than per wake
 * (each push cost 0.4-0.6 ms of node CPU on a 2-core machine: bench/reports/README.md). Nothing waits longer to be durable than it must:
 * output, HTTP replies and `flushed()` write the staged batch first (see `flush`), and peers
 * get local ops only once durable anyway. The price is up to this much more propagation latency.
 */
export const STORE_BATCH_INTERVAL_MS = 10;

/**
 * The batches staged behind their timer (STORE_BATCH_INTERVAL_MS) or the microtask that writes
 * them when the interval has passed, each as the call that writes it: a process.exit() before it runs (`nx run`'s forced exit) still hands them to their
 * stores, whose own exit hooks (added when they opened, earlier, so run later) commit them.
 */
const batchesAtExit = new Set<() => void>();

function flushBatchesAtExit(): void {
  for (const flush of batchesAtExit) flush();
}

/** Holds `flush` for process.exit() until `releaseAtExit`: one exit listener for every replica. */
function holdAtExit(flush: () => void): void {
  if (batchesAtExit.size === 0) process.prependListener("exit", flushBatchesAtExit);
  batchesAtExit.add(flush);
}

function releaseAtExit(flush: () => void): void {
  if (batchesAtExit.delete(flush) && batchesAtExit.size === 0)
    process.removeListener("exit", flushBatchesAtExit);
}

/**
 * Store writes waiting for a commit above which remote ops wait (`whenStoreHasRoom`): half the
 * LMDB store's PENDING_WRITES_MAX, past which a writer would block the node's thread instead.
 */
export const REMOTE_APPLY_PENDING_WRITES_MAX = 50_000;

export interface PeerInfo {
  readonly address: string;
  readonly nodeId: NodeId;
}

/** Hooks the sync layer plugs in (also settable after opening with `setSyncHooks`). */
export interface ReplicaSyncHooks {
  /**
   * Called by each flush with the local ops of its batch, once they are handed to the store (not
   * yet durable: `flushed()` says when): queue them for peers.
   */
  onLocalOps?: (ops: readonly Op[]) => void;
  /** The connected peers, for `net_peers`. */
  peers?: () => readonly PeerInfo[];
  /**
   * The largest op this replica makes, as `opWireBytesMax` counts it: what one PushOps carries
   * (`opBytesMaxOf(max_message_size)`, set by the sync service; default for the default
   * `max_message_size`). A larger write throws OpTooLargeError and changes nothing; an ORSet
   * remove is made as several that fit (docs/design/op-size.md).
   */
  opBytesMax?: number;
}

export interface ReplicatedStateOptions extends ReplicaSyncHooks {
  backend: ExtendedKvBackend;
  /** This node's id: certificate-derived with TLS, else from `loadOrCreateNodeId`. */
  nodeId: NodeId;
  /** Physical wall clock in Unix ms for the HLC (default Date.now). */
  nowMs?: () => number;
  logger?: Logger;
  opLogLimit?: number;
  /** Estimated bytes of ops the op-log keeps (`op_log_size_limit`). */
  opLogSizeLimitBytes?: number;
  seenOpsLimit?: number;
  /** Remote ops stamped further than this ahead of our clock are deferred (default 60 s). */
  maxClockDriftMs?: number;
  /** A member silent for longer stops holding tombstone collection back (`tombstone_horizon`). */
  tombstoneHorizonMs?: number;
  /**
   * The time tombstone stability measures the horizon on: when the replica started, when each
   * origin's ops last arrived, each compaction pass (default `backgroundClock`). Not `nowMs`, which
   * `--deterministic` makes virtual and advances at each reading: a pass must not move it. The
   * store batch timer (STORE_BATCH_INTERVAL_MS) runs on it too.
   */
  clock?: Clock;
  /**
   * `[sync] coalesce_map_writes`: local LWW-Map writes of one batch interval are made as one
   * `lww_map_batch` op per map (amended, like a counter's op) rather than one op per field.
   * Only for clusters whose every peer reads that op (the wire feature). Default false: ops and
   * bytes exactly as without it.
   */
  coalesceMapWrites?: boolean;
}

/** A member's latest reported version vector and how long ago it arrived (`compact`). */
export interface ReportedVector {
  readonly vector: VersionVector;
  readonly ageMs: number;
}

/** Everything one replica holds, for a peer too far behind for the op-log (see `compactedFor`). */
export interface ReplicaSnapshot {
  /** Every op up to these sequences is included in the state. */
  readonly vector: VersionVector;
  /**
   * Per origin, the highest sequence whose effect the state may hold: above `vector` where ops
   * were applied out of order. A receiver counts them as applied for tombstone stability.
   */
  readonly applied?: VersionVector;
  readonly objects: readonly {
    readonly family: CrdtFamily;
    readonly key: string;
    readonly cells: readonly unknown[];
  }[];
}

export interface ReplicaStats {
  readonly opLogSize: number;
  /** Estimated bytes of the ops in the op-log (what `op_log_size_limit` bounds). */
  readonly opLogBytes: number;
  readonly seenSparse: number;
  readonly localOps: number;
  readonly remoteApplied: number;
  readonly remoteDuplicates: number;
  /** Remote ops refused for clock drift (not marked seen: they come again). */
  readonly remoteDeferred: number;
  /** Tombstones dropped by `compact` since the start (cells deleted or rewritten smaller). */
  readonly tombstonesCollected: number;
}

interface ObjectEntry {
  readonly family: CrdtFamily;
  readonly key: string;
  readonly crdt: Crdt<unknown>;
  /** Storage-key prefix of its cells, computed on first write. */
  prefix: Uint8Array | undefined;
  /** Cells changed since the last flush, by cell id. */
  readonly dirty: Map<string, unknown>;
  /** Cells whose tombstones were all collected since the last flush: deleted from the store. */
  readonly dropped: Map<string, unknown>;
  /** The op with the greatest stamp applied to it since the node started (not persisted). */
  latest: { readonly origin: NodeId; readonly timestamp: HlcTimestamp } | undefined;
  /**
   * Its staged local ops still open to amendment, by what they write (see `amendKeyOf`), to
   * their index among the staged ops; undefined when it has none.
   */
  openLocalOps: Map<string, number> | undefined;
  /** A map's local writes of this batch interval, with coalesceMapWrites (see MapWriteBatch). */
  mapBatch: MapWriteBatch | undefined;
  /**
   * A counter whose own slots moved past their open ops and staged cell (`#count`), or a map
   * whose `mapBatch` took writes since its op was made: they are made anew before anything reads
   * them (`#settleAmends`).
   */
  unsettled: boolean;
}

/** One CRDT object the replica holds, and its latest change as far as this run saw it. */
export interface ReplicaObjectInfo {
  readonly family: CrdtFamily;
  readonly key: string;
  /**
   * Origin and HLC stamp of the op with the greatest stamp applied to the object since the node
   * started; undefined for an object not changed since (loaded from the store, or changed only by
   * a peer's state snapshot, which carries no writer).
   */
  readonly latest: { readonly origin: NodeId; readonly timestamp: HlcTimestamp } | undefined;
}

/** Keeps the op with the greatest stamp (ties: the greater origin, as LWW orders writes). */
function noteLatest(
  entry: ObjectEntry,
  op: { readonly origin: NodeId; readonly timestamp: HlcTimestamp },
): void {
  const latest = entry.latest;
  if (
    latest === undefined ||
    op.timestamp > latest.timestamp ||
    (op.timestamp === latest.timestamp && op.origin > latest.origin)
  ) {
    entry.latest = op; // the op (or map cell) itself: an object per op applied was garbage on the apply path
  }
}

/**
 * The node's replicated state: the six CRDT families by key, their storage under `__nx/`, the
 * op-log, the dedup metadata and the HLC. Implements the guest-facing CrdtHost and what the sync
 * layer needs (`applyRemote`, `versionVector`, `opsSince`, snapshots).
 *
 * Local op: stamp (next own sequence + HLC), apply in memory, stage the op and the cells it
 * changed for the store. Staged writes go to the store in one atomic batch at most once per
 * STORE_BATCH_INTERVAL_MS (at the end of the synchronous run when the last batch is older), after
 * OPS_PER_BATCH_MAX ops, or when `flush()` is called (group commit), and that flush hands the
 * batch's local ops to `onLocalOps`; the store makes them durable at its next commit (`flushed()`
 * waits for that).
 *
 * Until that flush a local op stays open: a later write that supersedes it (another increment of
 * the same counter, another write of the same register or map field) amends it in place, same
 * OpId, new value (and for LWW a new stamp), instead of making an op of its own. Counter ops carry the slot
 * total and LWW writes are ordered by stamp, so the amended op says everything the ops it
 * replaces would have: a guest incrementing a counter 50 times in one run costs peers one op,
 * and nobody outside the node ever saw the intermediate ones.
 *
 * @example
 * const replica = openReplicatedState({ backend, nodeId, onLocalOps: (ops) => sync.localOps(ops) });
 * replica.gcounterInc("visits", 1n);
 * const fresh = replica.applyRemote(opsFromPeer); // relay `fresh`
 */
export class ReplicatedState implements CrdtHost {
  readonly #backend: ExtendedKvBackend;
  readonly #nodeId: NodeId;
  readonly #logger: Logger;
  readonly #clock: HybridClock;
  readonly #seen: SeenOps;
  readonly #log: OpLogIndex;
  readonly #stability: TombstoneStability;
  /**
   * The op-log pages written or read last, with their ops by id: a repair or a peer catching up
   * reads the recent pages, ops of several origins each, again and again (at most
   * DECODED_PAGE_BYTES_CACHED of ops, estimated).
   */
  readonly #decodedPages = new Map<number, DecodedPage>();
  #decodedPageBytes = 0;
  readonly #objects = new Map<CrdtFamily, Map<string, ObjectEntry>>(CRDT_FAMILIES.map((f) => [f, new Map()]));
  #onLocalOps: (ops: readonly Op[]) => void = () => {};
  #peers: () => readonly PeerInfo[] = () => [];
  #opBytesMax = opBytesMaxOf(DEFAULT_MAX_MESSAGE_SIZE_BYTES);
  readonly #coalesceMapWrites: boolean;

  // Staged writes, flushed together.
  readonly #dirtyEntries = new Set<ObjectEntry>();
  readonly #chunks = new MsgpackChunks();
  readonly #cellWrites = new CellStoreWrites(this.#chunks);
  /** Ops waiting for an op-log page (evicted ones are skipped at the flush). */
  #stagedOps: Op[] = [];
  /** Where the local ops among the staged ones are, in the order they were made, for `onLocalOps`. */
  #stagedLocalOps: number[] = [];
  /** The entries with staged local ops open to amendment (their `openLocalOps`), closed at the flush. */
  readonly #entriesWithOpenOps: ObjectEntry[] = [];
  /** The entries marked `unsettled`. */
  readonly #unsettled: ObjectEntry[] = [];
  #stagedOpCount = 0;
  #staged = false;
  #flushScheduled = false;
  /** While the parts of one split write are staged: OPS_PER_BATCH_MAX does not cut them apart. */
  #batchHeld = false;
  /** The batch timer, while staged writes wait for STORE_BATCH_INTERVAL_MS to end. */
  #flushTimer: TimerHandle | undefined;
  /**
   * Writes the waiting batch: its timer's or microtask's callback, and what holdAtExit runs at
   * process.exit(). Made once: a closure made in #flushSoon would have it allocate a context on
   * every call (40 bytes per guest increment, seen once its code was optimised for LWW amends).
   */
  readonly #flushWaiting = (): void => this.#scheduledFlush();
  /** When the last batch was written (`#stabilityClock` time). */
  #lastFlushAtMs = Number.NEGATIVE_INFINITY;
  /** Set when a batch failed: the replica stops (see flush). */
  #flushError: ReplicaStoreError | undefined;
  #closed = false;

  #localOps = 0;
  #remoteApplied = 0;
  #remoteDuplicates = 0;
  #remoteDeferred = 0;
  #tombstonesCollected = 0;
  /** Per origin, when one of its ops was last applied here (`#stabilityClock` time), for the horizon. */
  readonly #lastOpAtMs = new Map<NodeId, number>();
  readonly #stabilityClock: Clock;
  /** Every remove behind a collected tombstone is at most this (see `isStale`); persisted. */
  #collectedThrough: VersionVector | undefined;
  #collectedThroughChanged = false;
  /** A replacing snapshot is being applied: its state was discarded at its first part. */
  #replacing = false;
  /** Op-log pages to delete at the next flush (a discarded op-log). */
  #pendingPageDeletes: number[] = [];

  /** Use `openReplicatedState`, which also hydrates from the store. */
  private constructor(options: ReplicatedStateOptions, clockLast: HlcTimestamp | undefined) {
    this.#backend = options.backend;
    this.#nodeId = options.nodeId;
    this.#logger = (options.logger ?? silentLogger).child("replica");
    this.#clock = new HybridClock({
      nowMs: options.nowMs ?? Date.now,
      maxDriftMs: options.maxClockDriftMs,
      last: clockLast,
    });
    this.#seen = new SeenOps(options.seenOpsLimit ?? DEFAULT_SEEN_OPS_LIMIT);
    this.#log = new OpLogIndex(
      options.opLogLimit ?? DEFAULT_OP_LOG_LIMIT,
      options.opLogSizeLimitBytes ?? DEFAULT_OP_LOG_SIZE_LIMIT_BYTES,
    );
    this.#stabilityClock = options.clock ?? backgroundClock;
    this.#coalesceMapWrites = options.coalesceMapWrites ?? false;
    this.#stability = new TombstoneStability({
      horizonMs: options.tombstoneHorizonMs ?? DEFAULT_TOMBSTONE_HORIZON_MS,
      startedAtMs: this.#stabilityClock.now(),
    });
    this.setSyncHooks(options);
  }

  setSyncHooks(hooks: ReplicaSyncHooks): void {
    if (hooks.onLocalOps !== undefined) this.#onLocalOps = hooks.onLocalOps;
    if (hooks.peers !== undefined) this.#peers = hooks.peers;
    if (hooks.opBytesMax !== undefined) this.#opBytesMax = hooks.opBytesMax;
  }

  // ---- CrdtHost -------------------------------------------------------------------------------

  nodeId(): NodeId {
    return this.#nodeId;
  }

  peers(): readonly PeerInfo[] {
    return this.#peers();
  }

  gcounterInc(key: string, delta: bigint): void {
    this.#count("gcounter", key, "gcounter_inc", delta);
  }

  gcounterValue(key: string): bigint {
    return this.#existing("gcounter", key)?.value() ?? 0n;
  }

  pncounterInc(key: string, delta: bigint): void {
    this.#count("pncounter", key, "pncounter_inc", delta);
  }

  pncounterDec(key: string, delta: bigint): void {
    this.#count("pncounter", key, "pncounter_dec", delta);
  }

  pncounterValue(key: string): bigint {
    return this.#existing("pncounter", key)?.value() ?? 0n;
  }

  lwwSet(key: string, value: Uint8Array): void {
    this.#local("lww_register", key, { type: "lww_set", value: value.slice() });
  }

  lwwGet(key: string): Uint8Array | undefined {
    return this.#existing("lww_register", key)?.value();
  }

  lwwMapSet(key: string, field: Uint8Array, value: Uint8Array): void {
    if (this.#coalesceMapWrites) this.#mapWrite(key, field.slice(), value.slice());
    else this.#local("lww_map", key, { type: "lww_map_set", field: field.slice(), value: value.slice() });
  }

  lwwMapRemove(key: string, field: Uint8Array): void {
    if (this.#coalesceMapWrites) this.#mapWrite(key, field.slice(), undefined);
    else this.#local("lww_map", key, { type: "lww_map_remove", field: field.slice() });
  }

  lwwMapGet(key: string, field: Uint8Array): Uint8Array | undefined {
    return this.#existing("lww_map", key)?.get(field);
  }

  lwwMapEntries(key: string): readonly (readonly [field: Uint8Array, value: Uint8Array])[] {
    return this.#existing("lww_map", key)?.entries() ?? [];
  }

  orsetAdd(key: string, element: Uint8Array): void {
    this.#local("orset", key, { type: "orset_add", element: element.slice() });
  }

  orsetRemove(key: string, element: Uint8Array): void {
    const tags = this.#existing("orset", key)?.observedTags(element) ?? [];
    if (tags.length === 0) return;
    // An element added many times has as many tags: one remove of them all may not fit a message.
    const parts = removeParts(
      key,
      { type: "orset_remove", element: element.slice(), tags },
      this.#opBytesMax,
    );
    // Its parts go to the store in one batch: a crash between two would leave the remove half done.
    this.#batchHeld = true;
    try {
      for (const kind of parts) this.#local("orset", key, kind);
    } finally {
      this.#batchHeld = false;
    }
    if (this.#stagedOpCount >= OPS_PER_BATCH_MAX) this.flush();
  }

  orsetContains(key: string, element: Uint8Array): boolean {
    return this.#existing("orset", key)?.has(element) ?? false;
  }

  orsetElements(key: string): readonly Uint8Array[] {
    return this.#existing("orset", key)?.elements() ?? [];
  }

  rgaInsert(key: string, parent: Uint8Array | undefined, value: Uint8Array): Uint8Array | undefined {
    let parentId: OpId | undefined;
    if (parent !== undefined) {
      const named = opIdFromBytes(parent);
      const rga = this.#existing("rga", key);
      // Never after a tombstone: collection may drop it on a peer before this insert arrives there.
      const anchor = named === undefined ? undefined : rga?.visibleAnchor(named);
      if (anchor === undefined) return undefined;
      parentId = anchor.parent;
      if (parentId !== undefined) this.#clock.advancePast(rga!.timestampOf(parentId)!);
    }
    const op = this.#local("rga", key, { type: "rga_insert", parent: parentId, value: value.slice() });
    return opIdToBytes(op.id);
  }

  rgaDelete(key: string, id: Uint8Array): boolean {
    const target = opIdFromBytes(id);
    const rga = this.#existing("rga", key);
    if (target === undefined || rga === undefined || !rga.has(target)) return false;
    if (!rga.isDeleted(target)) this.#local("rga", key, { type: "rga_delete", target });
    return true;
  }

  rgaValues(key: string): readonly Uint8Array[] {
    return this.#existing("rga", key)?.values() ?? [];
  }

  // ---- sync -----------------------------------------------------------------------------------

  /**
   * Applies ops from a peer: skips those already seen (by OpId), defers those stamped too far
   * in the future (not marked seen: they come again), applies and stages the rest. Returns
   * exactly the ops that were new here, in input order — the ones to relay.
   */
  applyRemote(ops: readonly Op[]): readonly Op[] {
    this.#assertOpen();
    if (this.#backend.commitFailure() !== undefined) {
      // The store cannot commit (a full disk): take nothing more in. Not marked seen, so the
      // ops come again through anti-entropy once commits succeed.
      this.#remoteDeferred += ops.length;
      return [];
    }
    const fresh: Op[] = [];
    for (const op of ops) {
      if (this.#seen.has(op.origin, op.id.seq)) {
        this.#remoteDuplicates++;
        continue;
      }
      try {
        this.#clock.receive(op.timestamp);
      } catch (error) {
        if (!(error instanceof ClockDriftError)) throw error;
        this.#remoteDeferred++;
        this.#logger.warn("remote op deferred", { op: formatOpId(op.id), reason: error.message });
        continue;
      }
      const family = FAMILY_OF_OP_TYPE[op.kind.type];
      const entry = this.#entry(family, op.key);
      if (op.kind.type === "lww_map_batch") {
        (entry.crdt as unknown as LwwMap).applyEntries(op as Op<typeof op.kind>, (fieldKey, write) =>
          this.#stageCellAt(entry, fieldKey, write),
        );
        this.#record(op, entry, undefined);
      } else this.#record(op, entry, entry.crdt.applyOp(op));
      fresh.push(op);
    }
    this.#remoteApplied += fresh.length;
    if (fresh.length > 0) {
      const nowMs = this.#stabilityClock.now();
      let origin: NodeId | undefined;
      for (const op of fresh) {
        if (op.origin === origin) continue;
        origin = op.origin;
        this.#lastOpAtMs.set(origin, nowMs);
      }
    }
    return fresh;
  }

  /**
   * Undefined while the store keeps up; otherwise a promise that resolves once what is pending
   * is durable. A peer's ops wait on it before `applyRemote`, so a flood is slowed to the pace of
   * the disk rather than refused or piled up in memory.
   */
  whenStoreHasRoom(): Promise<void> | undefined {
    // While commits fail, `applyRemote` takes nothing in, so there is nothing to wait for.
    const keepsUp = this.#backend.pendingWrites() < REMOTE_APPLY_PENDING_WRITES_MAX;
    if (keepsUp || this.#backend.commitFailure() !== undefined) return undefined;
    return this.flushed();
  }

  /** Per origin, the sequence up to which every op has been applied here. */
  versionVector(): VersionVector {
    return new Map(this.#seen.vector());
  }

  /** Every origin with an op applied here, those held only out of order (not in the vector) too. */
  heldOrigins(): IterableIterator<NodeId> {
    return this.#seen.maxApplied().keys();
  }

  /**
   * Ops in the op-log that `vector` lacks (sequence above its entry for their origin), oldest
   * (by HLC stamp) first, each origin's in sequence order, at most `limit`. Ops compacted out of
   * the log are not among them: check `compactedFor(vector)` and send a snapshot when it names
   * origins. With `origins`, only ops of those origins; with `bytes`, the first of them that fit
   * it (one at least).
   */
  opsSince(
    vector: VersionVector,
    limit: number,
    origins?: ReadonlySet<NodeId>,
    bytes?: OpBytesBudget<Op>,
  ): readonly Op[] {
    const ids: [NodeId, number][] = [];
    // At most `limit` of each origin (and about `bytes` of it: an op's estimated bytes in the log
    // are at most what `opWireBytesMax` counts), taken in sequence order (the order the peer's
    // vector advances by), so a small answer reads a few pages instead of the whole log.
    for (const origin of this.#log.origins()) {
      if (origins !== undefined && !origins.has(origin)) continue;
      for (const seq of this.#log.seqsAfter(origin, vector.get(origin) ?? 0, limit, bytes?.bytesMax))
        ids.push([origin, seq]);
    }
    const ops = this.#readLoggedOps(ids);
    // Each origin's ops stay in sequence order, so whatever the cut leaves of an origin is a run
    // right after the vector: a repair's mark advances to the highest sequence sent. An op amended
    // before its flush keeps its sequence but is stamped after later ones: sorted by its own stamp
    // it was cut off while they went, and the mark passed it. So each op sorts by the newest stamp
    // of its origin up to it (`#readLoggedOps` keeps `ids`' order: per origin, ascending).
    const sorted = ops.map((op) => ({ op, stamp: op.timestamp as number, origin: op.origin }));
    for (let index = 1; index < sorted.length; index++) {
      const entry = sorted[index]!;
      const before = sorted[index - 1]!;
      if (before.origin === entry.origin && before.stamp > entry.stamp) entry.stamp = before.stamp;
    }
    sorted.sort(
      (a, b) =>
        a.stamp - b.stamp || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.op.id.seq - b.op.id.seq),
    );
    if (sorted.length > limit) sorted.length = Math.max(0, limit);
    const cut = sorted.map((entry) => entry.op);
    if (bytes !== undefined) cut.length = bytesEnd(cut, 0, cut.length, bytes);
    return cut;
  }

  /**
   * One compaction pass (docs/design/compaction.md): closes a tombstone epoch and drops the
   * tombstones of every epoch now causally stable over `view`'s members (the other known
   * members, and their latest reports). Returns how many cells it rewrote or deleted; they reach
   * the store with the next flush.
   */
  compact(view: {
    readonly members: readonly NodeId[];
    readonly reports: ReadonlyMap<NodeId, ReportedVector>;
  }): number {
    this.#assertOpen();
    const nowMs = this.#stabilityClock.now();
    const reports = new Map<NodeId, MemberReport>();
    for (const [member, { vector, ageMs }] of view.reports)
      reports.set(member, { vector, atMs: nowMs - ageMs });
    // Every node whose ops this replica holds can still send writes concurrent with a remove:
    // it counts as a member even when no peer source names it (a writer two hops away).
    const writers = [...this.heldOrigins()].filter((origin) => origin !== this.#nodeId);
    const stable = this.#stability.pass({
      nowMs,
      reports,
      members: [...new Set([...view.members, ...writers])],
      lastOpAtMs: this.#lastOpAtMs,
      ownVector: this.#seen.vector(),
      maxApplied: this.#seen.maxApplied(),
    });
    if (stable === undefined) return 0;
    const covered = (id: OpId): boolean => this.#seen.contiguous(id.origin) >= id.seq;
    // Persisted with the collection: after a restart too, a peer behind it is recognised as stale.
    this.#collectedThrough = mergedVectors(this.#collectedThrough, stable.applied);
    this.#collectedThroughChanged = true;
    let cells = 0;
    for (const entries of this.#objects.values()) {
      for (const entry of entries.values()) {
        const collected = entry.crdt.collectTombstones?.(stable.epoch, covered);
        if (collected === undefined) continue;
        for (const cell of collected.rewritten) this.#stageCell(entry, cell);
        for (const cell of collected.dropped) this.#stageDrop(entry, cell);
        cells += collected.rewritten.length + collected.dropped.length;
      }
    }
    this.#tombstonesCollected += cells;
    this.#flushSoon(0);
    return cells;
  }

  /**
   * True when a peer whose version vector is `vector` may still hold what removes collected here
   * removed (it lacks one of them): it gets this replica's state to replace its own, and what it
   * sends is not taken in until it covers them (docs/design/compaction.md).
   *
   * Not stale: a `peer` new to the cluster, which holds only its own ops, none of which reached
   * this replica. It cannot hold anything a remove here removed (no one here saw what it added,
   * and it saw nothing of anyone else's), so it merges like any peer and keeps what it wrote
   * alone; replacing its state would discard those writes.
   */
  isStale(vector: VersionVector, peer: NodeId): boolean {
    if (this.#collectedThrough === undefined || vectorCovers(vector, this.#collectedThrough)) return false;
    const knowsOnlyItself = [...vector].every(([origin, seq]) => origin === peer || seq === 0);
    return !(knowsOnlyItself && (this.versionVector().get(peer) ?? 0) === 0);
  }

  /**
   * Whether the op-log holds an op that `vector` lacks and that a peer without a wire feature
   * cannot decode (`crdtOpFeature`: an `lww_map_batch` op): a peer of an older build at that
   * vector would be sent it, so it is refused (`held-op`, src/net/missing-feature.ts). Costs a
   * look per origin with such ops, not a walk of the log.
   */
  holdsUnreadableOpsBeyond(vector: VersionVector): boolean {
    return this.#log.holdsUnreadableBeyond(vector);
  }

  /** Origins whose ops `vector` lacks but this op-log no longer holds: such a peer needs `snapshot()`. */
  compactedFor(vector: VersionVector): readonly NodeId[] {
    const behind: NodeId[] = [];
    for (const [origin, floor] of this.#log.floors())
      if ((vector.get(origin) ?? 0) < floor) behind.push(origin);
    return behind.sort();
  }

  /** The whole replicated state, with the version vector it includes. */
  snapshot(): ReplicaSnapshot {
    const objects: { family: CrdtFamily; key: string; cells: unknown[] }[] = [];
    for (const [family, entries] of this.#objects) {
      for (const [key, entry] of entries) objects.push({ family, key, cells: entry.crdt.cells() });
    }
    return { vector: this.versionVector(), applied: new Map(this.#seen.maxApplied()), objects };
  }

  /**
   * Merges a peer's snapshot (state join: safe to apply any number of times, in any order with
   * ops), advances the version vector to cover it, and returns the objects it changed here. The merged ops are not in this op-log, so
   * its floors rise to the snapshot's vector: a peer behind it gets a snapshot from us too.
   */
  applySnapshot(
    snapshot: ReplicaSnapshot,
    part: { replace?: boolean; final?: boolean; applied?: VersionVector } = {},
  ): ChangedObject[] {
    this.#assertOpen();
    const changedObjects: ChangedObject[] = [];
    if (part.replace === true && !this.#replacing) {
      this.#replacing = true;
      changedObjects.push(...this.#discardState());
    }
    // The sender's state may carry removes of ops above its vector: bound them here too, so the
    // tombstones they made are not collected before every member has applied those ops.
    for (const [origin, seq] of part.applied ?? snapshot.applied ?? []) this.#seen.noteApplied(origin, seq);
    // What this replica collected stays collected, unless its whole state is being replaced.
    const covered = (id: OpId): boolean => !this.#replacing && this.#seen.contiguous(id.origin) >= id.seq;
    for (const object of snapshot.objects) {
      const entry = this.#entry(object.family, object.key);
      let objectChanged = false;
      for (const cell of object.cells) {
        if (entry.crdt.isCollected?.(cell, covered) === true) continue;
        const changed = entry.crdt.mergeCell(cell);
        if (changed !== undefined) {
          this.#stageCell(entry, changed);
          objectChanged = true;
        }
      }
      if (objectChanged) changedObjects.push({ key: object.key, family: object.family });
    }
    for (const [origin, seq] of snapshot.vector) {
      this.#seen.advanceTo(origin, seq);
      this.#log.raiseFloor(origin, seq);
    }
    if (part.final !== false) this.#replacing = false;
    this.#flushSoon(1);
    return changedObjects;
  }

  /**
   * The first part of a replacing snapshot: every CRDT object, the op-log and what the version
   * vector says this replica applied are dropped (from the store too, in the same batch as the
   * part), and tombstone stability starts over (the epoch it waited on named what was dropped). Kept: the NodeId, the HLC and this node's own sequence (never reused); the floors rise
   * to what was applied, so a peer lacking this node's discarded ops gets a snapshot, not a gap.
   * Returns every object that was held (their values changed).
   */
  #discardState(): ChangedObject[] {
    this.flush();
    const own = this.#nodeId;
    const ownSeq = this.#seen.contiguous(own);
    const discarded: ChangedObject[] = [];
    const dropped = [...this.#seen.maxApplied()];
    for (const [family, entries] of this.#objects) {
      for (const [key, entry] of entries) {
        for (const cell of entry.crdt.cells()) this.#stageDrop(entry, cell);
        discarded.push({ key, family });
      }
      entries.clear();
    }
    for (const page of this.#log.clear()) {
      this.#pendingPageDeletes.push(page);
      this.#forgetDecodedPage(page);
    }
    for (const [origin, seq] of dropped) this.#log.raiseFloor(origin, seq);
    this.#seen.forgetAllBut(own);
    this.#stability.restart();
    this.#logger.warn(
      "replacing this node's replicated state with a peer's (it was away past the tombstone horizon)",
      {
        objects: discarded.length,
        ownSequence: ownSeq,
      },
    );
    this.#staged = true;
    return discarded;
  }

  /** Every CRDT object held, family by family (in no particular order). */
  *objects(): IterableIterator<ReplicaObjectInfo> {
    for (const [family, entries] of this.#objects) {
      for (const [key, entry] of entries) yield { family, key, latest: entry.latest };
    }
  }

  /** One object, or undefined when the replica holds none of that family under `key`. */
  object(family: CrdtFamily, key: string): ReplicaObjectInfo | undefined {
    const entry = this.#objects.get(family)!.get(key);
    return entry === undefined ? undefined : { family, key, latest: entry.latest };
  }

  stats(): ReplicaStats {
    return {
      opLogSize: this.#log.size,
      opLogBytes: this.#log.bytes,
      seenSparse: this.#seen.sparseCount,
      localOps: this.#localOps,
      remoteApplied: this.#remoteApplied,
      remoteDuplicates: this.#remoteDuplicates,
      remoteDeferred: this.#remoteDeferred,
      tombstonesCollected: this.#tombstonesCollected,
    };
  }

  /**
   * Writes the staged batch to the store now (it is written within STORE_BATCH_INTERVAL_MS
   * anyway): whatever must be durable before something leaves the node (guest output, a reply)
   * calls this first. If the store refuses it, the replica stops: this and every later call
   * throws ReplicaStoreError (the node should exit and restart from what is on disk).
   */
  flush(): void {
    if (this.#flushError !== undefined) throw this.#flushError;
    if (!this.#staged) return;
    this.#settleAmends();
    if (this.#flushTimer !== undefined) {
      this.#stabilityClock.clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
      this.#flushScheduled = false;
      releaseAtExit(this.#flushWaiting);
    }
    this.#lastFlushAtMs = this.#stabilityClock.now();
    try {
      this.#backend.writeAll(this.#stagedWrites());
    } catch (error) {
      // Fail-stop: the in-memory state is ahead of the store now, so nothing more is accepted.
      this.#flushError = new ReplicaStoreError(
        `replicated state could not be written to the store: ${describeError(error)}`,
        {
          cause: error,
          code: "REPLICA_STORE_WRITE_FAILED",
        },
      );
      this.#logger.error("replicated state not written to the store", { error: describeError(error) });
      throw this.#flushError;
    }
    for (const entry of this.#dirtyEntries) {
      entry.dirty.clear();
      entry.dropped.clear();
    }
    this.#dirtyEntries.clear();
    const localOps = this.#stagedLocalOps.map((index) => this.#stagedOps[index]!);
    this.#stagedOps = [];
    this.#stagedLocalOps = [];
    for (const entry of this.#entriesWithOpenOps) {
      entry.openLocalOps = undefined;
      entry.mapBatch = undefined;
    }
    this.#entriesWithOpenOps.length = 0;
    this.#stagedOpCount = 0;
    this.#staged = false;
    if (localOps.length > 0) this.#onLocalOps(localOps);
  }

  /** Resolves when every op made or applied before the call is durable in the store. */
  async flushed(): Promise<void> {
    this.flush();
    await this.#backend.flushed();
  }

  /**
   * Resolves when every batch already written to the store is durable, without writing the
   * staged one: what waits for ops `onLocalOps` handed over must not cut their successors'
   * batch interval short (STORE_BATCH_INTERVAL_MS).
   */
  async written(): Promise<void> {
    await this.#backend.flushed();
  }

  /** Flushes and stops accepting ops; the store stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    // Ops made while the store made a batch durable are staged behind the batch timer
    // (STORE_BATCH_INTERVAL_MS), which would fire after the owner closed the store: hand them over too.
    do await this.flushed();
    while (this.#staged);
    this.#closed = true;
  }

  // ---- internals ------------------------------------------------------------------------------

  #local<K extends OpKind>(family: CrdtFamily, key: string, kind: K): Op<K> {
    return this.#localOn(this.#entry(family, key), kind);
  }

  /**
   * A local op on `entry`. This runs for every guest write (a million a second at the gates'
   * maximum), so amending an open op allocates little: the amend key of a counter or register is
   * its op type, a constant string, and the open ops are looked up on their entry.
   */
  #localOn<K extends OpKind>(entry: ObjectEntry, kind: K): Op<K> {
    this.#assertOpen();
    // While the store cannot commit, a guest's CRDT write is refused (the ABI answers -3).
    refuseWhileCommitsFail(this.#backend);
    const key = entry.key;
    // Sent, an op over one message would be refused by the sender's framing and sent again for good.
    assertOpFits(key, kind, this.#opBytesMax);
    const amendKey = amendKeyOf(kind);
    const open = amendKey === undefined ? undefined : entry.openLocalOps?.get(amendKey);
    if (open !== undefined) {
      // Only LWW writes come here (a counter's amendments take `#count`'s path), and an LWW
      // write must win by its own, newer stamp.
      const op = makeOp(this.#stagedOps[open]!.id, this.#clock.now(), key, kind);
      this.#stagedOps[open] = op;
      noteLatest(entry, op);
      const cell = entry.crdt.applyOp(op);
      if (cell !== undefined) this.#stageCell(entry, cell);
      this.#flushSoon(0);
      return op;
    }
    const seq = this.#seen.contiguous(this.#nodeId) + 1;
    const op = makeOp(makeOpId(this.#nodeId, seq), this.#clock.now(), key, kind);
    if (amendKey !== undefined) {
      if (entry.openLocalOps === undefined) {
        entry.openLocalOps = new Map();
        this.#entriesWithOpenOps.push(entry);
      }
      entry.openLocalOps.set(amendKey, this.#stagedOps.length);
    }
    this.#stagedLocalOps.push(this.#stagedOps.length);
    this.#record(op, entry, entry.crdt.applyOp(op));
    this.#localOps++;
    return op;
  }

  /**
   * A local increment or decrement of `delta` on a counter's slot `type` (a PN-Counter is two
   * G-Counters, `slotsOf`). One amending the slot's open op only moves the slot: at a million
   * increments a second, an op, a cell and their BigInts made per increment were most of the
   * node's garbage (GC pauses in the gates' latency). The op and cell are made from the slot once
   * per batch (`#settleAmends`). A counter op's size bound depends on its key only
   * (`opWireBytesMax`), so the check the open op passed holds for its amendments.
   */
  #count(family: CounterFamily, key: string, type: CounterOpType, delta: bigint): void {
    // A write of 0 moves no slot: it must not make the object either (`#entry`), which readers
    // would list (`objects()`, snapshots) though nothing of it reaches the store.
    if (delta === 0n) return;
    const entry = this.#entry(family, key);
    const slots = slotsOf(entry.crdt, type);
    if (entry.openLocalOps?.has(type) === true) {
      this.#assertOpen();
      refuseWhileCommitsFail(this.#backend);
      if (!slots.addToSlot(this.#nodeId, delta)) return;
      if (!entry.unsettled) {
        entry.unsettled = true;
        this.#unsettled.push(entry);
      }
      this.#flushSoon(0);
      return;
    }
    const slot = slots.incrementedSlot(this.#nodeId, delta);
    if (slot !== slots.slot(this.#nodeId)) this.#localOn(entry, { type, slot });
  }

  /**
   * A local write to the LWW-Map `key` with coalesceMapWrites: it amends the map's open batch op
   * (`MapWriteBatch`), or opens one when the map has none this batch interval or the write would
   * take the open one past MAP_BATCH_BYTES_MAX (or this node's smaller op budget). An amend makes only the
   * map's new cell (the batch's entry too); the op is made from the batch once per flush or read
   * (`#settleAmends`). `field` and `value` are the replica's own copies.
   */
  #mapWrite(key: string, field: Uint8Array, value: Uint8Array | undefined): void {
    const entry = this.#entry("lww_map", key);
    this.#assertOpen();
    refuseWhileCommitsFail(this.#backend);
    const fieldKey = bytesKey(field);
    const open = entry.mapBatch;
    if (open === undefined || !open.admits(field, value, Math.min(this.#opBytesMax, MAP_BATCH_BYTES_MAX))) {
      const kind: OpKind =
        value === undefined ? { type: "lww_map_remove", field } : { type: "lww_map_set", field, value };
      assertOpFits(key, kind, this.#opBytesMax);
      // Closed: its op gets the writes it took (the entry stays listed unsettled, for the new one).
      if (open !== undefined && entry.unsettled) this.#settleMapBatch(open);
      else if (open === undefined && entry.openLocalOps === undefined) this.#entriesWithOpenOps.push(entry);
      const seq = this.#seen.contiguous(this.#nodeId) + 1;
      const batch = new MapWriteBatch(makeOpId(this.#nodeId, seq), this.#stagedOps.length, key);
      entry.mapBatch = batch;
      const op = makeOp(batch.id, this.#clock.now(), key, kind);
      const cell: LwwMapCell = { field, timestamp: op.timestamp, origin: this.#nodeId, value };
      batch.add(cell);
      this.#stagedLocalOps.push(this.#stagedOps.length);
      this.#record(op, entry, (entry.crdt as unknown as LwwMap).mergeCellAt(fieldKey, cell));
      this.#localOps++;
      return;
    }
    const cell: LwwMapCell = { field, timestamp: this.#clock.now(), origin: this.#nodeId, value };
    open.add(cell);
    // A map cell's id is its field's bytesKey (FAMILY_DEFINITIONS): made once per write.
    if ((entry.crdt as unknown as LwwMap).mergeCellAt(fieldKey, cell) !== undefined)
      this.#stageCellAt(entry, fieldKey, cell);
    noteLatest(entry, cell);
    if (!entry.unsettled) {
      entry.unsettled = true;
      this.#unsettled.push(entry);
    }
    // Each write stages a cell: it counts toward OPS_PER_BATCH_MAX as an op would.
    this.#flushSoon(1);
  }

  /** Makes the staged op of `batch` carry every write it took so far. */
  #settleMapBatch(batch: MapWriteBatch): void {
    const op = batch.op();
    this.#stagedOps[batch.staged] = op;
    this.#log.resize(op.origin, op.id.seq, estimatedOpBytes(op));
    // A lone write stays the plain op; from its second write on, it is a multi-field one.
    this.#markIfUnreadable(op);
  }

  /** Makes the open ops and staged cell of every `unsettled` counter carry its slots now, and every amended map batch's op its writes. */
  #settleAmends(): void {
    for (const entry of this.#unsettled) {
      entry.unsettled = false;
      if (entry.mapBatch !== undefined) {
        this.#settleMapBatch(entry.mapBatch);
        continue;
      }
      // A counter's open ops are its slots' (`amendKeyOf`), whichever moved.
      for (const [type, open] of entry.openLocalOps! as Map<CounterOpType, number>) {
        const previous = this.#stagedOps[open]!;
        const slot = slotsOf(entry.crdt, type).slot(this.#nodeId);
        // The stamp of its first increment, so the propagation latency measured from it covers
        // every one; the same origin too: `latest` stays as it is.
        this.#stagedOps[open] = makeOp(previous.id, previous.timestamp, entry.key, { type, slot });
      }
      this.#stageCell(entry, (entry.crdt as unknown as CrdtOf<CounterFamily>).cellOf(this.#nodeId));
    }
    this.#unsettled.length = 0;
  }

  #record(op: Op, entry: ObjectEntry, cell: unknown): void {
    if (cell !== undefined) this.#stageCell(entry, cell);
    noteLatest(entry, op);
    this.#log.add(op.origin, op.id.seq, estimatedOpBytes(op));
    this.#markIfUnreadable(op);
    this.#stagedOps.push(op);
    this.#seen.markSeen(op.origin, op.id.seq);
    this.#flushSoon(opWriteCount(op));
  }

  /**
   * Marks `op` in the op-log when a peer without a wire feature cannot decode it (`crdtOpFeature`):
   * every way an op comes to be held (recorded, amended into a batch, read back at start) goes
   * through here, so `holdsUnreadableOpsBeyond` sees them all.
   */
  #markIfUnreadable(op: Op): void {
    if (crdtOpFeature(op) !== undefined) this.#log.markUnreadable(op.origin, op.id.seq);
  }

  #stageCell(entry: ObjectEntry, cell: unknown): void {
    this.#stageCellAt(entry, (FAMILY_DEFINITIONS[entry.family].cellId as (c: unknown) => string)(cell), cell);
  }

  #stageCellAt(entry: ObjectEntry, cellId: string, cell: unknown): void {
    entry.dirty.set(cellId, cell);
    entry.dropped.delete(cellId);
    this.#dirtyEntries.add(entry);
  }

  #stageDrop(entry: ObjectEntry, cell: unknown): void {
    const cellId = (FAMILY_DEFINITIONS[entry.family].cellId as (c: unknown) => string)(cell);
    entry.dirty.delete(cellId);
    entry.dropped.set(cellId, cell);
    this.#dirtyEntries.add(entry);
  }

  #flushSoon(ops: number): void {
    this.#staged = true;
    this.#stagedOpCount += ops;
    if (this.#stagedOpCount >= OPS_PER_BATCH_MAX && !this.#batchHeld) {
      this.flush();
      return;
    }
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Held in both cases: a process.exit() later in this synchronous run never gets to the
    // microtask either.
    holdAtExit(this.#flushWaiting);
    const waitMs = this.#lastFlushAtMs + STORE_BATCH_INTERVAL_MS - this.#stabilityClock.now();
    if (waitMs <= 0) {
      queueMicrotask(this.#flushWaiting);
      return;
    }
    this.#flushTimer = this.#stabilityClock.setTimeout(this.#flushWaiting, waitMs);
  }

  #scheduledFlush(): void {
    this.#flushScheduled = false;
    this.#flushTimer = undefined;
    releaseAtExit(this.#flushWaiting);
    try {
      this.flush();
    } catch {
      // flush() recorded the failure: every later call reports it.
    }
  }

  #stagedWrites(): [Uint8Array, Uint8Array | undefined][] {
    const writes: [Uint8Array, Uint8Array | undefined][] = [];
    for (const entry of this.#dirtyEntries) {
      entry.prefix ??= crdtObjectPrefix(entry.family, entry.key);
      const definition = FAMILY_DEFINITIONS[entry.family] as unknown as {
        cellKey(c: unknown): Uint8Array;
        cellCodec: { toMsgpack(c: unknown): unknown };
      };
      const cellWrites = this.#cellWrites;
      if (entry.family === "lww_map") {
        // A staged map cell may be a kept write without its field (LwwMap.applyEntries): the
        // field is written from its id, its bytesKey. (forEach: a for-of makes a pair per cell.)
        const prefix = entry.prefix;
        entry.dirty.forEach((write, fieldKey) => {
          writes.push(cellWrites.lwwMapCell(prefix, fieldKey, write as LwwWrite));
        });
      } else {
        for (const cell of entry.dirty.values()) {
          const record = packedRecord(definition.cellCodec.toMsgpack(cell));
          writes.push([cellWrites.key(entry.prefix, definition.cellKey(cell)), record]);
        }
      }
      for (const cell of entry.dropped.values())
        writes.push([cellWrites.key(entry.prefix, definition.cellKey(cell)), undefined]);
    }
    this.#compactOnePage(writes);
    this.#writePages(writes);
    for (const page of [...this.#pendingPageDeletes, ...this.#log.drainEmptiedPages()]) {
      writes.push([pageKey(OPLOG_PREFIX, page), undefined]);
      this.#forgetDecodedPage(page);
    }
    const seen = this.#seen.drainChanges();
    for (const origin of this.#log.drainFloorChanges()) seen.contiguous.add(origin);
    for (const origin of seen.contiguous) {
      const record = packedRecord([
        this.#seen.contiguous(origin),
        this.#log.floor(origin),
        this.#seen.maxApplied().get(origin) ?? 0,
      ]);
      writes.push([originKey(VV_PREFIX, origin), record]);
    }
    for (const { origin, seq, present } of seen.sparse.values()) {
      writes.push([opIdKey(SEEN_PREFIX, makeOpId(origin, seq)), present ? SEEN_RECORD : undefined]);
    }
    this.#pendingPageDeletes = [];
    if (this.#collectedThroughChanged) {
      const entries = [...this.#collectedThrough!].map(([origin, seq]) => [origin, seq]);
      writes.push([COMPACTION_KEY, packedRecord(entries)]);
      this.#collectedThroughChanged = false;
    }
    writes.push([CLOCK_KEY, packedRecord(this.#clock.last())]);
    return writes;
  }

  /** Staged ops still waiting for a page go into pages of at most PAGE_BYTES_MAX (estimated). */
  #writePages(writes: [Uint8Array, Uint8Array | undefined][]): void {
    let group: Op[] = [];
    let groupBytes = 0;
    const emit = (): void => {
      if (group.length === 0) return;
      const page = this.#log.newPage(group.length, groupBytes);
      for (const op of group) this.#log.assignPage(op.origin, op.id.seq, page);
      writes.push([pageKey(OPLOG_PREFIX, page), opLogPageRecord(this.#chunks, group)]);
      // A lagging peer's repair reads these next: kept decoded, they are not decoded back.
      this.#cacheDecodedPage(page, group, groupBytes);
      group = [];
      groupBytes = 0;
    };
    for (const op of this.#stagedOps) {
      if (this.#log.pageOf(op.origin, op.id.seq) !== -1) continue;
      group.push(op);
      groupBytes += estimatedOpBytes(op);
      if (groupBytes >= PAGE_BYTES_MAX || group.length >= OPS_PER_BATCH_MAX) emit();
    }
    emit();
  }

  /** Rewrites the emptiest page when dead ops kept in pages exceed the op-log limit. */
  #compactOnePage(writes: [Uint8Array, Uint8Array | undefined][]): void {
    const page = this.#log.pageToCompact();
    if (page === undefined) return;
    const live = this.#readPage(page).ops.filter((op) => this.#log.pageOf(op.origin, op.id.seq) === page);
    this.#log.releasePage(
      page,
      live.map((op) => [op.origin, op.id.seq]),
    );
    this.#stagedOps.push(...live);
    writes.push([pageKey(OPLOG_PREFIX, page), undefined]);
    // A deleted page is never read again: its slot goes to a live one.
    this.#forgetDecodedPage(page);
  }

  #readPage(page: number): DecodedPage {
    const cached = this.#decodedPages.get(page);
    if (cached !== undefined) return cached;
    const record = this.#backend.get(pageKey(OPLOG_PREFIX, page));
    if (record === undefined) throw new ReplicaStoreError(`op-log page ${page} is missing from the store`);
    const ops = decodeOpPage(record);
    let bytes = 0;
    for (const op of ops) bytes += estimatedOpBytes(op);
    return this.#cacheDecodedPage(page, ops, bytes);
  }

  /** Pages are never rewritten under the same number, so a decoded one stays true. */
  #cacheDecodedPage(page: number, ops: Op[], bytes: number): DecodedPage {
    const decoded: DecodedPage = { ops, byId: undefined, bytes };
    this.#forgetDecodedPage(page);
    this.#decodedPages.set(page, decoded);
    this.#decodedPageBytes += bytes;
    while (this.#decodedPageBytes > DECODED_PAGE_BYTES_CACHED && this.#decodedPages.size > 1)
      this.#forgetDecodedPage(this.#decodedPages.keys().next().value!);
    return decoded;
  }

  #forgetDecodedPage(page: number): void {
    const decoded = this.#decodedPages.get(page);
    if (decoded === undefined) return;
    this.#decodedPages.delete(page);
    this.#decodedPageBytes -= decoded.bytes;
  }

  /** The logged ops named by `ids`, reading each page once. */
  #readLoggedOps(ids: readonly [NodeId, number][]): Op[] {
    this.#settleAmends();
    let staged: Map<NodeId, Map<number, Op>> | undefined;
    return ids.map(([origin, seq]) => {
      const page = this.#log.pageOf(origin, seq)!;
      let ops: Map<NodeId, Map<number, Op>>;
      if (page === -1) ops = staged ??= opsById(this.#stagedOps);
      else {
        const decoded = this.#readPage(page);
        ops = decoded.byId ??= opsById(decoded.ops);
      }
      return ops.get(origin)!.get(seq)!;
    });
  }

  #entry(family: CrdtFamily, key: string): ObjectEntry {
    const entries = this.#objects.get(family)!;
    let entry = entries.get(key);
    if (entry === undefined) {
      const crdt = FAMILY_DEFINITIONS[family].create(this.#stability.epoch) as Crdt<unknown>;
      entry = {
        family,
        key,
        crdt,
        prefix: undefined,
        dirty: new Map(),
        dropped: new Map(),
        latest: undefined,
        openLocalOps: undefined,
        mapBatch: undefined,
        unsettled: false,
      };
      entries.set(key, entry);
    }
    return entry;
  }

  #existing<F extends CrdtFamily>(family: F, key: string): CrdtOf<F> | undefined {
    return this.#objects.get(family)!.get(key)?.crdt as unknown as CrdtOf<F> | undefined;
  }

  #assertOpen(): void {
    if (this.#flushError !== undefined) throw this.#flushError;
    if (this.#closed)
      throw new ReplicaStoreError("the replicated state was closed", { code: "REPLICA_CLOSED" });
  }

  /** See `openReplicatedState`. */
  static open(options: ReplicatedStateOptions): ReplicatedState {
    const clockRecord = options.backend.get(CLOCK_KEY);
    let clockLast: HlcTimestamp | undefined;
    if (clockRecord !== undefined) {
      const value = crdtPackr.unpack(recordPayload(clockRecord, "clock")) as unknown;
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
        throw new ReplicaStoreError("stored HLC stamp is malformed");
      }
      clockLast = value as HlcTimestamp;
    }
    const state = new ReplicatedState(options, clockLast);
    const compaction = options.backend.get(COMPACTION_KEY);
    if (compaction !== undefined) state.#collectedThrough = decodeCollectedThrough(compaction);
    state.#hydrate();
    return state;
  }

  /** Rebuilds every CRDT, the version vector, the seen set and the op-log index from the store. */
  #hydrate(): void {
    for (const [key, value] of this.#backend.range({ prefix: VV_PREFIX })) {
      const origin = parseOriginKey(key, VV_PREFIX.length);
      const record = crdtPackr.unpack(recordPayload(value, "version vector entry")) as unknown;
      if (!Array.isArray(record) || !Number.isSafeInteger(record[0]) || !Number.isSafeInteger(record[1])) {
        throw new ReplicaStoreError(`version vector entry of ${origin} is malformed`);
      }
      // The third element (highest applied sequence) is absent from stores written before compaction.
      const maxApplied = Number.isSafeInteger(record[2]) ? (record[2] as number) : record[0];
      this.#seen.restoreContiguous(origin, record[0], maxApplied);
      this.#log.raiseFloor(origin, record[1]);
    }
    for (const [key, value] of this.#backend.range({ prefix: SEEN_PREFIX })) {
      recordPayload(value, "seen entry");
      const { origin, seq } = parseOpIdKey(key, SEEN_PREFIX.length);
      this.#seen.restoreSparse(origin, seq);
    }
    for (const [key, value] of this.#backend.range({ prefix: OPLOG_PREFIX })) {
      const page = parsePageKey(key, OPLOG_PREFIX.length);
      const ops = decodeOpPage(value);
      const sizes = ops.map(estimatedOpBytes);
      let pageBytes = 0;
      for (const bytes of sizes) pageBytes += bytes;
      this.#log.restorePage(page, ops.length, pageBytes);
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        this.#log.restore(op.origin, op.id.seq, page, sizes[i]!);
        this.#markIfUnreadable(op);
      }
    }
    this.#log.finishRestore();
    let entry: ObjectEntry | undefined;
    let entryPrefix: Uint8Array | undefined;
    for (const [key, value] of this.#backend.range({ prefix: CRDT_PREFIX })) {
      if (entry === undefined || !startsWith(key, entryPrefix!)) {
        const parsed = parseCellStorageKey(key);
        entry = this.#entry(parsed.family, parsed.key);
        entryPrefix = key.slice(0, parsed.prefixLength);
      }
      const codec = FAMILY_DEFINITIONS[entry.family].cellCodec as {
        fromMsgpack(raw: unknown, path: string): unknown;
      };
      let cell: unknown;
      try {
        cell = codec.fromMsgpack(crdtPackr.unpack(recordPayload(value, "CRDT cell")), "cell");
      } catch (error) {
        throw new ReplicaStoreError(`stored ${entry.family} cell of "${entry.key}" is damaged`, {
          cause: error,
        });
      }
      entry.crdt.mergeCell(cell);
    }
    // Pages emptied by a lowered op_log_limit, and raised floors, are written at once.
    this.#staged = true;
    this.flush();
    this.#logger.debug("replicated state hydrated", {
      objects: [...this.#objects.values()].reduce((n, m) => n + m.size, 0),
      opLog: this.#log.size,
      seenSparse: this.#seen.sparseCount,
    });
  }
}

type CounterFamily = "gcounter" | "pncounter";
type CounterOpType = "gcounter_inc" | "pncounter_inc" | "pncounter_dec";

/** The G-Counter an op of `type` moves a slot of: the counter itself, or a PN-Counter's side. */
function slotsOf(crdt: Crdt<unknown>, type: CounterOpType): GCounter {
  if (type === "gcounter_inc") return crdt as unknown as GCounter;
  const counter = crdt as unknown as PNCounter;
  return type === "pncounter_inc" ? counter.increments : counter.decrements;
}

/**
 * What a local op writes, when a later local op on the same thing supersedes it whole: a counter
 * slot (increments and decrements are separate slots), a register, a map field (set or removed),
 * within its object (each ObjectEntry keeps its own open ops, and one object holds ops of one
 * family only, so a map field's key never meets an op type). Undefined for ops that must each be
 * kept (OR-Set adds carry unique tags, RGA ops are nodes).
 */
function amendKeyOf(kind: OpKind): string | undefined {
  switch (kind.type) {
    case "gcounter_inc":
    case "pncounter_inc":
    case "pncounter_dec":
    case "lww_set":
      return kind.type;
    case "lww_map_set":
    case "lww_map_remove":
      return bytesKey(kind.field);
    default:
      return undefined;
  }
}

const SEEN_RECORD = withVersion(new Uint8Array(0));

/** Op-log pages are cut at about this many bytes of op payload, so no record grows huge. */
const PAGE_BYTES_MAX = 1024 * 1024;
/**
 * Op-log pages kept decoded for `opsSince` (repairs, pull answers), by the estimated bytes of
 * their ops (`estimatedOpBytes`: 92 bytes an op in the distinct-key gate, so about 45 000 ops,
 * under a second of a busy node's log); the newest page is kept whatever its size.
 */
export const DECODED_PAGE_BYTES_CACHED = 4 * 1024 * 1024;

/** An op-log page's ops as decoded; by origin and sequence too once read (`opsById`). */
interface DecodedPage {
  readonly ops: Op[];
  byId: Map<NodeId, Map<number, Op>> | undefined;
  readonly bytes: number;
}

function opsById(ops: readonly Op[]): Map<NodeId, Map<number, Op>> {
  const byId = new Map<NodeId, Map<number, Op>>();
  for (const op of ops) {
    let seqs = byId.get(op.origin);
    if (seqs === undefined) {
      seqs = new Map();
      byId.set(op.origin, seqs);
    }
    seqs.set(op.id.seq, op);
  }
  return byId;
}

function estimatedOpBytes(op: Op): number {
  const kind = op.kind as {
    value?: Uint8Array;
    field?: Uint8Array;
    element?: Uint8Array;
    tags?: readonly unknown[];
    entries?: readonly LwwMapEntryWrite[];
  };
  let entriesBytes = 0;
  const entries = kind.entries;
  // Indexed: an unoptimized for-of allocates an iterator result per entry (opWireBytesMax's note).
  if (entries !== undefined)
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      entriesBytes += estimatedEntryBytes(entry.field, entry.value);
    }
  return (
    64 +
    op.key.length +
    (kind.value?.length ?? 0) +
    (kind.field?.length ?? 0) +
    (kind.element?.length ?? 0) +
    (kind.tags?.length ?? 0) * 24 +
    entriesBytes
  );
}

/** One `lww_map_batch` entry in `estimatedOpBytes`: its bytes and its own stamp and objects. */
function estimatedEntryBytes(field: Uint8Array, value: Uint8Array | undefined): number {
  return 24 + field.length + (value?.length ?? 0);
}

export function decodeOpPage(record: Uint8Array): Op[] {
  let raw: unknown;
  try {
    raw = crdtPackr.unpack(recordPayload(record, "op-log page"));
    if (!Array.isArray(raw)) throw new TypeError("not an array");
    return raw.map((value, i) => opFromMsgpackValue(value, `op-log page op ${i}`));
  } catch (error) {
    if (error instanceof ReplicaStoreError) throw error;
    throw new ReplicaStoreError("an op-log page is damaged", { cause: error });
  }
}

/** The per-origin maximum of two vectors. */
function mergedVectors(a: VersionVector | undefined, b: VersionVector): VersionVector {
  const merged = new Map(a ?? []);
  for (const [origin, seq] of b) if (seq > (merged.get(origin) ?? 0)) merged.set(origin, seq);
  return merged;
}

function decodeCollectedThrough(record: Uint8Array): VersionVector {
  const raw = crdtPackr.unpack(recordPayload(record, "compaction record")) as unknown;
  const vector = new Map<NodeId, number>();
  if (!Array.isArray(raw)) throw new ReplicaStoreError("the compaction record is malformed");
  for (const entry of raw) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || !Number.isSafeInteger(entry[1]))
      throw new ReplicaStoreError("the compaction record is malformed");
    vector.set(entry[0] as NodeId, entry[1] as number);
  }
  return vector;
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length <= prefix.length) return false;
  for (let i = prefix.length - 1; i >= 0; i--) if (key[i] !== prefix[i]) return false;
  return true;
}

/**
 * Opens the replicated state kept in `options.backend`: hydrates every CRDT, the version vector,
 * the seen set, the op-log index and the HLC from `__nx/`, then serves ops.
 *
 * @throws ReplicaStoreError (REPLICA_STORE_CORRUPT) when a stored record is damaged or newer.
 */
export function openReplicatedState(options: ReplicatedStateOptions): ReplicatedState {
  return ReplicatedState.open(options);
}
