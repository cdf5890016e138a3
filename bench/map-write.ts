/**
 * What a node's LOCAL distinct-key write costs, against raw lmdb-js putting the same cells, in
 * the same run:
 *
 *   npm run bench -- map-write [--quick] [--report FILE]
 *
 * Ours: a guest (bench/guests/map_write/map_write.wat) calls `crdt_lww_map_set` for distinct
 * fields of one LWW-Map in a loop, through the ABI into a `ReplicatedState` on the LMDB backend
 * with `[sync] coalesce_map_writes` on (what the gates' guests do with `--keys`); the replica
 * amends one `lww_map_batch` op per map per store batch, stages cells and op-log pages and
 * flushes. Once the round is durable (`flushed()`), its ops go to a `SyncEngine` with two
 * connected peers, as the sync service hands them over (`localOps`, then `flush`), and each
 * PushOps it returns is encoded with the node's message codec, as each peer's connection does
 * (TLS and the socket write are left out), then acknowledged. Reference: raw lmdb-js putting
 * distinct cells of the same size under the same keys (bench/gate/reference/lmdb-cells.ts, the
 * distinct-key gates' store reference, one process) for 1 s (0.8 s with --quick: at 0.3 s the
 * child's own warm-up spread the quick run's ratio 0.365-0.584).
 *
 * Both are CPU time, every thread (the commit thread included) per write; rounds alternate ours
 * and the reference. The ratio is the median of per-round ratios (reference CPU per cell / ours
 * per write: 1.0 is as cheap as raw puts). The phases of ours are the main thread's CPU time
 * (`process.threadCpuUsage`) summed over the rounds: `guest` (the guest's loop and its host
 * calls, with the flushes the replica makes inside it), `durable` (the last flush and the wait for
 * the commit), `push` (the engine and the encoding), `encode` (the encoding alone, inside push).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Op } from "../src/crdt/op.ts";
import type { NodeId } from "../src/identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES } from "../src/net/frame.ts";
import type { SessionMessage } from "../src/net/messages.ts";
import { silentLogger } from "../src/observe/logger.ts";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { createSyncMessageCodec, opWireBytesMax } from "../src/sync/crdt-op-codec.ts";
import { opBytesMaxOf } from "../src/sync/op-wire-budget.ts";
import { openReplicatedState } from "../src/sync/replica/replicated-state.ts";
import { replicaForSync } from "../src/sync/replica-sync-adapter.ts";
import { type Outgoing, SyncEngine } from "../src/sync/sync-engine.ts";
import { GuestInstance } from "../src/wasm/guest-instance.ts";
import { loadGuestModuleBytes } from "../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../src/wasm/module-cache.ts";
import { recordingEnvironment } from "../test/fixtures/wasm/guest-runtime.ts";
import { watToWasm } from "../test/fixtures/wasm/wat-fixtures.ts";
import {
  CELL_RECORD_BYTES,
  measureLmdbCells,
  STORE_REFERENCE_WRITES_PER_COMMIT,
} from "./gate/reference/lmdb-cells.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median, round } from "./sampling.ts";

const LOCAL = "00000000000000000000000000000001" as NodeId;
const PEERS = ["3f2a9c1e5b7d40e8a6c2f1b9d8e7a605", "9b1d7e3c5a2f48e0b6d4c8a1f3e5d709"] as NodeId[];
const MAP_KEY = "gate-counter";
const GUEST = new URL("./guests/map_write/map_write.wat", import.meta.url);

/** CPU time of this thread alone, in ms. */
function threadCpuMs(): number {
  const used = process.threadCpuUsage();
  return (used.user + used.system) / 1000;
}

interface Phases {
  guest: number;
  durable: number;
  push: number;
  encode: number;
}

/** What the pushes of the measured rounds sent. */
interface Pushed {
  batches: number;
  ops: number;
  bytes: number;
}

/**
 * Hands `ops` (durable) to `engine` and sends what it returns as the peer manager does: each
 * PushOps encoded (its connection's codec, once per peer), then acknowledged by its peer.
 */
function push(
  engine: SyncEngine<Op>,
  ops: readonly Op[],
  codec: ReturnType<typeof createSyncMessageCodec>,
  phases: Phases,
  pushed: Pushed,
): void {
  engine.localOps(ops);
  const outgoing: Outgoing<Op>[] = engine.flush();
  while (outgoing.length > 0) {
    const { peer, message } = outgoing.shift()!;
    if (message.type !== "PushOps") continue;
    const t0 = threadCpuMs();
    pushed.bytes += codec.encode(message, "msgpack").byteLength;
    phases.encode += threadCpuMs() - t0;
    pushed.batches++;
    pushed.ops += message.ops.length;
    const ack: SessionMessage<Op> = {
      type: "PushOpsAck",
      batchId: message.batchId,
      applied: message.ops.length,
    };
    outgoing.push(...engine.receive(peer, ack, performance.now()));
  }
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const writesPerRound = options.quick ? 20_000 : 100_000;
  const rounds = options.quick ? 3 : 6;
  const referenceMs = options.quick ? 800 : 1_000;
  const dir = await mkdtemp(join(tmpdir(), "nx-bench-map-write-"));
  const backend = await openLmdbBackend({ path: join(dir, "ours") });
  const replica = openReplicatedState({
    backend,
    nodeId: LOCAL,
    coalesceMapWrites: true,
    logger: silentLogger,
  });
  let undurable: Op[] = [];
  replica.setSyncHooks({ onLocalOps: (ops) => undurable.push(...ops) });
  const engine = new SyncEngine<Op>(replicaForSync(replica), {
    batchBytes: { bytesMax: opBytesMaxOf(DEFAULT_MAX_MESSAGE_SIZE_BYTES), opBytes: opWireBytesMax },
    clock: () => performance.now(),
  });
  for (const peer of PEERS) engine.peerConnected(peer, 0, DEFAULT_MAX_MESSAGE_SIZE_BYTES);
  const codec = createSyncMessageCodec();
  const module = await loadGuestModuleBytes(
    await watToWasm(await readFile(GUEST, "utf8"), "map_write.wat"),
    "map_write.wasm",
    {
      memoryMaxBytes: 1024 * 1024,
      cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
      logger: silentLogger,
    },
  );
  const guest = GuestInstance.create(module, {
    env: { ...recordingEnvironment("map-write"), crdt: replica },
    cpuMsPerRun: undefined,
  });
  const params = new DataView(guest.memory.buffer);
  const ours: number[] = [];
  const reference: number[] = [];
  const phasesMs: Phases = { guest: 0, durable: 0, push: 0, encode: 0 };
  const pushedTotal: Pushed = { batches: 0, ops: 0, bytes: 0 };
  const runOurs = async (r: number, phases: Phases, pushed: Pushed): Promise<number> => {
    const cpu = process.cpuUsage();
    const t0 = threadCpuMs();
    params.setUint32(0, r * writesPerRound, true);
    params.setUint32(4, writesPerRound, true);
    const result = await guest.run();
    if (!result.ok) throw result.failure;
    if (params.getInt32(8, true) !== 0) throw new Error("bench: a crdt_lww_map_set call did not answer 0");
    const t1 = threadCpuMs();
    replica.flush();
    await replica.flushed();
    const t2 = threadCpuMs();
    const ops = undurable;
    undurable = [];
    push(engine, ops, codec, phases, pushed);
    phases.guest += t1 - t0;
    phases.durable += t2 - t1;
    phases.push += threadCpuMs() - t2;
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / writesPerRound;
  };
  const runReference = async (): Promise<number> =>
    (
      await measureLmdbCells({
        directory: dir,
        processes: 1,
        durationMs: referenceMs,
        valueBytes: CELL_RECORD_BYTES,
        writesPerCommit: STORE_REFERENCE_WRITES_PER_COMMIT,
      })
    ).cpu_us_per_cell[0]!;
  try {
    // Round 0 warms ours up (JIT, first pages) and is not counted.
    await runOurs(0, { guest: 0, durable: 0, push: 0, encode: 0 }, { batches: 0, ops: 0, bytes: 0 });
    for (let r = 1; r <= rounds; r++) {
      // Alternate which goes first: the machine's speed drifts.
      if (r % 2 === 0) reference.push(await runReference());
      ours.push(await runOurs(r, phasesMs, pushedTotal));
      if (r % 2 === 1) reference.push(await runReference());
    }
    const fields = replica.lwwMapEntries(MAP_KEY).length;
    if (fields !== (rounds + 1) * writesPerRound)
      throw new Error(`bench: the map holds ${fields} fields, expected ${(rounds + 1) * writesPerRound}`);
    if (engine.queuedOps() !== 0 || engine.inflightBatches() !== 0)
      throw new Error("bench: ops left unsent or unacknowledged");
  } finally {
    await replica.close();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  }
  const writes = rounds * writesPerRound;
  const perWrite = (ms: number) => round((ms * 1000) / writes, 2);
  return {
    benchmark: "map-write",
    environment: {
      cpus: cpus().length,
      loadAverage: loadavg()[0],
      node: process.version,
      quick: options.quick,
    },
    writesPerRound,
    rounds,
    peers: PEERS.length,
    local: {
      cpuUsPerWrite: round(median(ours), 2),
      runsCpuUsPerWrite: ours.map((us) => round(us, 2)),
      mainThreadUsPerWrite: {
        guest: perWrite(phasesMs.guest),
        durable: perWrite(phasesMs.durable),
        push: perWrite(phasesMs.push),
        encode: perWrite(phasesMs.encode),
      },
      pushed: {
        batchesPerPeer: round(pushedTotal.batches / PEERS.length, 1),
        writesPerOp: round((writes * PEERS.length) / pushedTotal.ops, 1),
        opsPerBatch: round(pushedTotal.ops / pushedTotal.batches, 1),
        encodeUsPerBatch: round((phasesMs.encode * 1000) / pushedTotal.batches, 1),
        bytesPerWrite: round(pushedTotal.bytes / (writes * PEERS.length), 1),
      },
    },
    rawLmdbCells: {
      cpuUsPerCell: round(median(reference), 2),
      runsCpuUsPerCell: reference.map((us) => round(us, 2)),
    },
    rawVsLocal: round(median(ours.map((us, i) => reference[i]! / us)), 3),
  };
}
