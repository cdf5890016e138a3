import { createVirtualClock } from "../../clock/virtual-clock.ts";
import type { NodeId } from "../../identity/node-id.ts";
import type { SessionMessage } from "../../net/messages.ts";
import { createSeededRandom, type SeededRandom } from "../seeded-random.ts";
import { SyncEngine, type SyncEngineOptions, type SyncReplica } from "../sync-engine.ts";
import { CALM_NETWORK, type NetworkFaults, SimulatedNetwork } from "./simulated-network.ts";

/** One simulated node as the scenario builds it: its replica, and how to make a local change. */
export interface SimulatedReplica<Op> extends SyncReplica<Op> {
  readonly nodeId: NodeId;
  /** Makes one random local change (the replica hands the resulting op to `onLocalOps`). */
  mutate(random: SeededRandom): void;
  /** A canonical rendering of every value, equal on two replicas exactly when their states agree. */
  digest(): string;
}

export interface SimulationScenario<Op> {
  seed: number;
  nodeCount: number;
  /** Each node links to this many random others (beyond a ring that keeps the graph connected). */
  extraLinksPerNode: number;
  /** Every node links to every other (then `extraLinksPerNode` is moot). */
  fullMesh?: boolean;
  faults: NetworkFaults;
  engine: Partial<SyncEngineOptions>;
  tickIntervalMs: number;
  /** Local changes per node per virtual second during the faulty phase. */
  mutationsPerNodePerSec: number;
  faultyPhaseMs: number;
  /** A partition splitting the nodes in two during the faulty phase, from..to (virtual ms). */
  partition?: { fromMs: number; toMs: number };
  /** Time allowed after healing (calm network, no new changes) to converge. */
  healedPhaseMaxMs: number;
  createReplica(
    index: number,
    nowMs: () => number,
    random: SeededRandom,
    onLocalOps: (ops: readonly Op[]) => void,
  ): SimulatedReplica<Op>;
  /** Passes every message through the real wire codec. */
  transfer(message: SessionMessage<Op>): SessionMessage<Op>;
}

export interface SimulationResult {
  seed: number;
  converged: boolean;
  convergedAtMs: number | undefined;
  mutations: number;
  messagesDelivered: number;
  messagesDropped: number;
  distinctDigests: number;
  snapshotsApplied: number;
}

/**
 * A deterministic run: one seed drives topology, workload, delays, drops, duplicates and the
 * partition. A faulty phase (safety) is followed by a healed phase (liveness) in which every
 * replica must reach the same digest. The same seed replays the same run exactly.
 */
export function runSimulation<Op>(scenario: SimulationScenario<Op>): SimulationResult {
  const random = createSeededRandom(scenario.seed);
  const clock = createVirtualClock();
  const network = new SimulatedNetwork<Op>(clock, random, scenario.faults, scenario.transfer);
  const replicas: SimulatedReplica<Op>[] = [];
  const engines: SyncEngine<Op>[] = [];
  for (let index = 0; index < scenario.nodeCount; index++) {
    let engine: SyncEngine<Op> | undefined;
    const replica = scenario.createReplica(
      index,
      () => clock.now(),
      random,
      (ops) => {
        engine!.localOps(ops);
        network.send(replica.nodeId, engine!.flush());
      },
    );
    engine = new SyncEngine(replica, {
      random: () => random.next(),
      clock: () => clock.now(),
      ...scenario.engine,
    });
    replicas.push(replica);
    engines.push(engine);
    network.addNode(replica.nodeId, engine);
  }

  const linked = new Set<string>();
  const link = (a: number, b: number): void => {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (a === b || linked.has(key)) return;
    linked.add(key);
    network.link(replicas[a].nodeId, replicas[b].nodeId);
  };
  for (let i = 0; i < scenario.nodeCount; i++) {
    link(i, (i + 1) % scenario.nodeCount);
    for (let k = 0; k < scenario.extraLinksPerNode; k++) link(i, random.int(0, scenario.nodeCount - 1));
    if (scenario.fullMesh === true) for (let j = i + 1; j < scenario.nodeCount; j++) link(i, j);
  }

  const scheduleTicks = (index: number): void => {
    clock.setTimeout(() => {
      network.send(replicas[index].nodeId, engines[index].tick(clock.now()));
      scheduleTicks(index);
    }, scenario.tickIntervalMs);
  };
  replicas.forEach((_, index) => {
    scheduleTicks(index);
  });

  let mutations = 0;
  const mutationGapMs = 1000 / scenario.mutationsPerNodePerSec;
  replicas.forEach((replica) => {
    const next = (): void => {
      if (clock.now() >= scenario.faultyPhaseMs) return;
      replica.mutate(random);
      mutations++;
      clock.setTimeout(next, random.int(1, Math.max(1, Math.round(2 * mutationGapMs))));
    };
    clock.setTimeout(next, random.int(0, Math.round(mutationGapMs)));
  });

  if (scenario.partition !== undefined) {
    const half = replicas.slice(0, Math.floor(scenario.nodeCount / 2)).map((r) => r.nodeId);
    clock.setTimeout(() => network.partition([half]), scenario.partition.fromMs - clock.now());
    clock.setTimeout(() => network.heal(), scenario.partition.toMs - clock.now());
  }

  clock.advance(scenario.faultyPhaseMs - clock.now());
  network.heal();
  network.faults = CALM_NETWORK;

  let convergedAtMs: number | undefined;
  const endMs = scenario.faultyPhaseMs + scenario.healedPhaseMaxMs;
  while (clock.now() < endMs) {
    clock.advance(100);
    if (new Set(replicas.map((r) => r.digest())).size === 1) {
      convergedAtMs = clock.now();
      break;
    }
  }
  return {
    seed: scenario.seed,
    converged: convergedAtMs !== undefined,
    convergedAtMs,
    mutations,
    messagesDelivered: network.delivered,
    messagesDropped: network.dropped,
    distinctDigests: new Set(replicas.map((r) => r.digest())).size,
    snapshotsApplied: engines.reduce((sum, e) => sum + e.stats.snapshotsApplied, 0),
  };
}
