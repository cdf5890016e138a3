/**
 * What a node's apply path costs per remote op, against raw lmdb-js writing the same records, in
 * the same run:
 *
 *   npm run bench -- replica-apply [--quick] [--report FILE]
 *
 * Ours: a `ReplicatedState` on the LMDB backend takes remote LWW-Map writes of distinct fields
 * (what `npm run gate -- three-node --keys N` makes every node do with its peers' ops), two origins
 * taking turns, in PushOps messages of APPLY_SLICE_OPS ops as the node applies them (waiting on
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
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";
import { hlcFromPhysicalMs } from "../src/crdt/hybrid-clock.ts";
import { makeOp, type Op } from "../src/crdt/op.ts";
import { makeOpId } from "../src/crdt/op-id.ts";
import type { NodeId } from "../src/identity/node-id.ts";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { createSyncMessageCodec } from "../src/sync/crdt-op-codec.ts";
import { APPLY_SLICE_OPS } from "../src/sync/peer-manager.ts";
import { openReplicatedState } from "../src/sync/replica/replicated-state.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median, round } from "./sampling.ts";

const LOCAL = "00000000000000000000000000000001" as NodeId;
const ORIGINS = ["3f2a9c1e5b7d40e8a6c2f1b9d8e7a605", "9b1d7e3c5a2f48e0b6d4c8a1f3e5d709"] as NodeId[];
/** The gate's map key and field shape (`counter_load` with NX_GATE_KEYS). */
const MAP_KEY = "gate-counter";
const START_MS = 1_767_225_600_000;
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

/** The ops of round `round`: `count` per origin, new fields and sequences, interleaved by message. */
function roundMessages(round: number, countPerOrigin: number): Op[][] {
  const messages: Op[][] = [];
  for (let start = 0; start < countPerOrigin; start += APPLY_SLICE_OPS) {
    for (const [o, origin] of ORIGINS.entries()) {
      const ops: Op[] = [];
      for (let i = start; i < Math.min(countPerOrigin, start + APPLY_SLICE_OPS); i++) {
        const seq = round * countPerOrigin + i + 1;
        const value = new Uint8Array(8);
        new DataView(value.buffer).setBigUint64(0, BigInt(seq), true);
        ops.push(
          makeOp(makeOpId(origin, seq), hlcFromPhysicalMs(START_MS + seq), MAP_KEY, {
            type: "lww_map_set",
            field: encoder.encode(`n${o + 1}-${seq}`),
            value,
          }),
        );
      }
      messages.push(ops);
    }
  }
  return messages;
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const opsPerOrigin = options.quick ? 4_096 : 50_000;
  const rounds = options.quick ? 2 : 6;
  const opsPerRound = opsPerOrigin * ORIGINS.length;
  const dir = await mkdtemp(join(tmpdir(), "nx-bench-replica-apply-"));
  const codec = createSyncMessageCodec();
  const backend = await openLmdbBackend({ path: join(dir, "ours") });
  const replica = openReplicatedState({ backend, nodeId: LOCAL });
  const raw: RootDatabase<Uint8Array, Uint8Array> = open({
    path: join(dir, "raw"),
    keyEncoding: "binary",
    encoding: "binary",
  });
  const ours: RoundCost[] = [];
  const reference: RoundCost[] = [];
  const phasesMs = { decode: 0, apply: 0, store: 0 };
  try {
    // Round 0 warms both paths up (JIT, first pages) and is not counted.
    for (let r = 0; r <= rounds; r++) {
      const bodies = roundMessages(r, opsPerOrigin).map((ops) =>
        codec.encode({ type: "PushOps", batchId: 1, ops }, "msgpack"),
      );
      const records = roundMessages(r, opsPerOrigin).flatMap((ops) =>
        ops.map((op) => {
          const kind = op.kind as { field: Uint8Array; value: Uint8Array };
          return [kind.field, kind.value] as const;
        }),
      );
      const phases = { decode: 0, apply: 0, store: 0 };
      const runOurs = () =>
        measured(opsPerRound, async () => {
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
        });
      const runRaw = () =>
        measured(opsPerRound, async () => {
          for (const [key, value] of records) raw.put(key, value);
          await raw.flushed;
        });
      // Alternate which goes first: the machine's speed drifts.
      const first = r % 2 === 0 ? await runOurs() : await runRaw();
      const second = r % 2 === 0 ? await runRaw() : await runOurs();
      if (r === 0) continue;
      ours.push(r % 2 === 0 ? first : second);
      reference.push(r % 2 === 0 ? second : first);
      phasesMs.decode += phases.decode;
      phasesMs.apply += phases.apply;
      phasesMs.store += phases.store;
    }
    if (replica.stats().remoteApplied !== (rounds + 1) * opsPerRound)
      throw new Error(
        `bench: ${replica.stats().remoteApplied} ops applied, expected ${(rounds + 1) * opsPerRound}`,
      );
  } finally {
    await replica.close();
    await backend.close();
    await raw.close();
    await rm(dir, { recursive: true, force: true });
  }
  const measuredOps = rounds * opsPerRound;
  const perOp = (ms: number) => round((ms * 1000) / measuredOps, 2);
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
    sliceOps: APPLY_SLICE_OPS,
    replica: {
      cpuUsPerOp: round(median(ours.map((c) => c.cpuUsPerOp)), 2),
      runsCpuUsPerOp: ours.map((c) => round(c.cpuUsPerOp, 2)),
      mainThreadUsPerOp: {
        decode: perOp(phasesMs.decode),
        apply: perOp(phasesMs.apply),
        store: perOp(phasesMs.store),
      },
    },
    rawLmdbPut: {
      cpuUsPerOp: round(median(reference.map((c) => c.cpuUsPerOp)), 2),
      runsCpuUsPerOp: reference.map((c) => round(c.cpuUsPerOp, 2)),
    },
    replicaVsRawPut: round(median(ours.map((c, i) => reference[i]!.cpuUsPerOp / c.cpuUsPerOp)), 3),
  };
}
