/**
 * What a node's apply path costs per remote op, against raw lmdb-js writing the same records, in
 * the same run:
 *
 *   npm run bench -- replica-apply [--quick] [--report FILE]
 *
 * Ours: a `ReplicatedState` on the LMDB backend takes remote LWW-Map writes of distinct fields
 * (what `npm run gate -- three-node --keys N` makes every node do with its peers' ops), two origins
 * taking turns, in PushOps messages of APPLY_SLICE_WRITES ops as the node applies them (waiting on
 * `whenStoreHasRoom` before each, as the node does): decode the
 * message (the sync codec), `applyRemote` (dedup, apply, op-log and version-vector bookkeeping),
 * `flush` (the store batch), and at the end of a round `flushed()` (durable). Reference: lmdb-js
 * `put` of each op's field and value into a plain database (its own write thread commits and
 * fsyncs), then `await flushed`. Both are measured in CPU time of this process, every thread
 * (the commit threads) included; rounds alternate ours and the reference, the ratio is the median
 * of per-round ratios (reference CPU per op / ours: 1.0 is as cheap as raw puts).
 *
 * The phases of ours (decode, apply, store) are the main thread's CPU time in each
 * (`process.threadCpuUsage`), summed over the rounds; the commit thread's share is what the
 * process CPU adds on top.
 *
 * Batched: the same writes as `lww_map_batch` ops of BATCH_ENTRIES entries each (what a node
 * with `[sync] coalesce_map_writes` makes of small writes to one map: as many as
 * MAP_BATCH_BYTES_MAX holds), one op per message (a turn's slice), into a replica of its own; its
 * figures are per write (entry), against the same reference.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";
import { hlcFromPhysicalMs } from "../src/crdt/hybrid-clock.ts";
import { type LwwMapEntryWrite, makeOp, type Op, opWriteCount } from "../src/crdt/op.ts";
import { makeOpId } from "../src/crdt/op-id.ts";
import type { NodeId } from "../src/identity/node-id.ts";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { APPLY_SLICE_WRITES, applySliceEnd } from "../src/sync/apply-slice.ts";
import { createSyncMessageCodec } from "../src/sync/crdt-op-codec.ts";
import { openReplicatedState, type ReplicatedState } from "../src/sync/replica/replicated-state.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median, round } from "./sampling.ts";

const LOCAL = "00000000000000000000000000000001" as NodeId;
const ORIGINS = ["3f2a9c1e5b7d40e8a6c2f1b9d8e7a605", "9b1d7e3c5a2f48e0b6d4c8a1f3e5d709"] as NodeId[];
/** The gate's map key and field shape (`counter_load` with NX_GATE_KEYS). */
const MAP_KEY = "gate-counter";
const START_MS = 1_767_225_600_000;
/**
 * Entries of one batched op: what MAP_BATCH_BYTES_MAX holds of these writes' fields and values
 * (src/sync/replica/map-write-batch.ts; map-write-coalescing.test.ts checks the same fill).
 * Before that bound it was 1000, a batch interval's writes at 100 000 a second: the figures per
 * write were the same within the noise (docs/design/sync.md).
 */
const BATCH_ENTRIES = 45;
const encoder = new TextEncoder();

/** CPU time of this thread alone, in ms. */
function threadCpuMs(): number {
  const used = process.threadCpuUsage();
  return (used.user + used.system) / 1000;
}

interface RoundCost {
  /** CPU time of the process, every thread, per op in µs. */
  readonly cpuUsPerOp: number;
  readonly wallMs: number;
}

/** CPU (all threads) and wall time of `body`. */
async function measured(ops: number, body: () => Promise<void>): Promise<RoundCost> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await body();
  const used = process.cpuUsage(cpu);
  return { cpuUsPerOp: (used.user + used.system) / ops, wallMs: performance.now() - start };
}

/**
 * The ops of round `round`: `count` writes per origin of new fields, as ops of `entriesPerOp`
 * writes (1: plain `lww_map_set`), new sequences, interleaved by message; a message is what the
 * node applies in one turn (`applySliceEnd`).
 */
function roundMessages(round: number, countPerOrigin: number, entriesPerOp: number): Op[][] {
  const opsPerOrigin = Math.ceil(countPerOrigin / entriesPerOp);
  const byOrigin = ORIGINS.map((origin, o) => {
    const ops: Op[] = [];
    for (let k = 0; k < opsPerOrigin; k++) {
      const seq = round * opsPerOrigin + k + 1;
      const entries: LwwMapEntryWrite[] = [];
      for (let i = k * entriesPerOp; i < Math.min(countPerOrigin, (k + 1) * entriesPerOp); i++) {
        const write = round * countPerOrigin + i + 1;
        const value = new Uint8Array(8);
        new DataView(value.buffer).setBigUint64(0, BigInt(write), true);
        entries.push({
          field: encoder.encode(`n${o + 1}-${write}`),
          value,
          timestamp: hlcFromPhysicalMs(START_MS + write),
        });
      }
      const last = entries.at(-1)!;
      ops.push(
        makeOp(
          makeOpId(origin, seq),
          last.timestamp,
          MAP_KEY,
          entriesPerOp === 1
            ? { type: "lww_map_set", field: last.field, value: last.value! }
            : { type: "lww_map_batch", entries },
        ),
      );
    }
    return ops;
  });
  const messages: Op[][] = [];
  const next = ORIGINS.map(() => 0);
  while (next.some((start, o) => start < byOrigin[o]!.length)) {
    for (const [o, ops] of byOrigin.entries()) {
      if (next[o]! >= ops.length) continue;
      const end = applySliceEnd(ops, next[o]!, opWriteCount);
      messages.push(ops.slice(next[o], end));
      next[o] = end;
    }
  }
  return messages;
}

interface Phases {
  decode: number;
  apply: number;
  store: number;
}

/** Applies the encoded PushOps `bodies` to `replica` as the node does, adding each phase's main-thread CPU to `phases`. */
async function applyMessages(
  replica: ReplicatedState,
  bodies: readonly Uint8Array[],
  codec: ReturnType<typeof createSyncMessageCodec>,
  phases: Phases,
): Promise<void> {
  for (const body of bodies) {
    // As the node does before each slice: wait while the store has too much pending.
    await replica.whenStoreHasRoom();
    const t0 = threadCpuMs();
    const message = codec.decode(body, "msgpack");
    const t1 = threadCpuMs();
    if (message.type !== "PushOps") throw new Error("bench: not a PushOps");
    replica.applyRemote(message.ops);
    const t2 = threadCpuMs();
    replica.flush();
    phases.decode += t1 - t0;
    phases.apply += t2 - t1;
    phases.store += threadCpuMs() - t2;
  }
  const t3 = threadCpuMs();
  await replica.flushed();
  phases.store += threadCpuMs() - t3;
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const opsPerOrigin = options.quick ? 4_096 : 50_000;
  const rounds = options.quick ? 2 : 6;
  const opsPerRound = opsPerOrigin * ORIGINS.length;
  const dir = await mkdtemp(join(tmpdir(), "nx-bench-replica-apply-"));
  const codec = createSyncMessageCodec();
  const backend = await openLmdbBackend({ path: join(dir, "ours") });
  const replica = openReplicatedState({ backend, nodeId: LOCAL });
  const batchedBackend = await openLmdbBackend({ path: join(dir, "batched") });
  const batchedReplica = openReplicatedState({ backend: batchedBackend, nodeId: LOCAL });
  const raw: RootDatabase<Uint8Array, Uint8Array> = open({
    path: join(dir, "raw"),
    keyEncoding: "binary",
    encoding: "binary",
  });
  const ours: RoundCost[] = [];
  const batched: RoundCost[] = [];
  const reference: RoundCost[] = [];
  const phasesMs: Phases = { decode: 0, apply: 0, store: 0 };
  const batchedPhasesMs: Phases = { decode: 0, apply: 0, store: 0 };
  try {
    // Round 0 warms both paths up (JIT, first pages) and is not counted.
    for (let r = 0; r <= rounds; r++) {
      const encode = (messages: Op[][]) =>
        messages.map((ops) => codec.encode({ type: "PushOps", batchId: 1, ops }, "msgpack"));
      const bodies = encode(roundMessages(r, opsPerOrigin, 1));
      const batchedBodies = encode(roundMessages(r, opsPerOrigin, BATCH_ENTRIES));
      const records = roundMessages(r, opsPerOrigin, 1).flatMap((ops) =>
        ops.map((op) => {
          const kind = op.kind as { field: Uint8Array; value: Uint8Array };
          return [kind.field, kind.value] as const;
        }),
      );
      const phases: Phases = { decode: 0, apply: 0, store: 0 };
      const batchedPhases: Phases = { decode: 0, apply: 0, store: 0 };
      const runOurs = () => measured(opsPerRound, () => applyMessages(replica, bodies, codec, phases));
      const runBatched = () =>
        measured(opsPerRound, () => applyMessages(batchedReplica, batchedBodies, codec, batchedPhases));
      const runRaw = () =>
        measured(opsPerRound, async () => {
          for (const [key, value] of records) raw.put(key, value);
          await raw.flushed;
        });
      // Alternate which goes first: the machine's speed drifts.
      const order = r % 2 === 0 ? [runOurs, runBatched, runRaw] : [runRaw, runBatched, runOurs];
      const costs = new Map<() => Promise<RoundCost>, RoundCost>();
      for (const run of order) costs.set(run, await run());
      if (r === 0) continue;
      ours.push(costs.get(runOurs)!);
      batched.push(costs.get(runBatched)!);
      reference.push(costs.get(runRaw)!);
      for (const name of ["decode", "apply", "store"] as const) {
        phasesMs[name] += phases[name];
        batchedPhasesMs[name] += batchedPhases[name];
      }
    }
    if (replica.stats().remoteApplied !== (rounds + 1) * opsPerRound)
      throw new Error(
        `bench: ${replica.stats().remoteApplied} ops applied, expected ${(rounds + 1) * opsPerRound}`,
      );
    if (batchedReplica.lwwMapEntries(MAP_KEY).length !== (rounds + 1) * opsPerRound)
      throw new Error(`bench: ${batchedReplica.lwwMapEntries(MAP_KEY).length} batched writes applied`);
  } finally {
    await replica.close();
    await backend.close();
    await batchedReplica.close();
    await batchedBackend.close();
    await raw.close();
    await rm(dir, { recursive: true, force: true });
  }
  const measuredOps = rounds * opsPerRound;
  const perOp = (ms: number) => round((ms * 1000) / measuredOps, 2);
  const mainThread = (phases: Phases) => ({
    decode: perOp(phases.decode),
    apply: perOp(phases.apply),
    store: perOp(phases.store),
  });
  return {
    benchmark: "replica-apply",
    environment: {
      cpus: cpus().length,
      loadAverage: loadavg()[0],
      node: process.version,
      quick: options.quick,
    },
    opsPerRound,
    rounds,
    sliceWrites: APPLY_SLICE_WRITES,
    replica: {
      cpuUsPerOp: round(median(ours.map((c) => c.cpuUsPerOp)), 2),
      runsCpuUsPerOp: ours.map((c) => round(c.cpuUsPerOp, 2)),
      mainThreadUsPerOp: mainThread(phasesMs),
    },
    replicaBatched: {
      entriesPerOp: BATCH_ENTRIES,
      cpuUsPerWrite: round(median(batched.map((c) => c.cpuUsPerOp)), 2),
      runsCpuUsPerWrite: batched.map((c) => round(c.cpuUsPerOp, 2)),
      mainThreadUsPerWrite: mainThread(batchedPhasesMs),
    },
    rawLmdbPut: {
      cpuUsPerOp: round(median(reference.map((c) => c.cpuUsPerOp)), 2),
      runsCpuUsPerOp: reference.map((c) => round(c.cpuUsPerOp, 2)),
    },
    replicaVsRawPut: round(median(ours.map((c, i) => reference[i]!.cpuUsPerOp / c.cpuUsPerOp)), 3),
    batchedVsRawPut: round(median(batched.map((c, i) => reference[i]!.cpuUsPerOp / c.cpuUsPerOp)), 3),
  };
}
