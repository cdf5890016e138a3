import { bytesKey } from "../../crdt/byte-order.ts";
import type { Crdt } from "../../crdt/crdt.ts";
import { type CrdtOf, FAMILY_DEFINITIONS } from "../../crdt/crdt-families.ts";
import { ClockDriftError, type HlcTimestamp, HybridClock } from "../../crdt/hybrid-clock.ts";
import { crdtPackr } from "../../crdt/msgpack.ts";
import {
  CRDT_FAMILIES,
  type CrdtFamily,
  FAMILY_OF_OP_TYPE,
  makeOp,
  type Op,
  type OpKind,
} from "../../crdt/op.ts";
import { decodeOp, opToMsgpackValue } from "../../crdt/op-codec.ts";
import { formatOpId, makeOpId, type OpId, opIdFromBytes, opIdToBytes } from "../../crdt/op-id.ts";
import type { VersionVector } from "../../crdt/version-vector.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { type Logger, silentLogger } from "../../observe/logger.ts";
import type { KvBackend } from "../../store/kv-backend.ts";
import type { CrdtHost } from "../../wasm/abi/crdt-host.ts";
import { OpLogIndex } from "./op-log-index.ts";
import {
  CLOCK_KEY,
  CRDT_PREFIX,
  cellStorageKey,
  crdtObjectPrefix,
  OPLOG_PREFIX,
  opIdKey,
  originKey,
  parseCellStorageKey,
  parseOpIdKey,
  parseOriginKey,
  ReplicaStoreError,
  recordPayload,
  SEEN_PREFIX,
  VV_PREFIX,
  withVersion,
} from "./replica-layout.ts";
import { emptySeenChanges, type SeenChanges, SeenOps } from "./seen-ops.ts";

/** `op_log_limit`: ops kept to serve peers (see OpLogIndex for what happens at the bound). */
export const DEFAULT_OP_LOG_LIMIT = 10_000;
/** `seen_ops_limit`: out-of-order op ids remembered above the version vector (see SeenOps). */
export const DEFAULT_SEEN_OPS_LIMIT = 100_000;
/**
 * Ops gathered into one store batch at most (group commit). A batch is written at the end of the
 * current synchronous run (microtask) or as soon as this many ops are waiting, whichever comes
 * first; each op is always in the same batch as the cells it changed.
 */
export const OPS_PER_BATCH_MAX = 4096;

export interface PeerInfo {
  readonly address: string;
  readonly nodeId: NodeId;
}

/** Hooks the sync layer plugs in (also settable after opening with `setSyncHooks`). */
export interface ReplicaSyncHooks {
  /** Called once per local op, after it was applied and handed to the store: queue it for peers. */
  onLocalOp?: (op: Op) => void;
  /** The connected peers, for `net_peers`. */
  peers?: () => readonly PeerInfo[];
}

export interface ReplicatedStateOptions extends ReplicaSyncHooks {
  backend: KvBackend;
  /** This node's id: certificate-derived with TLS, else from `loadOrCreateNodeId`. */
  nodeId: NodeId;
  /** Physical wall clock in Unix ms for the HLC (default Date.now). */
  nowMs?: () => number;
  logger?: Logger;
  opLogLimit?: number;
  seenOpsLimit?: number;
  /** Remote ops stamped further than this ahead of our clock are deferred (default 60 s). */
  maxClockDriftMs?: number;
}

/** Everything one replica holds, for a peer too far behind for the op-log (see `compactedFor`). */
export interface ReplicaSnapshot {
  /** Every op up to these sequences is included in the state. */
  readonly vector: VersionVector;
  readonly objects: readonly {
    readonly family: CrdtFamily;
    readonly key: string;
    readonly cells: readonly unknown[];
  }[];
}

export interface ReplicaStats {
  readonly opLogSize: number;
  readonly seenSparse: number;
  readonly localOps: number;
  readonly remoteApplied: number;
  readonly remoteDuplicates: number;
  /** Remote ops refused for clock drift (not marked seen: they come again). */
  readonly remoteDeferred: number;
}

interface ObjectEntry {
  readonly family: CrdtFamily;
  readonly crdt: Crdt<unknown>;
  /** Storage-key prefix of its cells, computed on first write. */
  prefix: Uint8Array | undefined;
  readonly key: string;
}

interface DirtyCell {
  readonly entry: ObjectEntry;
  readonly cellKey: Uint8Array;
  cell: unknown;
}

/**
 * The node's replicated state: the six CRDT families by key, their storage under `__nx/`, the
 * op-log, the dedup metadata and the HLC. Implements the guest-facing CrdtHost and what the sync
 * layer needs (`applyRemote`, `versionVector`, `opsSince`, snapshots).
 *
 * Local op: stamp (next own sequence + HLC), apply in memory, stage the op and the cells it
 * changed for the store, hand it to `onLocalOp`. Staged writes go to the store in one atomic
 * batch at the end of the synchronous run or after OPS_PER_BATCH_MAX ops (group commit); the
 * store itself makes them durable at its next commit (`flushed()` waits for that).
 *
 * @example
 * const replica = openReplicatedState({ backend, nodeId, onLocalOp: (op) => sync.localOps([op]) });
 * replica.gcounterInc("visits", 1n);
 * const fresh = replica.applyRemote(opsFromPeer); // relay `fresh`
 */
export class ReplicatedState implements CrdtHost {
  readonly #backend: KvBackend;
  readonly #nodeId: NodeId;
  readonly #logger: Logger;
  readonly #clock: HybridClock;
  readonly #seen: SeenOps;
  readonly #log: OpLogIndex;
  readonly #objects = new Map<CrdtFamily, Map<string, ObjectEntry>>(CRDT_FAMILIES.map((f) => [f, new Map()]));
  #onLocalOp: (op: Op) => void = () => {};
  #peers: () => readonly PeerInfo[] = () => [];

  // Staged writes, flushed together.
  readonly #dirtyCells = new Map<string, DirtyCell>();
  readonly #stagedOps = new Map<string, Op>();
  #evictedOps: [NodeId, number][] = [];
  readonly #dirtyOrigins = new Set<NodeId>();
  readonly #seenWrites = new Map<string, { origin: NodeId; seq: number; present: boolean }>();
  #stagedOpCount = 0;
  #staged = false;
  #flushScheduled = false;
  #flushError: unknown;
  #closed = false;

  #localOps = 0;
  #remoteApplied = 0;
  #remoteDuplicates = 0;
  #remoteDeferred = 0;

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
    this.#log = new OpLogIndex(options.opLogLimit ?? DEFAULT_OP_LOG_LIMIT);
    this.setSyncHooks(options);
  }

  setSyncHooks(hooks: ReplicaSyncHooks): void {
    if (hooks.onLocalOp !== undefined) this.#onLocalOp = hooks.onLocalOp;
    if (hooks.peers !== undefined) this.#peers = hooks.peers;
  }

  // ---- CrdtHost -------------------------------------------------------------------------------

  nodeId(): NodeId {
    return this.#nodeId;
  }

  peers(): readonly PeerInfo[] {
    return this.#peers();
  }

  gcounterInc(key: string, delta: bigint): void {
    const counter = this.#crdt("gcounter", key);
    const slot = counter.incrementedSlot(this.#nodeId, delta);
    if (slot !== counter.slot(this.#nodeId)) this.#local("gcounter", key, { type: "gcounter_inc", slot });
  }

  gcounterValue(key: string): bigint {
    return this.#existing("gcounter", key)?.value() ?? 0n;
  }

  pncounterInc(key: string, delta: bigint): void {
    if (delta === 0n) return;
    const slot = this.#crdt("pncounter", key).incrementedSlot(this.#nodeId, delta);
    this.#local("pncounter", key, { type: "pncounter_inc", slot });
  }

  pncounterDec(key: string, delta: bigint): void {
    if (delta === 0n) return;
    const slot = this.#crdt("pncounter", key).decrementedSlot(this.#nodeId, delta);
    this.#local("pncounter", key, { type: "pncounter_dec", slot });
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
    this.#local("lww_map", key, { type: "lww_map_set", field: field.slice(), value: value.slice() });
  }

  lwwMapRemove(key: string, field: Uint8Array): void {
    this.#local("lww_map", key, { type: "lww_map_remove", field: field.slice() });
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
    if (tags.length > 0) this.#local("orset", key, { type: "orset_remove", element: element.slice(), tags });
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
      parentId = opIdFromBytes(parent);
      const parentStamp =
        parentId === undefined ? undefined : this.#existing("rga", key)?.timestampOf(parentId);
      if (parentStamp === undefined) return undefined;
      this.#clock.advancePast(parentStamp);
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
      this.#record(op, entry, entry.crdt.applyOp(op));
      fresh.push(op);
    }
    this.#remoteApplied += fresh.length;
    return fresh;
  }

  /** Per origin, the sequence up to which every op has been applied here. */
  versionVector(): VersionVector {
    return new Map(this.#seen.vector());
  }

  /**
   * Ops in the op-log that `vector` lacks (sequence above its entry for their origin), oldest
   * (by HLC stamp) first, at most `limit`. Ops compacted out of the log are not among them: check
   * `compactedFor(vector)` and send a snapshot when it names origins.
   */
  opsSince(vector: VersionVector, limit: number): readonly Op[] {
    const ops: Op[] = [];
    for (const origin of this.#log.origins()) {
      for (const seq of this.#log.seqsAfter(origin, vector.get(origin) ?? 0))
        ops.push(this.#readLoggedOp(origin, seq));
    }
    ops.sort(
      (a, b) =>
        a.timestamp - b.timestamp ||
        (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.id.seq - b.id.seq),
    );
    if (ops.length > limit) ops.length = Math.max(0, limit);
    return ops;
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
    return { vector: this.versionVector(), objects };
  }

  /**
   * Merges a peer's snapshot (state join: safe to apply any number of times, in any order with
   * ops) and advances the version vector to cover it. The merged ops are not in this op-log, so
   * its floors rise to the snapshot's vector: a peer behind it gets a snapshot from us too.
   */
  applySnapshot(snapshot: ReplicaSnapshot): void {
    this.#assertOpen();
    for (const object of snapshot.objects) {
      const entry = this.#entry(object.family, object.key);
      for (const cell of object.cells) {
        const changed = entry.crdt.mergeCell(cell);
        if (changed !== undefined) this.#stageCell(entry, changed);
      }
    }
    const changes = emptySeenChanges();
    for (const [origin, seq] of snapshot.vector) {
      this.#seen.advanceTo(origin, seq, changes);
      this.#log.raiseFloor(origin, seq);
      this.#dirtyOrigins.add(origin);
    }
    this.#stageSeenChanges(changes);
    this.#flushSoon(1);
  }

  stats(): ReplicaStats {
    return {
      opLogSize: this.#log.size,
      seenSparse: this.#seen.sparseCount,
      localOps: this.#localOps,
      remoteApplied: this.#remoteApplied,
      remoteDuplicates: this.#remoteDuplicates,
      remoteDeferred: this.#remoteDeferred,
    };
  }

  /** Writes the staged batch to the store now (it is written at the end of the run anyway). */
  flush(): void {
    if (!this.#staged) return;
    const writes = this.#stagedWrites();
    this.#backend.batch(() => {
      for (const [key, value] of writes) {
        if (value === undefined) this.#backend.delete(key);
        else this.#backend.put(key, value);
      }
    });
    this.#dirtyCells.clear();
    this.#stagedOps.clear();
    this.#evictedOps = [];
    this.#dirtyOrigins.clear();
    this.#seenWrites.clear();
    this.#stagedOpCount = 0;
    this.#staged = false;
  }

  /** Resolves when every op made or applied before the call is durable in the store. */
  async flushed(): Promise<void> {
    if (this.#flushError !== undefined) {
      const error = this.#flushError;
      this.#flushError = undefined;
      throw error;
    }
    this.flush();
    await this.#backend.flushed();
  }

  /** Flushes and stops accepting ops; the store stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flushed();
    this.#closed = true;
  }

  // ---- internals ------------------------------------------------------------------------------

  #local<K extends OpKind>(family: CrdtFamily, key: string, kind: K): Op<K> {
    this.#assertOpen();
    const seq = this.#seen.contiguous(this.#nodeId) + 1;
    const op = makeOp(makeOpId(this.#nodeId, seq), this.#clock.now(), key, kind);
    const entry = this.#entry(family, key);
    this.#record(op, entry, entry.crdt.applyOp(op));
    this.#localOps++;
    this.#onLocalOp(op);
    return op;
  }

  #record(op: Op, entry: ObjectEntry, cell: unknown): void {
    if (cell !== undefined) this.#stageCell(entry, cell);
    this.#stagedOps.set(formatOpId(op.id), op);
    for (const [origin, seq] of this.#log.add(op.origin, op.id.seq)) {
      if (!this.#stagedOps.delete(`${origin}:${seq}`)) this.#evictedOps.push([origin, seq]);
      this.#dirtyOrigins.add(origin);
    }
    const changes = emptySeenChanges();
    this.#seen.markSeen(op.origin, op.id.seq, changes);
    this.#stageSeenChanges(changes);
    this.#flushSoon(1);
  }

  #stageSeenChanges(changes: SeenChanges): void {
    for (const origin of changes.contiguous) this.#dirtyOrigins.add(origin);
    for (const [origin, seq] of changes.added)
      this.#seenWrites.set(`${origin}:${seq}`, { origin, seq, present: true });
    for (const [origin, seq] of changes.dropped)
      this.#seenWrites.set(`${origin}:${seq}`, { origin, seq, present: false });
  }

  #stageCell(entry: ObjectEntry, cell: unknown): void {
    const cellKey = (FAMILY_DEFINITIONS[entry.family].cellKey as (c: unknown) => Uint8Array)(cell);
    const name = `${entry.family}\u0000${entry.key}\u0000${bytesKey(cellKey)}`;
    const staged = this.#dirtyCells.get(name);
    if (staged === undefined) this.#dirtyCells.set(name, { entry, cellKey, cell });
    else staged.cell = cell;
  }

  #flushSoon(ops: number): void {
    this.#staged = true;
    this.#stagedOpCount += ops;
    if (this.#stagedOpCount >= OPS_PER_BATCH_MAX) {
      this.flush();
      return;
    }
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      try {
        this.flush();
      } catch (error) {
        // Kept staged: the next flush retries; flushed() reports it.
        this.#flushError = error;
        this.#logger.error("replicated state not written to the store", { error: String(error) });
      }
    });
  }

  #stagedWrites(): [Uint8Array, Uint8Array | undefined][] {
    const writes: [Uint8Array, Uint8Array | undefined][] = [];
    for (const dirty of this.#dirtyCells.values()) {
      const entry = dirty.entry;
      entry.prefix ??= crdtObjectPrefix(entry.family, entry.key);
      const codec = FAMILY_DEFINITIONS[entry.family].cellCodec as { toMsgpack(c: unknown): unknown };
      writes.push([
        cellStorageKey(entry.prefix, dirty.cellKey),
        withVersion(crdtPackr.pack(codec.toMsgpack(dirty.cell))),
      ]);
    }
    for (const op of this.#stagedOps.values()) {
      writes.push([opIdKey(OPLOG_PREFIX, op.id), withVersion(crdtPackr.pack(opToMsgpackValue(op)))]);
    }
    for (const [origin, seq] of this.#evictedOps)
      writes.push([opIdKey(OPLOG_PREFIX, makeOpId(origin, seq)), undefined]);
    for (const origin of this.#dirtyOrigins) {
      const record = crdtPackr.pack([this.#seen.contiguous(origin), this.#log.floor(origin)]);
      writes.push([originKey(VV_PREFIX, origin), withVersion(record)]);
    }
    for (const { origin, seq, present } of this.#seenWrites.values()) {
      writes.push([opIdKey(SEEN_PREFIX, makeOpId(origin, seq)), present ? SEEN_RECORD : undefined]);
    }
    writes.push([CLOCK_KEY, withVersion(crdtPackr.pack(this.#clock.last()))]);
    return writes;
  }

  #readLoggedOp(origin: NodeId, seq: number): Op {
    const id = makeOpId(origin, seq);
    const staged = this.#stagedOps.get(formatOpId(id));
    if (staged !== undefined) return staged;
    const record = this.#backend.get(opIdKey(OPLOG_PREFIX, id));
    if (record === undefined)
      throw new ReplicaStoreError(`op-log entry ${formatOpId(id)} is missing from the store`);
    return decodeOp(recordPayload(record, "op-log entry"));
  }

  #entry(family: CrdtFamily, key: string): ObjectEntry {
    const entries = this.#objects.get(family)!;
    let entry = entries.get(key);
    if (entry === undefined) {
      entry = { family, key, crdt: FAMILY_DEFINITIONS[family].create() as Crdt<unknown>, prefix: undefined };
      entries.set(key, entry);
    }
    return entry;
  }

  #crdt<F extends CrdtFamily>(family: F, key: string): CrdtOf<F> {
    return this.#entry(family, key).crdt as unknown as CrdtOf<F>;
  }

  #existing<F extends CrdtFamily>(family: F, key: string): CrdtOf<F> | undefined {
    return this.#objects.get(family)!.get(key)?.crdt as unknown as CrdtOf<F> | undefined;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ReplicaStoreError("the replicated state was closed");
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
      this.#seen.restoreContiguous(origin, record[0]);
      this.#log.raiseFloor(origin, record[1]);
    }
    for (const [key, value] of this.#backend.range({ prefix: SEEN_PREFIX })) {
      recordPayload(value, "seen entry");
      const { origin, seq } = parseOpIdKey(key, SEEN_PREFIX.length);
      this.#seen.restoreSparse(origin, seq);
    }
    for (const [key] of this.#backend.range({ prefix: OPLOG_PREFIX })) {
      const { origin, seq } = parseOpIdKey(key, OPLOG_PREFIX.length);
      // A lowered op_log_limit evicts at once; the deletes go out with the next batch.
      for (const evicted of this.#log.add(origin, seq)) {
        this.#evictedOps.push(evicted);
        this.#dirtyOrigins.add(evicted[0]);
      }
    }
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
    if (this.#evictedOps.length > 0) {
      this.#staged = true;
      this.flush();
    }
    this.#logger.debug("replicated state hydrated", {
      objects: [...this.#objects.values()].reduce((n, m) => n + m.size, 0),
      opLog: this.#log.size,
      seenSparse: this.#seen.sparseCount,
    });
  }
}

const SEEN_RECORD = withVersion(new Uint8Array(0));

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
