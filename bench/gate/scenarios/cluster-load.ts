import { join } from "node:path";
import { CleanupStack } from "../cleanup-stack.ts";
import { Cluster, type WireTraffic } from "../cluster.ts";
import { allEqual, awaitCounters, type ConvergenceResult } from "../convergence.ts";
import type { Check, ScenarioOutcome, Target } from "../gate-report.ts";
import { guestModulePath } from "../guest-modules.ts";
import { LoadRecorder } from "../load-recorder.ts";
import {
  bestPassingRate,
  bestPassingRateWithin,
  FULL_RUN_SEARCH,
  nextRate,
  type SearchPolicy,
} from "../max-rate-search.ts";
import { collectLoopStats, collectProfiles } from "../node-launcher.ts";
import { type NodeSyncView, readNodeSyncView } from "../observability-client.ts";
import {
  CELL_RECORD_BYTES,
  type LmdbCellsReference,
  measureLmdbCells,
  STORE_REFERENCE_WRITES_PER_COMMIT,
} from "../reference/lmdb-cells.ts";
import { measureLoopbackEcho } from "../reference/loopback-echo.ts";
import { ResourceSampler } from "../resource-sampler.ts";
import { waitUntil } from "../wait-until.ts";
import type { ScenarioContext } from "./scenario.ts";

/**
 * `three-node` and `ten-node`: every node increments one GCounter at the target rate (open-loop)
 * for the duration; then the runner polls every node's value until all equal the sum of the
 * increments the guests made, and times it from the end of the load. With `--rate max` it first
 * searches (short trials on fresh clusters, max-rate-search.ts) for the highest rate per node
 * at which the cluster keeps to its schedule and converges within 1 s, then runs the full
 * duration at that rate. Reference: a loopback TCP echo measured just before.
 *
 * With `--keys N` each operation writes a field of the LWW-Map COUNTER_KEY instead (node i's
 * fields are "n<i>-0" to "n<i>-<N-1>", cycling): with N at least the operations of a run, every
 * write is a key of its own, and each node decodes, dedups, applies, stores and relays every
 * write of the others. Every node runs with `[sync] coalesce_map_writes` (KEYS_NX_ARGS), so the
 * writes of a map within a store batch travel as one op. Convergence is then every node's version
 * vector holding each node's own op count as that node reports it once the load ended (the
 * counts: ops seen of the cluster's ops); afterwards each node's map must hold every field written.
 */

export const COUNTER_KEY = "gate-counter";

/** The issue's figures per node for `--rate max`. */
const TARGET_OPS_SEC_PER_NODE: Record<string, number> = { "three-node": 50_000, "ten-node": 5_000 };
const CONVERGENCE_BOUND_SECS = 1;
const PEER_WAIT_MS = 30_000;
/** Time given to a cluster to start and connect before its guests start together. */
const START_ALLOWANCE_BASE_MS = 1_500;
const START_ALLOWANCE_PER_NODE_MS = 350;

export interface ClusterRound {
  readonly recorder: LoadRecorder;
  readonly sampler: ResourceSampler;
  readonly convergence: ConvergenceResult;
  /**
   * Seconds from the end of the load as scheduled (the latest guest start + duration) to
   * convergence: a load generator that fell behind its schedule counts against it too.
   */
  readonly convergedAfterScheduleSecs: number | null;
  readonly expected: number;
  readonly printed: readonly (number | undefined)[];
  readonly exits: readonly string[];
  readonly exitsOk: boolean;
  readonly propagation: Record<string, number | null> | undefined;
  /** Bytes on the wire, all nodes: per op in PushOps batches and per increment of the load. */
  readonly wire: WireFigures | undefined;
  /** Each node's replica and sync-engine counters at the end (from /v1/node). */
  readonly syncStats: readonly (Readonly<Record<string, unknown>> | null)[];
  /** `--keys`: the fields each node's map holds once converged, against those written. */
  readonly mapFields:
    | { readonly expected: number; readonly observed: readonly (number | undefined)[] }
    | undefined;
  /** `--keys`: the guests' writes, all nodes (ops carry several with coalesced map writes). */
  readonly writes: number | undefined;
  /**
   * `--keys`: each node's CPU seconds once converged, before the runner reads the whole map (a
   * JSON answer of every field, about a tenth of a node's busy time in a profile at 20 000/s).
   */
  readonly cpuSecsAtConvergence: readonly number[] | undefined;
  /**
   * `--keys`: writes of the other nodes (distinct ops, as the issue counts them) applied per node
   * per second, from the start of the load to convergence.
   */
  readonly replicatedOpsSecPerNode: number | null;
  readonly events: { atMs: number; kind: string; node?: string; detail?: string }[];
  readonly protocolErrors: readonly string[];
}

export interface WireFigures {
  readonly bytes_sent: number;
  readonly ops_sent: number;
  /** PushOps frame bytes ÷ ops they carried (relays included). */
  readonly bytes_per_op: number | null;
  /** Every frame sent (acks, pings, pulls too) ÷ the increments the guests made. */
  readonly bytes_per_increment: number | null;
}

function wireFigures(traffic: WireTraffic, increments: number): WireFigures {
  const ratio = (a: number, b: number): number | null => (b === 0 ? null : Math.round((a / b) * 100) / 100);
  return {
    bytes_sent: traffic.bytesSent,
    ops_sent: traffic.opsSent,
    bytes_per_op: ratio(traffic.pushOpsBytesSent, traffic.opsSent),
    bytes_per_increment: ratio(traffic.bytesSent, increments),
  };
}

/** Node environment common to the cluster gates. */
export function counterGuestEnv(options: {
  readonly rate: number;
  readonly durationMs: number;
  readonly minPeers: number;
  readonly smoke: boolean;
  /** Default COUNTER_KEY, shared by every node. */
  readonly counterKey?: string;
  /** Count on from the counter's value at start (chaos: a restarted guest resumes). */
  readonly resume?: boolean;
  /** Histograms in interval lines too (chaos: a killed guest sends no summary). */
  readonly intervalHistograms?: boolean;
  /** Wall-clock ms at which every guest starts its load (once its peers are connected). */
  readonly startAtMs?: number;
  /** Write LWW-Map fields cycling over this many per node instead of incrementing (`--keys`). */
  readonly keys?: number;
  /** Prefix of this node's field names, so that no two nodes write the same field. */
  readonly fieldPrefix?: string;
}): Record<string, string> {
  return {
    NX_GATE_START_AT_MS: String(options.startAtMs ?? 0),
    NX_GATE_RATE: String(options.rate),
    NX_GATE_DURATION_MS: String(Math.max(1, Math.round(options.durationMs))),
    NX_GATE_COUNTER_KEY: options.counterKey ?? COUNTER_KEY,
    NX_GATE_MIN_PEERS: String(options.minPeers),
    NX_GATE_PEER_WAIT_MS: String(PEER_WAIT_MS),
    NX_GATE_REPORT_MS: options.smoke ? "250" : "500",
    NX_GATE_RESUME: options.resume === true ? "1" : "0",
    NX_GATE_INTERVAL_HIST: options.intervalHistograms === true ? "1" : "0",
    NX_GATE_KEYS: String(options.keys ?? 0),
    NX_GATE_FIELD_PREFIX: options.fieldPrefix ?? "",
  };
}

/** Waits until the latest process of every node reported the end of its load. */
export function waitForLoadEnd(
  cluster: Cluster,
  what: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  return waitUntil(
    what,
    () => cluster.unexpectedExit() ?? cluster.nodes.every((node) => node.incarnation.summary !== undefined),
    { timeoutMs, signal },
  );
}

/** One cluster, one load at `rate` per node for `durationSecs`, convergence, graceful stop. */
export async function runClusterRound(
  context: ScenarioContext,
  options: { readonly rate: number; readonly durationSecs: number; readonly label: string },
): Promise<ClusterRound> {
  const { settings, signal } = context;
  const recorder = new LoadRecorder();
  const sampler = new ResourceSampler();
  // Each round cleans up after itself; the run's stack still holds it in case the round throws.
  const cleanup = new CleanupStack();
  context.cleanup.defer(`cluster ${options.label}`, () => cleanup.runAll());
  const workDir = join(context.workDir, options.label);
  // Every guest starts at the same moment, once the whole cluster had time to start and connect:
  // a guest starting as soon as its own peers were up would run part of its load against
  // nodes still starting, and stretch the load window over the spread of the starts.
  const startAtMs = Date.now() + START_ALLOWANCE_BASE_MS + START_ALLOWANCE_PER_NODE_MS * settings.nodes;
  const keys = settings.keys;
  try {
    const cluster = await Cluster.start({
      size: settings.nodes,
      modulePath: guestModulePath("counter_load"),
      // A map of every field written is too large to print on stop: --keys checks it over /v1/.
      counterKeys: keys === undefined ? [COUNTER_KEY] : [],
      nxArgs: settings.nxArgs,
      tls: settings.tls,
      launch: {
        workDir,
        cleanup,
        recorder,
        sampler,
        cpuProf: settings.cpuProf,
        loopStats: settings.loopStats,
      },
      guestEnv: (index) =>
        counterGuestEnv({
          rate: options.rate,
          durationMs: options.durationSecs * 1000,
          minPeers: settings.nodes - 1,
          smoke: settings.smoke,
          startAtMs,
          keys,
          fieldPrefix: `n${index}-`,
        }),
    });
    sampler.start();
    await waitForLoadEnd(
      cluster,
      `the ${settings.nodes} guests to finish their load`,
      PEER_WAIT_MS + options.durationSecs * 10_000 + 30_000,
      signal,
    );
    const loadEndMs = recorder.loadEndMs()!;
    const timeoutMs = settings.smoke ? 10_000 : 30_000;
    let expected: number;
    let convergence: ConvergenceResult;
    let mapFields: ClusterRound["mapFields"];
    let writes: number | undefined;
    let cpuSecsAtConvergence: number[] | undefined;
    let replicatedOpsSecPerNode: number | null = null;
    if (keys === undefined) {
      expected = cluster.nodes.reduce((sum, node) => sum + node.incarnation.summary!.line.done, 0);
      convergence = await awaitCounters(() => cluster.readCounters(), allEqual(expected), {
        fromMs: loadEndMs,
        timeoutMs,
        signal,
      });
    } else {
      const ownOps = await readOwnOpCounts(cluster, timeoutMs, signal);
      expected = [...ownOps.values()].reduce((sum, ops) => sum + ops, 0);
      convergence = await awaitCounters(() => readOpsSeen(cluster, ownOps), allEqual(expected), {
        fromMs: loadEndMs,
        timeoutMs,
        signal,
      });
      await sampler.sampleAll();
      cpuSecsAtConvergence = sampler.summary().map((node) => node.cpu_secs);
      mapFields = {
        expected: cluster.nodes.reduce(
          (sum, node) => sum + Math.min(keys, node.incarnation.summary!.line.done),
          0,
        ),
        observed: await cluster.readMapSizes(COUNTER_KEY),
      };
      writes = cluster.nodes.reduce((sum, node) => sum + node.incarnation.summary!.line.done, 0);
      if (convergence.atMs !== null) {
        const secs = (convergence.atMs - recorder.loadStartMs()!) / 1000;
        const fromOthers = (writes * (settings.nodes - 1)) / settings.nodes;
        replicatedOpsSecPerNode = Math.round(fromOthers / secs);
      }
    }
    const scheduledEndMs = Math.max(
      ...cluster.nodes.map((node) => node.incarnation.start!.atMs + node.incarnation.start!.line.duration_ms),
    );
    const { propagation, traffic } = await cluster.readMetrics();
    const syncStats = (await cluster.readSyncViews()).map((view) => view?.stats ?? null);
    await sampler.sampleAll();
    const printed = await cluster.stop();
    await sampler.stop();
    const events = [
      { atMs: loadEndMs, kind: "load_end" },
      ...(convergence.atMs === null ? [] : [{ atMs: convergence.atMs, kind: "converged" }]),
    ];
    return {
      recorder,
      sampler,
      convergence,
      convergedAfterScheduleSecs:
        convergence.atMs === null ? null : Math.max(0, (convergence.atMs - scheduledEndMs) / 1000),
      expected,
      printed,
      exits: cluster.nodes.map((node) => node.process.describeExit()),
      exitsOk: cluster.nodes.every((node) => node.process.exit?.code === 0),
      propagation,
      wire: traffic === undefined ? undefined : wireFigures(traffic, expected),
      syncStats,
      mapFields,
      writes,
      cpuSecsAtConvergence,
      replicatedOpsSecPerNode,
      events,
      protocolErrors: cluster.nodes.flatMap((node) => node.process.protocolErrors),
    };
  } finally {
    await cleanup.runAll();
  }
}

/**
 * `--keys`: each node's own op count (its entry of its own version vector) once its load ended,
 * by node id: nothing adds to them any more. A node still busy with its peers' ops may take a
 * while to answer: each is asked again until it does.
 */
async function readOwnOpCounts(
  cluster: Cluster,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Map<string, number>> {
  const views: (NodeSyncView | undefined)[] = cluster.nodes.map(() => undefined);
  await waitUntil(
    "every node's own op count (/v1/node)",
    async () => {
      const missing = cluster.nodes.filter((node) => views[node.index] === undefined);
      const answers = await Promise.all(missing.map((node) => readNodeSyncView(node.observabilityPort)));
      for (const [i, node] of missing.entries()) views[node.index] = answers[i];
      return views.every((view) => view !== undefined);
    },
    { timeoutMs, signal },
  );
  return new Map(views.map((view) => [view!.nodeId, view!.versionVector[view!.nodeId] ?? 0]));
}

/** `--keys`: per node, how many of the cluster's ops (`ownOps`) its version vector covers. */
async function readOpsSeen(
  cluster: Cluster,
  ownOps: ReadonlyMap<string, number>,
): Promise<(number | undefined)[]> {
  return (await cluster.readSyncViews()).map((view) => {
    if (view === undefined) return undefined;
    let seen = 0;
    for (const [origin, ops] of ownOps) seen += Math.min(ops, view.versionVector[origin] ?? 0);
    return seen;
  });
}

/** Correctness checks of a finished round. */
export function roundChecks(
  round: Pick<ClusterRound, "convergence" | "expected" | "printed" | "exits" | "exitsOk"> &
    Partial<Pick<ClusterRound, "mapFields">>,
): Check[] {
  const fields = round.mapFields;
  return [
    {
      name: "converged",
      ok: round.convergence.converged,
      detail: round.convergence.converged
        ? `every node counted ${round.expected}${fields === undefined ? "" : " ops"} after ${round.convergence.waitSecs?.toFixed(3)} s`
        : `expected ${round.expected} everywhere, last seen [${round.convergence.observed.join(", ")}]`,
    },
    fields === undefined
      ? {
          name: "counters_after_shutdown",
          ok: round.printed.every((value) => value === round.expected),
          detail: `printed on graceful stop: [${round.printed.join(", ")}], expected ${round.expected}`,
        }
      : {
          name: "map_fields_after_convergence",
          ok: fields.observed.every((value) => value === fields.expected),
          detail: `fields of the map on each node: [${fields.observed.join(", ")}], expected ${fields.expected}`,
        },
    {
      name: "nodes_exited_ok",
      ok: round.exitsOk,
      detail: round.exits.join("; "),
    },
  ];
}

function trialPassed(round: ClusterRound): boolean {
  const summaries = round.recorder.incarnations.map((incarnation) => incarnation.summary?.line);
  const keptUp = summaries.every(
    (summary) => summary !== undefined && summary.ops / (summary.elapsed_us / 1e6) >= 0.95 * summary.rate,
  );
  return (
    keptUp &&
    round.recorder.errorsTotal() === 0 &&
    round.convergedAfterScheduleSecs !== null &&
    round.convergedAfterScheduleSecs <= CONVERGENCE_BOUND_SECS
  );
}

export async function clusterLoadScenario(context: ScenarioContext): Promise<ScenarioOutcome> {
  const { settings, say } = context;
  say(`reference: loopback TCP echo for ${settings.smoke ? 0.3 : 2} s`);
  const reference = await measureLoopbackEcho(settings.smoke ? 300 : 2000);
  say(`reference: ${reference.ops_sec} round trips/s`);
  let storeBound: LmdbCellsReference | undefined;
  if (settings.keys !== undefined) {
    const secs = settings.smoke ? 0.3 : 3;
    say(`reference: raw lmdb-js putting distinct cells in ${settings.nodes} processes at once for ${secs} s`);
    storeBound = await measureLmdbCells({
      directory: context.workDir,
      processes: settings.nodes,
      durationMs: secs * 1000,
      valueBytes: CELL_RECORD_BYTES,
      writesPerCommit: STORE_REFERENCE_WRITES_PER_COMMIT,
    });
    say(
      `reference: ${storeBound.cells_sec_per_process.join(", ")} cells/s per process: at most ${storeBound.ops_sec} distinct writes/s per node could be stored on all ${settings.nodes}`,
    );
  }

  const search: Record<string, unknown>[] = [];
  let rate: number;
  if (settings.rate === "max") {
    const policy: SearchPolicy = settings.smoke
      ? { startRate: 200, precision: 0.5, maxTrials: 3, minRate: 10 }
      : FULL_RUN_SEARCH;
    const trialSecs = settings.smoke ? 1 : 5;
    const trials: { rate: number; passed: boolean }[] = [];
    for (
      let candidate = nextRate(trials, policy);
      candidate !== undefined;
      candidate = nextRate(trials, policy)
    ) {
      say(`--rate max: trial ${trials.length + 1} at ${candidate} ops/s per node for ${trialSecs} s`);
      const round = await runClusterRound(context, {
        rate: candidate,
        durationSecs: trialSecs,
        label: `trial-${trials.length + 1}`,
      });
      const passed = trialPassed(round);
      trials.push({ rate: candidate, passed });
      search.push(trialRecord(candidate, round, passed, settings.nodes));
      say(`  ${passed ? "passed" : "failed"}: ${JSON.stringify(search.at(-1))}`);
    }
    rate = bestPassingRate(trials) ?? policy.minRate;
    say(`--rate max: ${rate} ops/s per node; full run of ${settings.durationSecs} s`);
  } else {
    rate = settings.rate;
  }

  const round = await runClusterRound(context, { rate, durationSecs: settings.durationSecs, label: "run" });
  const perNode = trialRecord(rate, round, trialPassed(round), settings.nodes).ops_sec_per_node as number;
  const targetPerNode = TARGET_OPS_SEC_PER_NODE[settings.scenario];
  const targets: Target[] = [];
  if (targetPerNode !== undefined) {
    targets.push({
      name: "throughput_per_node",
      required: `>= ${targetPerNode} ops/s per node at --rate max`,
      measured: `${perNode} ops/s per node${settings.rate === "max" ? "" : ` (fixed rate ${rate})`}`,
      met: perNode >= targetPerNode,
    });
  }
  targets.push({
    name: "converged_within_1s",
    required: `<= ${CONVERGENCE_BOUND_SECS} s after the end of the load as scheduled`,
    measured:
      round.convergedAfterScheduleSecs === null
        ? "did not converge"
        : `${round.convergedAfterScheduleSecs.toFixed(3)} s (${round.convergence.waitSecs?.toFixed(3)} s after the last guest finished)`,
    met:
      round.convergedAfterScheduleSecs !== null && round.convergedAfterScheduleSecs <= CONVERGENCE_BOUND_SECS,
  });
  return {
    nodes: settings.nodes,
    durationSecs: settings.durationSecs,
    rateMode: settings.rate === "max" ? "max" : "fixed",
    targetOpsSec: rate,
    recorder: round.recorder,
    expectedCounter: round.expected,
    observedCounters: round.convergence.observed.map((value) => value ?? -1),
    converged: round.convergence.converged,
    convergenceWaitSecs: round.convergence.waitSecs,
    restartsTotal: 0,
    resources: round.sampler.summary(),
    samples: round.sampler.samples,
    reference,
    checks: roundChecks(round),
    targets,
    events: round.events,
    protocolErrors: round.protocolErrors,
    details: {
      counter_key: COUNTER_KEY,
      printed_counters: round.printed,
      propagation_latency: round.propagation ?? null,
      wire: round.wire ?? null,
      converged_after_scheduled_end_secs: round.convergedAfterScheduleSecs,
      start_spread_secs: Math.round(round.recorder.startSpreadMs()) / 1000,
      sync_stats: round.syncStats,
      ...(settings.keys === undefined
        ? {}
        : {
            distinct_keys: {
              keys_per_node: settings.keys,
              ops_total: round.expected,
              writes_total: round.writes ?? null,
              map_fields: round.mapFields ?? null,
              replicated_ops_sec_per_node: round.replicatedOpsSecPerNode,
              // The same figure if every node wrote at the store bound (each node applies the
              // writes of the N - 1 others), and the run's share of it.
              store_bound: storeBound ?? null,
              replicated_ops_sec_per_node_at_store_bound:
                storeBound === undefined ? null : storeBound.ops_sec * (settings.nodes - 1),
              replicated_vs_store_bound:
                storeBound === undefined || round.replicatedOpsSecPerNode === null
                  ? null
                  : Math.round(
                      (round.replicatedOpsSecPerNode / (storeBound.ops_sec * (settings.nodes - 1))) * 1000,
                    ) / 1000,
              converged_after_load_secs: round.convergence.waitSecs,
              // What a loaded machine does not change: each node's CPU (start-up included, the
              // runner's read of the whole map after convergence not) per write it holds.
              node_cpu_us_per_op: (round.cpuSecsAtConvergence ?? []).map((cpuSecs) =>
                Math.round((cpuSecs * 1e6) / Math.max(round.writes ?? round.expected, 1)),
              ),
            },
          }),
      ...(settings.rate === "max"
        ? {
            rate_search: search,
            highest_trial_rate_with_p99_at_most_100ms:
              bestPassingRateWithin(
                search.map((trial) => ({
                  rate: trial.rate as number,
                  passed: trial.passed as boolean,
                  p99Ms: trial.p99_ms as number,
                })),
                100,
              ) ?? null,
          }
        : {}),
      ...(settings.loopStats
        ? {
            loop_stats: collectLoopStats(
              join(context.workDir, "run"),
              round.recorder.incarnations.map((incarnation) => incarnation.node),
            ),
          }
        : {}),
      ...(settings.cpuProf
        ? {
            cpu_profiles: collectProfiles(
              join(context.workDir, "run"),
              round.recorder.incarnations.map((incarnation) => incarnation.node),
            ),
          }
        : {}),
    },
  };
}

function trialRecord(
  rate: number,
  round: ClusterRound,
  passed: boolean,
  nodes: number,
): Record<string, unknown> {
  const start = round.recorder.loadStartMs() ?? 0;
  const end = round.recorder.loadEndMs() ?? start;
  const secs = Math.max((end - start) / 1000, 1e-3);
  return {
    rate,
    passed,
    ops_sec_per_node: Math.round(round.recorder.opsTotal() / secs / nodes),
    ...(round.mapFields === undefined ? {} : { replicated_ops_sec_per_node: round.replicatedOpsSecPerNode }),
    errors: round.recorder.errorsTotal(),
    converged: round.convergence.converged,
    convergence_wait_secs: round.convergence.waitSecs,
    converged_after_scheduled_end_secs: round.convergedAfterScheduleSecs,
    start_spread_secs: Math.round(round.recorder.startSpreadMs()) / 1000,
    p99_ms: round.recorder.histogram().getValueAtPercentile(99) / 1000,
  };
}
