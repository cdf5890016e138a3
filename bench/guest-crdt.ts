/**
 * Guest `crdt_gcounter_inc` on one node, every op persisted (op-log, state cell, version vector
 * in the same store batch), timed until the store has flushed, against guest `db_set` of a
 * 100-byte value on the same LMDB store in the same run (the ratio the CRDT issue asks for).
 *
 *   npm run bench -- guest-crdt [--quick] [--report FILE]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeId } from "../src/identity/node-id.ts";
import { silentLogger } from "../src/observe/logger.ts";
import { createGuestStore } from "../src/store/guest-store.ts";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { openReplicatedState } from "../src/sync/replica/replicated-state.ts";
import { GuestInstance } from "../src/wasm/guest-instance.ts";
import { loadGuestModuleBytes } from "../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../src/wasm/module-cache.ts";
import { recordingEnvironment } from "../test/fixtures/wasm/guest-runtime.ts";
import { fixtureWasm } from "../test/fixtures/wasm/wat-fixtures.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";

const TARGET_OPS_PER_SEC = 300_000;

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const ops = options.quick ? 20_000 : 300_000;
  const rounds = options.quick ? 1 : 5;
  const dir = await mkdtemp(join(tmpdir(), "nx-bench-guest-crdt-"));
  try {
    const backend = await openLmdbBackend({ path: dir });
    const state = openReplicatedState({ backend, nodeId: "5a".repeat(16) as NodeId, logger: silentLogger });
    const module = await loadGuestModuleBytes(await fixtureWasm("bench-crdt"), "bench-crdt.wasm", {
      memoryMaxBytes: 16 * 1024 * 1024,
      cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
      logger: silentLogger,
    });
    const guest = GuestInstance.create(module, {
      env: { ...recordingEnvironment("bench-crdt", createGuestStore(backend)), crdt: state },
      cpuMsPerRun: undefined,
    });
    const params = new DataView(guest.memory.buffer);
    const timed = async (op: number): Promise<number> => {
      params.setUint32(0, op, true);
      params.setUint32(4, ops, true);
      const started = performance.now();
      const result = await guest.run();
      if (!result.ok) throw result.failure;
      await state.flushed();
      await backend.flushed();
      if (params.getInt32(8, true) !== 0) throw new Error("a guest call did not answer 0");
      return Math.round(ops / ((performance.now() - started) / 1000));
    };
    const inc: number[] = [];
    const set: number[] = [];
    for (let round = 0; round < rounds; round++) {
      inc.push(await timed(0));
      set.push(await timed(1));
    }
    const expected = BigInt(ops * rounds);
    if (state.gcounterValue("bench/hits") !== expected) throw new Error("the counter lost increments");
    await state.close();
    await backend.close();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const incPerSec = median(inc);
    const setPerSec = median(set);
    return {
      benchmark: "guest-crdt",
      quick: options.quick,
      machine: { cpus: cpus().length, loadavg_1m: Number(loadavg()[0].toFixed(2)), node: process.version },
      ops_per_round: ops,
      gcounter_inc_ops_per_sec: incPerSec,
      db_set_ops_per_sec: setPerSec,
      ratio_to_db_set: Number((incPerSec / setPerSec).toFixed(3)),
      target_ops_per_sec: TARGET_OPS_PER_SEC,
      meets_target: incPerSec >= TARGET_OPS_PER_SEC,
      samples: { gcounter_inc: inc, db_set: set },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
