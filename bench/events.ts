/**
 * Reactive module figures (issue 12), each beside a reference measured in the same run:
 *
 * - remote_op_latency: from a local op on one node to `on_remote_op` entering on another, three
 *   real `nx run` nodes on loopback, 1 000 ops/s per node (bench/guests/events_latency: LWW
 *   registers carrying their write time; how the nodes share a clock is said there). Reference:
 *   the nodes' own propagation latency (numax_propagation_latency_seconds: an op created on one
 *   node, applied on another) over the same interval, read from /metrics.
 * - message_dispatch_per_sec: events per second into one module's `on_message` that only counts
 *   (bench/guests/events_dispatch, publishing to itself closed-loop, so nothing is dropped).
 *   Reference: messages per second between two WebAssembly processes with plain proc_send /
 *   proc_receive in the same closed loop (bench/guests/proc_stream), on a node of its own,
 *   alternating with the events runs.
 *
 * Run: `npm run bench -- events --report bench/out/events.json` (add --quick for a smoke run;
 * --cpu-prof adds a summary of every node's V8 CPU profile to the report).
 * The guests are built first (scripts/build-guests.ts); the nodes are bin/nx.js, so run
 * `npm run build:cli` after changing src/.
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "./gate/free-port.ts";
import { addGuestHistogram, latencyMs, newLatencyHistogram } from "./gate/latency-summary.ts";
import { collectProfiles, profileDirectory } from "./gate/node-launcher.ts";
import { NxProcess, type NxProcessSpec, REPO_ROOT } from "./gate/nx-process.ts";
import { readMetricsText } from "./gate/observability-client.ts";
import { type BucketCounts, bucketPercentile, parseHistogram, sumSamples } from "./gate/prometheus-text.ts";
import { sleepMs, waitUntil } from "./gate/wait-until.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median, round } from "./sampling.ts";

const TARGET_P99_MS = 10;
const TARGET_DISPATCH_RATIO = 0.5;
const NODES = 3;
const OPS_PER_SEC_PER_NODE = 1000;
/** The guests' report lines start with this tag (bench/guests/lib/json-line.ts). */
const LINE_TAG = "@bench ";
/** From launch to the first write: the nodes start and connect meanwhile. */
const START_DELAY_MS = 5_000;
const STOP_GRACE_MS = 10_000;
/** Bounds every wait on a node (start, reports, exit) on a busy shared machine. */
const NODE_WAIT_MS = 60_000;

interface Sizes {
  /** Latency: seconds of load before the measured interval, then measured. */
  latencyWarmupSec: number;
  latencySec: number;
  /** Dispatch: rounds (an events run and a reference run each), one-second reports per run. */
  dispatchRounds: number;
  dispatchWarmupReports: number;
  dispatchReports: number;
}

const FULL: Sizes = {
  latencyWarmupSec: 3,
  latencySec: 10,
  dispatchRounds: 3,
  dispatchWarmupReports: 1,
  dispatchReports: 4,
};
const QUICK: Sizes = {
  latencyWarmupSec: 1,
  latencySec: 3,
  dispatchRounds: 1,
  dispatchWarmupReports: 1,
  dispatchReports: 1,
};

/** With --cpu-prof: the work directory every node writes its profile under (node-launcher.ts layout). */
const profileRoot: { workDir: string | undefined } = { workDir: undefined };
const profiledNodes: string[] = [];

/** Starts one node, profiled when asked. */
function startNode(spec: NxProcessSpec): Promise<NxProcess> {
  const workDir = profileRoot.workDir;
  if (workDir === undefined) return NxProcess.start(spec);
  const directory = profileDirectory(workDir, spec.name);
  mkdirSync(directory, { recursive: true });
  profiledNodes.push(spec.name);
  return NxProcess.start({ ...spec, nodeFlags: ["--cpu-prof", "--cpu-prof-dir", directory] });
}

function buildGuests(): void {
  const built = spawnSync(
    process.execPath,
    [join(REPO_ROOT, "scripts/build-guests.ts"), "events_latency", "events_dispatch", "proc_stream"],
    { encoding: "utf8" },
  );
  if (built.status !== 0) throw new Error(`building the benchmark guests failed:\n${built.stderr}`);
}

const guestPath = (name: string): string => join(REPO_ROOT, "bench/guests", name, "build", `${name}.wasm`);

/** The guest's report lines of `nx` so far, parsed, of one `type`. */
function reports<T>(nx: NxProcess, type: string): T[] {
  const out: T[] = [];
  for (const line of nx.otherLines) {
    const at = line.indexOf(LINE_TAG);
    if (at === -1) continue;
    const report = JSON.parse(line.slice(at + LINE_TAG.length)) as { type: string };
    if (report.type === type) out.push(report as T);
  }
  return out;
}

function failIfExited(nodes: readonly NxProcess[]): string | false {
  const gone = nodes.find((nx) => !nx.running);
  return gone === undefined ? false : `${gone.describeExit()}\n${gone.stderrTail()}`;
}

async function stopAll(nodes: readonly NxProcess[]): Promise<string[]> {
  const exits = await Promise.all(nodes.map((nx) => nx.stop(STOP_GRACE_MS)));
  return exits.flatMap((exit, i) =>
    exit.code === 0 ? [] : [`${nodes[i]!.describeExit()}\n${nodes[i]!.stderrTail()}`],
  );
}

// ---- latency ------------------------------------------------------------------------------------

interface LatencyReport {
  t_ms: number;
  sent: number;
  received: number;
  negative: number;
  hist: [number, number][];
}

/**
 * The propagation histogram of every node, added up (cumulative bucket counts); undefined while a
 * node has applied no op from a peer yet (no histogram in its /metrics).
 */
async function propagation(ports: readonly number[]): Promise<BucketCounts | undefined> {
  const texts = await Promise.all(ports.map(readMetricsText));
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const text of texts) {
    const histogram =
      text === undefined ? undefined : parseHistogram(text, "numax_propagation_latency_seconds");
    if (histogram === undefined) return undefined;
    for (const [bound, value] of histogram.buckets) buckets.set(bound, (buckets.get(bound) ?? 0) + value);
    count += histogram.count;
    sum += histogram.sum;
  }
  return { buckets, count, sum };
}

function histogramDifference(after: BucketCounts, before: BucketCounts): BucketCounts {
  const buckets = new Map<number, number>();
  for (const [bound, value] of after.buckets) buckets.set(bound, value - (before.buckets.get(bound) ?? 0));
  return { buckets, count: after.count - before.count, sum: after.sum - before.sum };
}

/** Remote-op events the nodes dropped (full queues); ticks skipped while one runs are not counted. */
async function droppedRemoteOps(ports: readonly number[]): Promise<number> {
  const texts = await Promise.all(ports.map(readMetricsText));
  return texts.reduce(
    (total, text) =>
      total + sumSamples(text ?? "", "numax_module_events_dropped_total", { kind: "remote_op" }),
    0,
  );
}

async function measureLatency(sizes: Sizes, workDir: string) {
  const ports = await freePorts(2 * NODES);
  const listen = ports.slice(0, NODES);
  const observe = ports.slice(NODES);
  const startAtMs = Date.now() + START_DELAY_MS;
  const nodes: NxProcess[] = [];
  try {
    for (let i = 0; i < NODES; i++) {
      nodes.push(
        await startNode({
          name: `n${i}`,
          modulePath: guestPath("events_latency"),
          args: [
            "--datastore-path",
            join(workDir, `latency-n${i}`),
            "--listen",
            `127.0.0.1:${listen[i]}`,
            ...listen.filter((_, j) => j !== i).flatMap((port) => ["--peer", `127.0.0.1:${port}`]),
            "--tls-insecure",
            "--observability-listen",
            `127.0.0.1:${observe[i]}`,
            "--log-level",
            "error",
          ],
          env: { NX_BENCH_RATE: String(OPS_PER_SEC_PER_NODE), NX_BENCH_START_AT_MS: String(startAtMs) },
        }),
      );
    }
    await sleepMs(startAtMs + sizes.latencyWarmupSec * 1000 - Date.now());
    // The window opens once every node has applied a peer's op: on a loaded machine the nodes may
    // still be connecting when the planned warm-up ends.
    let propagationBefore: BucketCounts | undefined;
    await waitUntil(
      "every node to apply an op from a peer",
      async () => {
        const failed = failIfExited(nodes);
        if (failed !== false) return `a latency node stopped: ${failed}`;
        propagationBefore = await propagation(observe);
        return propagationBefore !== undefined;
      },
      { timeoutMs: NODE_WAIT_MS },
    );
    const measureFromMs = Date.now();
    const measureToMs = measureFromMs + sizes.latencySec * 1000;
    const droppedBefore = await droppedRemoteOps(observe);
    await sleepMs(measureToMs - Date.now());
    const propagationAfter = await propagation(observe);
    if (propagationAfter === undefined || propagationBefore === undefined)
      throw new Error("a node's /metrics lost numax_propagation_latency_seconds");
    const droppedAfter = await droppedRemoteOps(observe);
    // The interval reports that end in the measured window (each covers the second before it).
    await waitUntil(
      "every node's report of the measured interval's last second",
      () =>
        failIfExited(nodes) ||
        nodes.every((nx) => reports<LatencyReport>(nx, "latency").some((r) => r.t_ms >= measureToMs)),
      { timeoutMs: NODE_WAIT_MS },
    );
    const histogram = newLatencyHistogram();
    let sent = 0;
    let negative = 0;
    let seconds = 0;
    for (const nx of nodes) {
      const window = reports<LatencyReport>(nx, "latency").filter(
        (r) => r.t_ms > measureFromMs + 1000 && r.t_ms <= measureToMs + 1000,
      );
      for (const report of window) {
        addGuestHistogram(histogram, report.hist);
        sent += report.sent;
        negative += report.negative;
      }
      seconds += window.length;
    }
    const stopFailures = await stopAll(nodes);
    if (stopFailures.length > 0) throw new Error(`a latency node failed: ${stopFailures.join("; ")}`);
    const reference = histogramDifference(propagationAfter, propagationBefore);
    const ms = (percentile: number) => {
      const seconds = bucketPercentile(reference, percentile);
      return seconds === undefined ? null : seconds * 1000;
    };
    return {
      latency: latencyMs(histogram),
      opsPerSecPerNode: seconds === 0 ? 0 : Math.round(sent / seconds),
      negative,
      dropped: droppedAfter - droppedBefore,
      reference: {
        ops: reference.count,
        mean_ms: reference.count === 0 ? null : round((reference.sum / reference.count) * 1000, 3),
        p50_ms_at_most: ms(50),
        p99_ms_at_most: ms(99),
      },
    };
  } finally {
    await Promise.all(nodes.map((nx) => nx.stop(STOP_GRACE_MS)));
  }
}

// ---- dispatch -----------------------------------------------------------------------------------

interface RateReport {
  t_ms: number;
  events: number;
  elapsed_us: number;
}

/** Events per second over the reports after the warm-up ones. */
function rateOf(all: readonly RateReport[], sizes: Sizes): number {
  const measured = all.slice(
    sizes.dispatchWarmupReports,
    sizes.dispatchWarmupReports + sizes.dispatchReports,
  );
  const events = measured.reduce((total, r) => total + r.events, 0);
  const elapsedUs = measured.reduce((total, r) => total + r.elapsed_us, 0);
  return Math.round(events / (elapsedUs / 1e6));
}

const enoughReports = (nx: NxProcess, sizes: Sizes) =>
  reports<RateReport>(nx, "rate").length >= sizes.dispatchWarmupReports + sizes.dispatchReports;

/** One events_dispatch node (no sync) until it reported enough seconds; its rate and drops. */
async function dispatchRun(sizes: Sizes, workDir: string, round: number) {
  const [port] = await freePorts(1);
  const nx = await startNode({
    name: `dispatch-${round}`,
    modulePath: guestPath("events_dispatch"),
    args: [
      "--datastore-path",
      join(workDir, `dispatch-${round}`),
      "--observability-listen",
      `127.0.0.1:${port}`,
      "--log-level",
      "error",
    ],
    env: {},
  });
  try {
    await waitUntil("the dispatch guest's reports", () => failIfExited([nx]) || enoughReports(nx, sizes), {
      timeoutMs: NODE_WAIT_MS,
    });
    const text = (await readMetricsText(port!)) ?? "";
    const failures = await stopAll([nx]);
    if (failures.length > 0) throw new Error(`the dispatch node failed: ${failures.join("; ")}`);
    return {
      rate: rateOf(reports<RateReport>(nx, "rate"), sizes),
      delivered: sumSamples(text, "numax_module_events_total", { kind: "message" }),
      dropped: sumSamples(text, "numax_module_events_dropped_total"),
    };
  } finally {
    await nx.stop(STOP_GRACE_MS);
  }
}

/** One proc_stream node: two wasm processes, proc_send / proc_receive; ends by itself. */
async function referenceRun(sizes: Sizes, workDir: string, round: number): Promise<number> {
  const seconds = sizes.dispatchWarmupReports + sizes.dispatchReports;
  const nx = await startNode({
    name: `proc-stream-${round}`,
    modulePath: guestPath("proc_stream"),
    args: ["--datastore-path", join(workDir, `proc-stream-${round}`), "--log-level", "error"],
    env: { NX_BENCH_DURATION_MS: String(seconds * 1000 + 500) },
  });
  try {
    const exit = await Promise.race([nx.exited, sleepMs(NODE_WAIT_MS).then(() => undefined)]);
    if (exit === undefined || exit.code !== 0)
      throw new Error(`the reference node failed: ${nx.describeExit()}`);
    if (!enoughReports(nx, sizes))
      throw new Error("the reference node ended before reporting enough seconds");
    return rateOf(reports<RateReport>(nx, "rate"), sizes);
  } finally {
    await nx.stop(STOP_GRACE_MS);
  }
}

/** `(module (func (export "f") (param i32 i32)))`: an empty callback with on_message's signature. */
const EMPTY_CALLBACK_MODULE = Uint8Array.from([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 2, 127, 127, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 4, 1, 2, 0,
  11,
]);
const FLOOR_CALLS = 1_000_000;

/**
 * The floor of one callback: calling an empty export through WebAssembly.promising (a JSPI
 * entry, as every callback is, since a guest may suspend in it) and awaiting it, in this process,
 * no node: calls per second.
 */
async function promisingCallFloor(): Promise<number> {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(EMPTY_CALLBACK_MODULE));
  const call = WebAssembly.promising(instance.exports.f as (topicLen: number, payloadLen: number) => void);
  const started = performance.now();
  for (let i = 0; i < FLOOR_CALLS; i++) await call(10, 0);
  return Math.round(FLOOR_CALLS / ((performance.now() - started) / 1000));
}

// ---- report -------------------------------------------------------------------------------------

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const sizes = options.quick ? QUICK : FULL;
  const loadBefore = loadavg()[0];
  buildGuests();
  const workDir = mkdtempSync(join(tmpdir(), "nx-bench-events-"));
  if (process.argv.includes("--cpu-prof")) profileRoot.workDir = workDir;
  try {
    const latency = await measureLatency(sizes, workDir);
    const rounds: { events: number; reference: number; delivered: number; dropped: number }[] = [];
    for (let round = 0; round < sizes.dispatchRounds; round++) {
      const events = await dispatchRun(sizes, workDir, round);
      const reference = await referenceRun(sizes, workDir, round);
      rounds.push({ events: events.rate, reference, delivered: events.delivered, dropped: events.dropped });
    }
    await promisingCallFloor();
    const floor = median([
      await promisingCallFloor(),
      await promisingCallFloor(),
      await promisingCallFloor(),
    ]);
    const ratios = rounds.map((r) => ratio(r.events, r.reference));
    const dispatchRatio = median(ratios);
    const medianRound = rounds[ratios.indexOf(dispatchRatio)]!;
    const referenceMeanMs = latency.reference.mean_ms;
    return {
      benchmark: "events",
      quick: options.quick,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: availableParallelism(),
      load_average_1m: { before: loadBefore, after: loadavg()[0] },
      method:
        "latency: one run of 3 nodes, the guests' one-second histograms after a warm-up, added up; dispatch: rounds of one events node then one reference node (each a fresh `nx run`), rates per wall-clock second over the reports after the first; the median round's figures, every round's in `samples`.",
      sizes,
      results: {
        remote_op_latency: {
          what: `local LWW write on one node to on_remote_op entering on another, ${NODES} nodes on loopback (plain TCP), ${OPS_PER_SEC_PER_NODE} writes/s per node, ${sizes.latencySec} s measured after ${sizes.latencyWarmupSec} s of load`,
          clocks:
            "one machine: both ends read the system clock; each guest aligns WASI's monotonic nanoseconds to the wall clock's millisecond edges at init (bench/guests/events_latency), to within a microsecond or two",
          unit: "ms",
          value: latency.latency.p99,
          p50: latency.latency.p50,
          p99: latency.latency.p99,
          p999: latency.latency.p999,
          max: latency.latency.max,
          mean: latency.latency.mean,
          observed: latency.latency.count,
          ops_per_sec_per_node: latency.opsPerSecPerNode,
          negative_latencies: latency.negative,
          remote_op_events_dropped: latency.dropped,
          target_p99: TARGET_P99_MS,
          meets_target: latency.latency.p99 < TARGET_P99_MS,
          reference: {
            what: "the nodes' own propagation latency over the same interval (numax_propagation_latency_seconds: op created on its origin, applied on another node; millisecond timestamps, bucket upper bounds for percentiles)",
            ...latency.reference,
          },
          ratio_to_reference:
            referenceMeanMs === null || referenceMeanMs === 0
              ? null
              : ratio(latency.latency.mean, referenceMeanMs),
          ratio_note: "mean latency to on_remote_op over mean propagation latency",
        },
        message_dispatch_per_sec: {
          what: "messages per second into one module's on_message that only counts, the module publishing bursts of 1000 to itself closed-loop (publishing included), one node without sync",
          value: medianRound.events,
          delivered_by_metrics: medianRound.delivered,
          dropped: rounds.reduce((total, r) => total + r.dropped, 0),
          samples: rounds.map((r) => r.events),
          reference: {
            what: "messages per second from one WebAssembly process to another with proc_send / proc_receive, bursts of 1000 then an answer (bench/guests/proc_stream), a node of its own",
            value: medianRound.reference,
            samples: rounds.map((r) => r.reference),
          },
          ratio_to_reference: dispatchRatio,
          ratio_samples: ratios,
          promising_call_floor: {
            what: "an empty export called through WebAssembly.promising and awaited, one call at a time, in the benchmark's process (no node): the JSPI entry every callback pays; the reference's receives never leave the guest",
            value: floor,
            ratio: ratio(medianRound.events, floor),
          },
          target_ratio: TARGET_DISPATCH_RATIO,
          meets_target: dispatchRatio >= TARGET_DISPATCH_RATIO,
        },
      },
      ...(profileRoot.workDir === undefined ? {} : { cpu_profiles: collectProfiles(workDir, profiledNodes) }),
    };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
