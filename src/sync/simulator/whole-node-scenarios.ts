import { CONFIG_SCHEMA } from "../../config/schema.ts";
import { MAX_CONNECTIONS_DEFAULT } from "../connection-bound.ts";
import { SYNC_TICK_INTERVAL_MS } from "../sync-service.ts";
import type { SimulatedNodeTuning } from "./simulated-node.ts";
import type { FaultEvent, NetworkConditions, WholeNodeScenario } from "./whole-node-simulation.ts";

/** A node's defaults (`[limits]`), as `nx run` starts it. */
export const DEFAULT_NODE_TUNING: SimulatedNodeTuning = {
  tickIntervalMs: SYNC_TICK_INTERVAL_MS,
  antiEntropyIntervalMs: 30_000,
  fanoutExtra: CONFIG_SCHEMA.network.fanoutExtra.default,
  maxPeers: 64,
  maxConnections: MAX_CONNECTIONS_DEFAULT,
  backoff: { initialDelayMs: 500, maxDelayMs: 30_000, deadAfterFailures: 3 },
  socketTimeoutMs: 30_000,
  queuedOpsLimit: 10_000,
  adaptiveSendWindow: true,
};

const LOSSY: NetworkConditions = {
  lossRate: 0.1,
  duplicateRate: 0.02,
  delayMinMs: 1,
  delayMaxMs: 30,
  reorder: false,
};
const CALM: NetworkConditions = {
  lossRate: 0,
  duplicateRate: 0,
  delayMinMs: 1,
  delayMaxMs: 5,
  reorder: false,
};

const firstHalf = (nodeCount: number): number[] => Array.from({ length: nodeCount >> 1 }, (_, i) => i);

/**
 * The named scenarios of `npm run sim` (docs/design/peer-discovery.md). `nodeCount` and the
 * partition's length scale down for CI; the defaults are the issue's.
 */
export const WHOLE_NODE_SCENARIOS = {
  /** 50 nodes, 10 % loss, a 60 s partition into halves, heal: convergence after healing. */
  "partition-50": (seed: number, nodeCount = 50, partitionMs = 60_000): WholeNodeScenario => ({
    name: "partition-50",
    seed,
    nodeCount,
    network: LOSSY,
    tuning: DEFAULT_NODE_TUNING,
    mutationsPerNodePerSec: 0.5,
    workloadMs: 5_000 + partitionMs,
    faults: [
      { atMs: 5_000, kind: "partition", side: firstHalf(nodeCount) },
      { atMs: 5_000 + partitionMs, kind: "heal" },
    ],
    settleMaxMs: 60_000,
  }),
  /** Split brain with both halves writing, one-way loss first, reordering and duplicates; merge loses nothing. */
  "split-brain": (seed: number, nodeCount = 8): WholeNodeScenario => ({
    name: "split-brain",
    seed,
    nodeCount,
    network: { lossRate: 0.05, duplicateRate: 0.05, delayMinMs: 1, delayMaxMs: 40, reorder: true },
    tuning: DEFAULT_NODE_TUNING,
    mutationsPerNodePerSec: 2,
    workloadMs: 20_000,
    faults: [
      { atMs: 2_000, kind: "partition", side: firstHalf(nodeCount), oneWay: true },
      { atMs: 6_000, kind: "partition", side: firstHalf(nodeCount) },
      { atMs: 20_000, kind: "heal" },
    ],
    settleMaxMs: 60_000,
  }),
  /** Every node restarted in turn (reopening its store) while all keep writing. */
  "rolling-restart": (seed: number, nodeCount = 6): WholeNodeScenario => ({
    name: "rolling-restart",
    seed,
    nodeCount,
    network: CALM,
    tuning: DEFAULT_NODE_TUNING,
    mutationsPerNodePerSec: 2,
    workloadMs: 2_000 + nodeCount * 3_000,
    faults: Array.from({ length: nodeCount }, (_, node): FaultEvent[] => [
      { atMs: 2_000 + node * 3_000, kind: "stop", node },
      { atMs: 3_000 + node * 3_000, kind: "start", node },
    ]).flat(),
    settleMaxMs: 60_000,
  }),
  /** Nodes leave and new ones join through bootstrap while the others write. */
  churn: (seed: number, nodeCount = 8): WholeNodeScenario => ({
    name: "churn",
    seed,
    nodeCount,
    joinLater: [nodeCount - 2, nodeCount - 1],
    network: CALM,
    tuning: DEFAULT_NODE_TUNING,
    mutationsPerNodePerSec: 2,
    workloadMs: 15_000,
    faults: [
      { atMs: 3_000, kind: "start", node: nodeCount - 2 },
      { atMs: 5_000, kind: "stop", node: 2 },
      { atMs: 8_000, kind: "start", node: nodeCount - 1 },
      { atMs: 10_000, kind: "stop", node: 3 },
      { atMs: 12_000, kind: "start", node: 2 },
    ],
    settleMaxMs: 60_000,
  }),
  /**
   * A write storm over slow links: every node writes 100 changes a second for 10 s over links
   * of 150-350 ms with jitter and 2 % loss, with a send queue of 200 ops per peer: queues fill,
   * ops are shed and repaired from the op-log, send windows shrink; every op still arrives.
   */
  storm: (seed: number, nodeCount = 10, adaptiveSendWindow = true): WholeNodeScenario => ({
    name: "storm",
    seed,
    nodeCount,
    network: { lossRate: 0.02, duplicateRate: 0, delayMinMs: 150, delayMaxMs: 350, reorder: false },
    tuning: { ...DEFAULT_NODE_TUNING, queuedOpsLimit: 200, adaptiveSendWindow },
    mutationsPerNodePerSec: 100,
    workloadMs: 10_000,
    faults: [],
    settleMaxMs: 60_000,
  }),
  /** Nominal conditions for a long time: no dial of a live peer may fail. */
  nominal: (seed: number, nodeCount = 10, durationMs = 3_600_000): WholeNodeScenario => ({
    name: "nominal",
    seed,
    nodeCount,
    network: CALM,
    tuning: DEFAULT_NODE_TUNING,
    mutationsPerNodePerSec: 0.01,
    workloadMs: durationMs,
    faults: [],
    settleMaxMs: 60_000,
  }),
} as const;

export type WholeNodeScenarioName = keyof typeof WHOLE_NODE_SCENARIOS;
