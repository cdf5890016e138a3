import type { ScenarioName } from "./gate-options.ts";
import { type LatencyMs, latencyMs } from "./latency-summary.ts";
import type { LoadRecorder } from "./load-recorder.ts";
import type { NodeResources, ResourceSample } from "./resource-sampler.ts";
import type { RunEnvironment } from "./run-environment.ts";
import { buildTimeline, type TimelinePoint } from "./timeline.ts";

/**
 * The JSON report of one gate run (docs/gates.md describes every field). Scenarios produce a
 * {@link ScenarioOutcome}; {@link assembleReport} adds what every gate has in common: totals,
 * latency percentiles, ratios to the same-run reference, the timeline and the common checks.
 */

export const REPORT_VERSION = 1;

/** A pass/fail condition of the run; a failed check fails the gate (exit 1). */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** A figure the issue asks for, with what was measured; informative, it does not fail the run. */
export interface Target {
  readonly name: string;
  readonly required: string;
  readonly measured: string;
  readonly met: boolean;
}

export interface GateEvent {
  /** Seconds from the start of the load (negative: before it). */
  readonly t_secs: number;
  readonly kind: string;
  readonly node?: string;
  readonly detail?: string;
}

/** The same-run reference workload (bench/gate/reference/): throughput of something Numax does not touch. */
export interface Reference {
  readonly name: string;
  readonly ops_sec: number;
  readonly duration_secs: number;
}

export interface ScenarioOutcome {
  readonly nodes: number;
  readonly durationSecs: number;
  readonly rateMode: "fixed" | "max";
  /** Per node. */
  readonly targetOpsSec: number;
  readonly recorder: LoadRecorder;
  readonly expectedCounter: number;
  readonly observedCounters: readonly number[];
  readonly converged: boolean;
  readonly convergenceWaitSecs: number | null;
  readonly restartsTotal: number;
  readonly resources: readonly NodeResources[];
  readonly samples: readonly ResourceSample[];
  readonly reference: Reference;
  readonly checks: readonly Check[];
  readonly targets: readonly Target[];
  /** Stamped with the runner's clock (performance.now()). */
  readonly events: readonly { atMs: number; kind: string; node?: string; detail?: string }[];
  readonly protocolErrors: readonly string[];
  readonly details: Readonly<Record<string, unknown>>;
}

export interface GateReport {
  readonly report_version: number;
  readonly scenario: ScenarioName;
  readonly smoke: boolean;
  readonly started_at: string;
  readonly nodes: number;
  readonly duration_secs: number;
  readonly rate_mode: "fixed" | "max";
  readonly target_ops_sec: number;
  /** Flags every node ran with beyond the gate's own (scenario defaults and --nx-args). */
  readonly nx_args: readonly string[];
  /** Whether the nodes talked mutual TLS (`--tls`) rather than plain TCP. */
  readonly tls: boolean;
  readonly ops_total: number;
  /** All nodes together, over the load window (first guest start to last guest end). */
  readonly ops_sec_avg: number;
  readonly ops_sec_avg_per_node: number;
  readonly load_secs: number;
  readonly errors_total: number;
  readonly expected_counter: number;
  readonly observed_counters: readonly number[];
  readonly converged: boolean;
  readonly convergence_wait_secs: number | null;
  readonly latency_ms: LatencyMs;
  readonly restarts_total: number;
  readonly node_resources: readonly NodeResources[];
  readonly reference: Reference;
  readonly ratios: {
    /** ops_sec_avg_per_node / reference.ops_sec. */
    readonly throughput_vs_reference: number;
    /** ops_sec_avg_per_node / target_ops_sec: 1 when the load kept to its schedule. */
    readonly throughput_vs_target: number;
    /** p99 latency expressed in reference operations (p99 seconds x reference ops/s). */
    readonly p99_in_reference_ops: number;
  };
  readonly passed: boolean;
  readonly checks: readonly Check[];
  readonly targets: readonly Target[];
  readonly events: readonly GateEvent[];
  readonly timeline: readonly TimelinePoint[];
  readonly details: Readonly<Record<string, unknown>>;
  readonly git_commit: string;
  readonly git_dirty: boolean;
  readonly node_version: string;
  readonly environment: RunEnvironment;
  /** The run's temporary directory (datastores, profiles); removed at the end unless --keep-data. */
  readonly work_dir: string;
}

/** Ops/s at or above this share of the target count as keeping up with the schedule. */
export const KEEP_UP_SHARE = 0.95;

const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;

export function assembleReport(input: {
  readonly scenario: ScenarioName;
  readonly smoke: boolean;
  readonly startedAt: Date;
  readonly outcome: ScenarioOutcome;
  readonly environment: RunEnvironment;
  readonly binMs: number;
  readonly nxArgs: readonly string[];
  readonly tls: boolean;
  readonly workDir: string;
}): GateReport {
  const { outcome } = input;
  const recorder = outcome.recorder;
  const startMs = recorder.loadStartMs();
  const endMs = recorder.loadEndMs();
  const loadSecs =
    startMs !== undefined && endMs !== undefined ? Math.max((endMs - startMs) / 1000, 1e-3) : 0;
  const opsTotal = recorder.opsTotal();
  const errorsTotal = recorder.errorsTotal();
  const opsSecAvg = loadSecs > 0 ? opsTotal / loadSecs : 0;
  const perNode = opsSecAvg / outcome.nodes;
  const latency = latencyMs(recorder.histogram());
  const zeroMs = startMs ?? 0;

  // Each guest that ran to its end must have run its schedule at >= 95 % of its rate; a node's
  // downtime between a kill and its restart (chaos) is no schedule, so it does not count.
  const finished = recorder.incarnations.flatMap((incarnation) => incarnation.summary?.line ?? []);
  const slowest = Math.min(
    ...finished.map((summary) => summary.ops / Math.max(summary.elapsed_us / 1e6, 1e-6) / summary.rate),
  );
  const keptUp = finished.length > 0 && slowest >= KEEP_UP_SHARE;
  const checks: Check[] = [
    {
      name: "no_errors",
      ok: errorsTotal === 0,
      detail: `${errorsTotal} of ${opsTotal} operations failed`,
    },
    {
      name: "guest_reports_valid",
      ok: outcome.protocolErrors.length === 0,
      detail: outcome.protocolErrors.length === 0 ? "all guest reports parsed" : outcome.protocolErrors[0]!,
    },
    ...outcome.checks,
  ];

  // Performance is a target, not a check: a rate above what the machine sustains is a finding,
  // not a broken run (gate:compare is the regression gate for performance).
  const targets: Target[] = [
    {
      name: "kept_up",
      required: `every guest ran its schedule at >= ${KEEP_UP_SHARE * 100} % of its rate`,
      measured:
        finished.length === 0
          ? "no guest finished its load"
          : `the slowest guest ran at ${round(slowest * 100, 1)} % of its rate`,
      met: keptUp,
    },
    ...outcome.targets,
  ];
  const timelineEnd = Math.max(
    endMs ?? zeroMs,
    ...outcome.events.map((event) => event.atMs),
    ...outcome.samples.map((sample) => sample.atMs),
  );
  return {
    report_version: REPORT_VERSION,
    scenario: input.scenario,
    smoke: input.smoke,
    started_at: input.startedAt.toISOString(),
    nodes: outcome.nodes,
    duration_secs: outcome.durationSecs,
    rate_mode: outcome.rateMode,
    target_ops_sec: outcome.targetOpsSec,
    nx_args: input.nxArgs,
    tls: input.tls,
    ops_total: opsTotal,
    ops_sec_avg: round(opsSecAvg),
    ops_sec_avg_per_node: round(perNode),
    load_secs: round(loadSecs, 3),
    errors_total: errorsTotal,
    expected_counter: outcome.expectedCounter,
    observed_counters: outcome.observedCounters,
    converged: outcome.converged,
    convergence_wait_secs:
      outcome.convergenceWaitSecs === null ? null : round(outcome.convergenceWaitSecs, 3),
    latency_ms: latency,
    restarts_total: outcome.restartsTotal,
    node_resources: outcome.resources,
    reference: outcome.reference,
    ratios: {
      throughput_vs_reference: round(perNode / outcome.reference.ops_sec, 4),
      throughput_vs_target: round(perNode / outcome.targetOpsSec, 4),
      p99_in_reference_ops: round((latency.p99 / 1000) * outcome.reference.ops_sec, 2),
    },
    passed: checks.every((check) => check.ok),
    checks,
    targets,
    events: outcome.events
      .map((event) => ({
        t_secs: round((event.atMs - zeroMs) / 1000, 3),
        kind: event.kind,
        ...(event.node === undefined ? {} : { node: event.node }),
        ...(event.detail === undefined ? {} : { detail: event.detail }),
      }))
      .sort((a, b) => a.t_secs - b.t_secs),
    timeline:
      startMs === undefined
        ? []
        : buildTimeline({
            incarnations: recorder.incarnations,
            samples: outcome.samples,
            zeroMs,
            endMs: timelineEnd,
            binMs: input.binMs,
          }),
    details: outcome.details,
    git_commit: input.environment.git_commit,
    git_dirty: input.environment.git_dirty,
    node_version: input.environment.node_version,
    environment: input.environment,
    work_dir: input.workDir,
  };
}
