import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Op } from "../../crdt/op.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { createMemoryBackend } from "../../store/memory-backend.ts";
import { createSyncMessageCodec } from "../crdt-op-codec.ts";
import { openReplicatedState, type ReplicatedState } from "../replica/replicated-state.ts";
import { replicaForSync } from "../replica-sync-adapter.ts";
import type { SeededRandom } from "../seeded-random.ts";
import { runSimulation, type SimulatedReplica, type SimulationScenario } from "./simulation.ts";

const codec = createSyncMessageCodec();
const KEYS = ["a", "b", "c"];
const EPOCH_MS = 1_767_225_600_000; // 2026-01-01: HLC stamps are Unix ms

/** Every family, through the same CrdtHost calls guests make. */
function mutate(state: ReplicatedState, random: SeededRandom): void {
  const key = random.pick(KEYS);
  const bytes = (n: number) => new TextEncoder().encode(`v${n}`);
  switch (random.int(0, 9)) {
    case 0:
      state.gcounterInc(key, BigInt(random.int(1, 5)));
      break;
    case 1:
      state.pncounterInc(key, BigInt(random.int(1, 5)));
      break;
    case 2:
      state.pncounterDec(key, BigInt(random.int(1, 5)));
      break;
    case 3:
      state.lwwSet(key, bytes(random.int(0, 99)));
      break;
    case 4:
      state.lwwMapSet(key, bytes(random.int(0, 4)), bytes(random.int(0, 99)));
      break;
    case 5:
      state.lwwMapRemove(key, bytes(random.int(0, 4)));
      break;
    case 6:
      state.orsetAdd(key, bytes(random.int(0, 6)));
      break;
    case 7:
      state.orsetRemove(key, bytes(random.int(0, 6)));
      break;
    case 8: {
      const ids = state.rgaValues(key).length;
      state.rgaInsert(key, undefined, bytes(ids));
      break;
    }
    default: {
      state.rgaInsert(key, undefined, bytes(random.int(0, 99)));
      break;
    }
  }
}

function digest(state: ReplicatedState): string {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  return JSON.stringify(
    KEYS.map((key) => [
      state.gcounterValue(key).toString(),
      state.pncounterValue(key).toString(),
      hex(state.lwwGet(key) ?? new Uint8Array()),
      state.lwwMapEntries(key).map(([f, v]) => `${hex(f)}=${hex(v)}`),
      state.orsetElements(key).map(hex),
      state.rgaValues(key).map(hex),
    ]),
  );
}

function scenario(
  seed: number,
  overrides: Partial<SimulationScenario<Op>> = {},
  opLogLimit = 10_000,
): SimulationScenario<Op> {
  return {
    seed,
    nodeCount: 20,
    extraLinksPerNode: 1,
    faults: { delayMinMs: 1, delayMaxMs: 40, dropRate: 0.05, duplicateRate: 0.05 },
    engine: { antiEntropyIntervalMs: 500, batchOpsMax: 64 },
    tickIntervalMs: 10,
    mutationsPerNodePerSec: 20,
    faultyPhaseMs: 3000,
    partition: { fromMs: 800, toMs: 2200 },
    healedPhaseMaxMs: 5000,
    createReplica(index, nowMs, random, onLocalOps): SimulatedReplica<Op> {
      const nodeId = random
        .fill(new Uint8Array(16))
        .reduce((s, b) => s + b.toString(16).padStart(2, "0"), "");
      const state = openReplicatedState({
        backend: createMemoryBackend(),
        nodeId: nodeId as NodeId,
        nowMs: () => EPOCH_MS + nowMs() + index, // a little clock skew between nodes
        onLocalOps,
        opLogLimit,
      });
      return {
        ...replicaForSync(state),
        nodeId: nodeId as NodeId,
        // One run of a guest: a few writes, then the flush that ends it (a superseding write
        // within the run amends the op before it).
        mutate: (r) => {
          for (let writes = r.int(1, 3); writes > 0; writes--) mutate(state, r);
          state.flush();
        },
        digest: () => digest(state),
      };
    },
    transfer: (message) => codec.decode(codec.encode(message, "msgpack"), "msgpack") as typeof message,
    ...overrides,
  };
}

const SEEDS = (process.env.NX_SIM_SEEDS ?? "1,2,3").split(",").map(Number);

describe("deterministic simulation: 20 nodes, delays, drops, duplicates, a partition", () => {
  for (const seed of SEEDS) {
    test(`seed ${seed} converges after healing`, () => {
      const result = runSimulation(scenario(seed));
      assert.ok(result.mutations > 500, `the workload ran (${result.mutations} changes)`);
      assert.ok(result.messagesDropped > 0, "the network really dropped messages");
      assert.ok(
        result.converged,
        `seed ${seed} did not converge: ${result.distinctDigests} distinct states (replay with NX_SIM_SEEDS=${seed})`,
      );
    });
  }

  test("with K-fanout over a full mesh (K = ceil(log2 12) + 1 = 5 of 11 peers), it converges after healing", () => {
    const result = runSimulation(
      scenario(SEEDS[0]!, {
        nodeCount: 12,
        fullMesh: true,
        engine: { antiEntropyIntervalMs: 500, batchOpsMax: 64, fanoutExtra: 1, fanoutClusterSizeMin: 0 },
      }),
    );
    assert.ok(result.messagesDropped > 0, "the network really dropped messages");
    assert.ok(result.converged, `did not converge: ${result.distinctDigests} distinct states`);
  });

  test("nodes far behind a compacted op-log converge through state snapshots", () => {
    const result = runSimulation(scenario(11, { nodeCount: 8 }, 40));
    assert.ok(result.snapshotsApplied > 0, "the partitioned half needed snapshots");
    assert.ok(result.converged, `did not converge: ${result.distinctDigests} distinct states`);
  });

  test("the same seed replays the same run", () => {
    const a = runSimulation(scenario(42, { nodeCount: 6, faultyPhaseMs: 1000 }));
    const b = runSimulation(scenario(42, { nodeCount: 6, faultyPhaseMs: 1000 }));
    assert.deepEqual(a, b);
  });

  test("without anti-entropy a lossy network leaves replicas apart (the check can fail)", () => {
    const result = runSimulation(
      scenario(7, {
        nodeCount: 6,
        engine: { antiEntropyIntervalMs: Number.MAX_SAFE_INTEGER, batchOpsMax: 64 },
        faults: { delayMinMs: 1, delayMaxMs: 10, dropRate: 0.3, duplicateRate: 0 },
        partition: undefined,
        healedPhaseMaxMs: 1000,
      }),
    );
    assert.equal(result.converged, false);
  });
});
