/**
 * Dissemination and failure detection, on the seeded simulators (virtual time, no sockets):
 *
 *   npm run bench -- gossip [--quick] [--report FILE]
 *
 * - `dissemination`: N = 10, 50, 100 nodes in a full mesh of connections, each making counter
 *   ops; the same seed with full relay (every op to every peer, the behaviour before K-fanout),
 *   with K-fanout (K = ceil(log2 N) + 1) at every N, and `by_cluster_size` as a node runs it
 *   (full relay below FANOUT_CLUSTER_SIZE_MIN live members). Messages and bytes on the wire per op per node
 *   (every sync message, through the real codec; PushOps alone too), and the time to converge
 *   after a partition of half the nodes heals.
 * - `detection`: SWIM clusters of 10 and 50 with 1 % message loss; one node is killed; the time
 *   until the first live node declares it dead and until every live node does, p50/p99 over seeds.
 * - `false_positives`: 50 nodes, no node killed, for a simulated hour at 1 % and at 10 % loss:
 *   suspicions and deaths of live nodes (episodes: one member at one incarnation, however many
 *   nodes heard of it), per probe.
 */
import { cpus } from "node:os";
import type { Op } from "../src/crdt/op.ts";
import type { NodeId } from "../src/identity/node-id.ts";
import { SwimCluster } from "../src/membership/testing/swim-cluster.ts";
import { FRAME_HEADER_BYTES } from "../src/net/frame.ts";
import type { SessionMessage } from "../src/net/messages.ts";
import { createMemoryBackend } from "../src/store/memory-backend.ts";
import { createSyncMessageCodec } from "../src/sync/crdt-op-codec.ts";
import { openReplicatedState } from "../src/sync/replica/replicated-state.ts";
import { replicaForSync } from "../src/sync/replica-sync-adapter.ts";
import { runSimulation, type SimulationScenario } from "../src/sync/simulator/simulation.ts";
import { FANOUT_CLUSTER_SIZE_MIN } from "../src/sync/sync-engine.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";

const EPOCH_MS = 1_767_225_600_000;
const codec = createSyncMessageCodec();

interface Traffic {
  messages: number;
  bytes: number;
  pushMessages: number;
  pushBytes: number;
}

/** Counter ops on N nodes; every message passes through the codec and is counted. */
function scenario(
  seed: number,
  nodes: number,
  fanoutExtra: number | undefined,
  fanoutClusterSizeMin: number,
  traffic: Traffic,
  partitioned: boolean,
): SimulationScenario<Op> {
  const faultyPhaseMs = 4000;
  return {
    seed,
    nodeCount: nodes,
    extraLinksPerNode: 0,
    fullMesh: true,
    faults: { delayMinMs: 1, delayMaxMs: 20, dropRate: 0, duplicateRate: 0 },
    engine: { antiEntropyIntervalMs: 30_000, fanoutExtra, fanoutClusterSizeMin },
    tickIntervalMs: 20,
    // About 400 ops over the run, whatever N.
    mutationsPerNodePerSec: 100 / nodes,
    faultyPhaseMs,
    ...(partitioned ? { partition: { fromMs: 500, toMs: faultyPhaseMs } } : {}),
    healedPhaseMaxMs: 60_000,
    createReplica(index, nowMs, random, onLocalOps) {
      const nodeId = random
        .fill(new Uint8Array(16))
        .reduce((s, b) => s + b.toString(16).padStart(2, "0"), "") as NodeId;
      const state = openReplicatedState({
        backend: createMemoryBackend(),
        nodeId,
        nowMs: () => EPOCH_MS + nowMs() + index,
        onLocalOps,
        opLogLimit: 100_000,
      });
      return {
        ...replicaForSync(state),
        nodeId,
        mutate: () => {
          state.gcounterInc("visits", 1n);
          state.flush();
        },
        digest: () => state.gcounterValue("visits").toString(),
      };
    },
    transfer(message: SessionMessage<Op>) {
      const body = codec.encode(message, "msgpack");
      const bytes = body.length + FRAME_HEADER_BYTES;
      traffic.messages++;
      traffic.bytes += bytes;
      if (message.type === "PushOps") {
        traffic.pushMessages++;
        traffic.pushBytes += bytes;
      }
      return codec.decode(body, "msgpack") as typeof message;
    },
  };
}

function dissemination(
  nodes: number,
  fanoutExtra: number | undefined,
  seed: number,
  fanoutClusterSizeMin = FANOUT_CLUSTER_SIZE_MIN,
) {
  const traffic: Traffic = { messages: 0, bytes: 0, pushMessages: 0, pushBytes: 0 };
  const calm = runSimulation(scenario(seed, nodes, fanoutExtra, fanoutClusterSizeMin, traffic, false));
  const perOpPerNode = (value: number) => Number((value / calm.mutations / nodes).toFixed(2));
  const healed = runSimulation(
    scenario(
      seed,
      nodes,
      fanoutExtra,
      fanoutClusterSizeMin,
      { messages: 0, bytes: 0, pushMessages: 0, pushBytes: 0 },
      true,
    ),
  );
  return {
    ops: calm.mutations,
    converged: calm.converged && healed.converged,
    messages_per_op_per_node: perOpPerNode(traffic.messages),
    bytes_per_op_per_node: perOpPerNode(traffic.bytes),
    push_messages_per_op_per_node: perOpPerNode(traffic.pushMessages),
    push_bytes_per_op_per_node: perOpPerNode(traffic.pushBytes),
    convergence_after_heal_ms: healed.convergedAtMs === undefined ? null : healed.convergedAtMs - 4000,
  };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const measure = (
  message: Parameters<NonNullable<ConstructorParameters<typeof SwimCluster>[0]["measure"]>>[0],
) => codec.encode(message, "msgpack").length + FRAME_HEADER_BYTES;

function detection(nodes: number, seeds: number) {
  const first: number[] = [];
  const all: number[] = [];
  let bytesPerNodePerSec = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const cluster = new SwimCluster({ seed, nodes, lossRate: 0.01, measure });
    cluster.runFor(30_000);
    const bytesBefore = cluster.bytes;
    const victim = 1 + (seed % (nodes - 1));
    const killedAtMs = cluster.clock.now();
    cluster.kill(victim);
    cluster.runFor(120_000);
    bytesPerNodePerSec += (cluster.bytes - bytesBefore) / 120 / (nodes - 1) / seeds;
    const deaths = cluster.changes
      .filter(
        (c) => c.member.nodeId === cluster.ids[victim] && c.member.state === "dead" && c.atMs >= killedAtMs,
      )
      .map((c) => c.atMs - killedAtMs);
    const observers = new Set(
      cluster.changes
        .filter(
          (c) => c.member.nodeId === cluster.ids[victim] && c.member.state === "dead" && c.atMs >= killedAtMs,
        )
        .map((c) => c.observer),
    );
    if (observers.size < nodes - 1)
      throw new Error(`seed ${seed}: only ${observers.size} of ${nodes - 1} nodes saw the victim dead`);
    first.push(Math.min(...deaths));
    all.push(Math.max(...deaths));
  }
  return {
    nodes,
    loss_rate: 0.01,
    seeds,
    first_declared_dead_ms: { p50: percentile(first, 50), p99: percentile(first, 99) },
    all_declared_dead_ms: { p50: percentile(all, 50), p99: percentile(all, 99) },
    membership_bytes_per_node_per_sec: Math.round(bytesPerNodePerSec),
  };
}

function falsePositives(nodes: number, lossRate: number, durationMs: number) {
  const cluster = new SwimCluster({ seed: 2026, nodes, lossRate });
  cluster.runFor(30_000);
  const startMs = cluster.clock.now();
  const messagesBefore = cluster.messages;
  cluster.runFor(durationMs);
  const after = cluster.changes.filter((c) => c.atMs >= startMs);
  // Every message a probe round sends is about one probe: pings, acks, ping-reqs and their relays.
  const probes = Math.round((nodes * durationMs) / 1000);
  // One suspicion episode is one (member, incarnation) made suspect, however many nodes heard of it.
  const episodes = (state: string) =>
    new Set(
      after.filter((c) => c.member.state === state).map((c) => `${c.member.nodeId}@${c.member.incarnation}`),
    ).size;
  const suspicions = episodes("suspect");
  return {
    nodes,
    loss_rate: lossRate,
    simulated_secs: durationMs / 1000,
    probes,
    messages: cluster.messages - messagesBefore,
    false_suspicions: suspicions,
    false_deaths: episodes("dead"),
    false_suspicions_per_probe: Number((suspicions / probes).toExponential(2)),
  };
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const sizes = options.quick ? [10, 20] : [10, 50, 100];
  const rows = sizes.map((nodes) => ({
    nodes,
    k_fanout: Math.ceil(Math.log2(nodes)) + 1,
    full_relay: dissemination(nodes, undefined, 7),
    // The K-fanout at every N, and what a node runs: the mode chosen by cluster size.
    fanout: dissemination(nodes, 1, 7, 0),
    by_cluster_size: dissemination(nodes, 1, 7),
  }));
  const hourMs = options.quick ? 300_000 : 3_600_000;
  return {
    benchmark: "gossip",
    machine: { cpus: cpus().length },
    dissemination: rows,
    detection: (options.quick ? [10] : [10, 50]).map((nodes) => detection(nodes, options.quick ? 5 : 20)),
    false_positives: [falsePositives(50, 0.01, hourMs), falsePositives(50, 0.1, hourMs)],
  };
}
