/**
 * What policy checks cost at the host call (docs/design/policies.md#cost): guest `db_get` of
 * existing keys and guest `crdt_gcounter_inc`, each by a guest whose module has a policy of 20
 * globs (the one that matches sorted last; every key under it, so after the first call the set's
 * last-matched prefix answers: docs/design/policies.md#cost), its keys in its namespace as
 * on a node (docs/design/policies.md#namespaces), against the same guest without a policy, on
 * the same store and replica, in alternating rounds of the same run. Target: >= 0.9x.
 * Rates per second of this process's CPU time decide (the figure a dedicated core would give on
 * a shared, noisy machine); wall-clock rates are reported beside them.
 *
 *   npm run bench -- policy [--quick] [--report FILE]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeId } from "../src/identity/node-id.ts";
import { silentLogger } from "../src/observe/logger.ts";
import { moduleNamespace } from "../src/policy/module-namespace.ts";
import { parsePolicy } from "../src/policy/module-policy.ts";
import { modulePolicyEnforcer } from "../src/policy/policy-enforcer.ts";
import { createGuestStore } from "../src/store/guest-store.ts";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { openReplicatedState } from "../src/sync/replica/replicated-state.ts";
import type { GuestEnvironment } from "../src/wasm/abi/guest-environment.ts";
import { GuestInstance } from "../src/wasm/guest-instance.ts";
import { type GuestModule, loadGuestModuleBytes } from "../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../src/wasm/module-cache.ts";
import { recordingEnvironment } from "../test/fixtures/wasm/guest-runtime.ts";
import { fixtureWasm } from "../test/fixtures/wasm/wat-fixtures.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median, type Rate, round, startRate } from "./sampling.ts";

const TARGET_RATIO = 0.9;
const GLOBS = 20;
const KEY_COUNT = 1000;
const KEY_BYTES = 16;

/** 19 globs that never match, then the one that does. */
function twentyGlobs(matching: string): string[] {
  return [...Array.from({ length: GLOBS - 1 }, (_, i) => `tenant${i}/*`), matching];
}

const MODULE_ID = "bench";

const NAMESPACE = moduleNamespace(
  MODULE_ID,
  parsePolicy(
    {
      capabilities: {
        db: { read: twentyGlobs("key-*") },
        crdt: { gcounter: twentyGlobs("bench/*") },
      },
    },
    "bench.policy.toml",
  ),
);

function keyOf(index: number): Uint8Array {
  return new TextEncoder().encode(`key-${String(index).padStart(KEY_BYTES - 4, "0")}`);
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const gets = options.quick ? 20_000 : 300_000;
  const incs = options.quick ? 20_000 : 200_000;
  const rounds = options.quick ? 1 : 7;
  const dir = await mkdtemp(join(tmpdir(), "nx-bench-policy-"));
  try {
    const backend = await openLmdbBackend({ path: dir });
    const state = openReplicatedState({ backend, nodeId: "5b".repeat(16) as NodeId, logger: silentLogger });
    const store = createGuestStore(backend);
    // The same keys at the root (the guest without a policy) and in the namespace (the other).
    for (let i = 0; i < KEY_COUNT; i++) {
      store.set(keyOf(i), new Uint8Array(100));
      store.set(NAMESPACE.storeKey(keyOf(i), 0, KEY_BYTES)!, new Uint8Array(100));
    }
    await backend.flushed();
    const load = async (name: string): Promise<GuestModule> =>
      loadGuestModuleBytes(await fixtureWasm(name), `${name}.wasm`, {
        memoryMaxBytes: 64 * 1024 * 1024,
        cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
        logger: silentLogger,
      });
    const storeModule = await load("bench-store");
    const crdtModule = await load("bench-crdt");
    const environment = (policed: boolean): GuestEnvironment => {
      const env: GuestEnvironment = { ...recordingEnvironment(MODULE_ID, store), crdt: state };
      if (policed) {
        env.namespace = NAMESPACE;
        env.policy = modulePolicyEnforcer(MODULE_ID, NAMESPACE, silentLogger, () => 0);
      }
      return env;
    };

    const dbGet = (policed: boolean) => {
      const guest = GuestInstance.create(storeModule, { env: environment(policed), cpuMsPerRun: undefined });
      const memory = new Uint8Array(guest.memory.buffer);
      for (let i = 0; i < KEY_COUNT; i++) memory.set(keyOf(i), 1024 + i * KEY_BYTES);
      const params = new DataView(guest.memory.buffer);
      return async (): Promise<Rate> => {
        params.setUint32(0, 0, true);
        params.setUint32(4, gets, true);
        params.setUint32(8, KEY_COUNT, true);
        params.setUint32(12, KEY_BYTES, true);
        params.setUint32(16, 100, true);
        const done = startRate(gets);
        const result = await guest.run();
        if (!result.ok) throw result.failure;
        if (params.getInt32(20, true) !== gets * 100) throw new Error("a db_get was denied or missed");
        return done();
      };
    };
    const gcounterInc = (policed: boolean) => {
      const guest = GuestInstance.create(crdtModule, { env: environment(policed), cpuMsPerRun: undefined });
      const params = new DataView(guest.memory.buffer);
      return async (): Promise<Rate> => {
        params.setUint32(0, 0, true);
        params.setUint32(4, incs, true);
        const done = startRate(incs);
        const result = await guest.run();
        if (!result.ok) throw result.failure;
        await state.flushed();
        await backend.flushed();
        if (params.getInt32(8, true) !== 0) throw new Error("a crdt_gcounter_inc was denied");
        return done();
      };
    };

    const figures: Record<string, unknown> = {};
    for (const [name, make] of [
      ["db_get", dbGet],
      ["crdt_gcounter_inc", gcounterInc],
    ] as const) {
      const bare = make(false);
      const policed = make(true);
      await bare();
      await policed();
      const bareRates: Rate[] = [];
      const policedRates: Rate[] = [];
      for (let round = 0; round < rounds; round++) {
        bareRates.push(await bare());
        policedRates.push(await policed());
      }
      const medianOf = (rates: Rate[], of: keyof Rate) => median(rates.map((rate) => rate[of]));
      const ratio = medianOf(policedRates, "cpu") / medianOf(bareRates, "cpu");
      figures[name] = {
        no_policy_ops_per_cpu_sec: round(medianOf(bareRates, "cpu")),
        policy_20_globs_ops_per_cpu_sec: round(medianOf(policedRates, "cpu")),
        ratio: round(ratio, 3),
        meets_target: ratio >= TARGET_RATIO,
        no_policy_ops_per_sec: round(medianOf(bareRates, "wall")),
        policy_20_globs_ops_per_sec: round(medianOf(policedRates, "wall")),
        wall_ratio: round(medianOf(policedRates, "wall") / medianOf(bareRates, "wall"), 3),
        cpu_samples: {
          no_policy: bareRates.map((rate) => round(rate.cpu)),
          policy: policedRates.map((rate) => round(rate.cpu)),
        },
      };
    }
    await state.close();
    await backend.close();
    return {
      benchmark: "policy",
      quick: options.quick,
      machine: { cpus: cpus().length, loadavg_1m: Number(loadavg()[0].toFixed(2)), node: process.version },
      globs: GLOBS,
      target_ratio: TARGET_RATIO,
      ...figures,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
