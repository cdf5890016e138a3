import { createHash } from "node:crypto";
import { advanceSettled } from "../../clock/settled-advance.ts";
import { createVirtualClock } from "../../clock/virtual-clock.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { createMemoryNetwork, type MemoryRoute } from "../../net/memory-transport.ts";
import { createSeededRandom } from "../seeded-random.ts";
import { SimulatedNode, type SimulatedNodeTuning } from "./simulated-node.ts";
import { createSuspicionJudge } from "./suspicion-judge.ts";

/** How hostile the network is; rates are probabilities per frame. */
export interface NetworkConditions {
  readonly lossRate: number;
  readonly duplicateRate: number;
  readonly delayMinMs: number;
  readonly delayMaxMs: number;
  /** Frames of one connection may overtake each other (each gets its own delay). */
  readonly reorder: boolean;
}

/** A fault at a virtual time. `partition` cuts `side` from the rest (`oneWay`: only frames from `side` are lost). */
export type FaultEvent =
  | {
      readonly atMs: number;
      readonly kind: "partition";
      readonly side: readonly number[];
      readonly oneWay?: boolean;
    }
  | { readonly atMs: number; readonly kind: "heal" }
  | { readonly atMs: number; readonly kind: "stop"; readonly node: number }
  | { readonly atMs: number; readonly kind: "start"; readonly node: number };

export interface WholeNodeScenario {
  readonly name: string;
  readonly seed: number;
  readonly nodeCount: number;
  /** Nodes not started at time 0 (they join with a `start` fault). */
  readonly joinLater?: readonly number[];
  readonly network: NetworkConditions;
  readonly tuning: SimulatedNodeTuning;
  readonly mutationsPerNodePerSec: number;
  /** Running nodes make changes until then. */
  readonly workloadMs: number;
  readonly faults: readonly FaultEvent[];
  /** After the workload and the last fault, the time the nodes get to converge. */
  readonly settleMaxMs: number;
}

export interface WholeNodeResult {
  readonly name: string;
  readonly seed: number;
  readonly converged: boolean;
  /** From the end of the workload and of the faults (the heal) until every running node holds every op. */
  readonly convergenceAfterHealMs: number | undefined;
  /** Ops some node made or holds that a running node lacks at the end. */
  readonly lostOps: number;
  /**
   * SWIM suspicions (or dead declarations) of a member that was running and reachable both ways
   * from the node that first recorded them: one per suspected incarnation of a member, judged
   * when a node first records it (the accuser: gossip reaches the others later).
   */
  readonly falseSuspicions: number;
  /**
   * Suspected incarnations declared dead by a node that could reach the member both when it first
   * held the suspicion and when it declared (judged per declaring node, see suspicion-judge.ts).
   */
  readonly falseDeaths: number;
  /** Every SWIM suspicion, true or false, counted the same way. */
  readonly suspicions: number;
  readonly dialFailures: number;
  /** The most connections any node held at once (a bound caps it). */
  readonly peakConnections: number;
  readonly mutations: number;
  /**
   * The send path, sampled every 100 ms over the whole run: the longest per-peer queue and the
   * most batches in flight at one node, and ops shed and send-window cuts summed over the nodes.
   */
  readonly sendPath: {
    readonly longestQueue: number;
    readonly inflightBatchesPeak: number;
    readonly opsShed: number;
    readonly sendWindowCuts: number;
  };
  readonly frames: { readonly sent: number; readonly lost: number; readonly duplicated: number };
  readonly distinctDigests: number;
  /** SHA-256 of every frame's time, ends, type, size and fate, then every node's final state: equal runs, equal traces. */
  readonly traceSha256: string;
}

/** Unix ms at virtual time 0: HLC stamps are wall-clock ms. 2026-01-01. */
export const SIMULATION_EPOCH_MS = 1_767_225_600_000;
/** How often the settling phase checks for convergence (the resolution of convergenceAfterHealMs). */
const CONVERGENCE_CHECK_MS = 100;

/**
 * Runs whole nodes (peer management, framed connections over the in-memory transport, bootstrap
 * discovery and peer exchange, SWIM membership, the sync engine, a replica on a store that outlives restarts)
 * under one seed and one VirtualClock: the seed fixes the workload, every frame's delay, loss,
 * duplication and order, and the faults land at fixed virtual times. Nothing waits on real time
 * or real I/O, so the same scenario gives the same trace bit for bit.
 */
export async function runWholeNodeSimulation(scenario: WholeNodeScenario): Promise<WholeNodeResult> {
  const random = createSeededRandom(scenario.seed);
  const clock = createVirtualClock();
  const trace = createHash("sha256");
  const conditions = scenario.network;
  let cut: { side: ReadonlySet<NodeId>; oneWay: boolean } | undefined;
  const blocked = (from: NodeId, to: NodeId): boolean => {
    if (cut === undefined || cut.side.has(from) === cut.side.has(to)) return false;
    return !cut.oneWay || cut.side.has(from);
  };
  /** Frames go both ways between `a` and `b`: what a dial needs, and what makes a member reachable. */
  const bothWays = (a: NodeId, b: NodeId): boolean => !blocked(a, b) && !blocked(b, a);
  const frames = { sent: 0, lost: 0, duplicated: 0 };
  const network = createMemoryNetwork({
    clock,
    inOrder: !conditions.reorder,
    // A dial needs both directions (the handshake's retransmissions do not cross a partition).
    canConnect: bothWays,
    route: (packet) => {
      frames.sent++;
      const delay = () => random.int(conditions.delayMinMs, conditions.delayMaxMs);
      let fate: MemoryRoute;
      if (blocked(packet.fromNodeId, packet.toNodeId) || random.chance(conditions.lossRate)) fate = "drop";
      else if (random.chance(conditions.duplicateRate)) fate = [delay(), delay()];
      else fate = delay();
      if (fate === "drop") frames.lost++;
      else if (typeof fate !== "number") frames.duplicated++;
      trace.update(
        `${clock.now()} ${packet.fromNodeId} ${packet.toNodeId} ${packet.message.type} ${packet.bodyBytes} ${String(fate)}\n`,
      );
      return fate;
    },
  });

  let dialFailures = 0;
  const nodes: SimulatedNode[] = [];
  const byNodeId = new Map<string, SimulatedNode>();
  const judge = createSuspicionJudge({
    reachable: (observer, member) => {
      const accused = byNodeId.get(member);
      return accused?.running === true && bothWays(observer as NodeId, accused.nodeId);
    },
  });
  for (let index = 0; index < scenario.nodeCount; index++) {
    const nodeId = (index + 1).toString(16).padStart(32, "0") as NodeId;
    const node: SimulatedNode = new SimulatedNode({
      nodeId,
      address: `node-${index}:9000`,
      bootstrap: ["node-0:9000", "node-1:9000"],
      network,
      clock,
      epochMs: SIMULATION_EPOCH_MS,
      random,
      tuning: scenario.tuning,
      onDialFailed: () => {
        dialFailures++;
      },
      onMembershipChange: ({ member, previous, by }) => {
        if (member.state !== previous) judge.record(nodeId, member, by);
      },
    });
    nodes.push(node);
    byNodeId.set(node.nodeId, node);
  }

  const later = new Set(scenario.joinLater ?? []);
  for (const [index, node] of nodes.entries()) if (!later.has(index)) await node.start();

  let mutations = 0;
  const gapMs = 1000 / scenario.mutationsPerNodePerSec;
  for (const node of nodes) {
    const next = (): void => {
      if (clock.now() >= scenario.workloadMs) return;
      if (node.running) {
        node.mutate(random);
        mutations++;
      }
      clock.setTimeout(next, random.int(1, Math.max(1, Math.round(2 * gapMs))));
    };
    clock.setTimeout(next, random.int(0, Math.round(gapMs)));
  }
  for (const fault of scenario.faults) {
    clock.setTimeout(() => {
      switch (fault.kind) {
        case "partition":
          cut = { side: new Set(fault.side.map((i) => nodes[i].nodeId)), oneWay: fault.oneWay === true };
          break;
        case "heal":
          cut = undefined;
          break;
        case "stop":
          void nodes[fault.node].stop();
          break;
        case "start":
          void nodes[fault.node].start();
      }
    }, fault.atMs);
  }

  const sendPath = { longestQueue: 0, inflightBatchesPeak: 0, opsShed: 0, sendWindowCuts: 0 };
  /** Per node, its counters when last sampled (they restart with the node). */
  const counted = nodes.map(() => ({ opsShed: 0, sendWindowCuts: 0 }));
  const sample = (): void => {
    for (const [index, node] of nodes.entries()) {
      const now = node.sendPath();
      if (now === undefined) continue;
      sendPath.longestQueue = Math.max(sendPath.longestQueue, now.longestQueue);
      sendPath.inflightBatchesPeak = Math.max(sendPath.inflightBatchesPeak, now.inflightBatches);
      const before = counted[index];
      const restarted = now.opsShed < before.opsShed || now.sendWindowCuts < before.sendWindowCuts;
      sendPath.opsShed += now.opsShed - (restarted ? 0 : before.opsShed);
      sendPath.sendWindowCuts += now.sendWindowCuts - (restarted ? 0 : before.sendWindowCuts);
      counted[index] = { opsShed: now.opsShed, sendWindowCuts: now.sendWindowCuts };
    }
  };
  const sampleEvery = (): void => {
    sample();
    clock.setTimeout(sampleEvery, CONVERGENCE_CHECK_MS);
  };
  clock.setTimeout(sampleEvery, CONVERGENCE_CHECK_MS);

  const healMs = Math.max(scenario.workloadMs, ...scenario.faults.map((fault) => fault.atMs));
  await advanceSettled(clock, healMs);
  let convergedAtMs: number | undefined;
  while (clock.now() < healMs + scenario.settleMaxMs) {
    await advanceSettled(clock, CONVERGENCE_CHECK_MS);
    if (missingOps(nodes) === 0) {
      convergedAtMs = clock.now();
      break;
    }
  }
  const running = nodes.filter((node) => node.running);
  const digests = new Set(running.map((node) => node.digest()));
  for (const node of nodes) trace.update(`${node.nodeId} ${node.running} ${node.digest()}\n`);
  const lostOps = missingOps(nodes);
  sample();
  // Graceful closes take virtual time: the clock moves while the nodes stop.
  const stopped = Promise.all(nodes.map((node) => node.stop()));
  await advanceSettled(clock, scenario.tuning.socketTimeoutMs);
  await stopped;
  return {
    name: scenario.name,
    seed: scenario.seed,
    converged: convergedAtMs !== undefined && digests.size === 1,
    convergenceAfterHealMs: convergedAtMs === undefined ? undefined : convergedAtMs - healMs,
    lostOps,
    ...judge.counts(),
    dialFailures,
    peakConnections: Math.max(...nodes.map((node) => node.peakConnections)),
    mutations,
    sendPath,
    frames,
    distinctDigests: digests.size,
    traceSha256: trace.digest("hex"),
  };
}

/** Ops some node holds (a stopped one: held when it stopped) that a running node lacks, summed over running nodes. */
function missingOps(nodes: readonly SimulatedNode[]): number {
  const expected = new Map<NodeId, number>();
  for (const node of nodes) {
    for (const [origin, seq] of node.versionVector())
      expected.set(origin, Math.max(seq, expected.get(origin) ?? 0));
  }
  let missing = 0;
  for (const node of nodes) {
    if (!node.running) continue;
    const vector = node.versionVector();
    for (const [origin, seq] of expected) missing += Math.max(0, seq - (vector.get(origin) ?? 0));
  }
  return missing;
}
