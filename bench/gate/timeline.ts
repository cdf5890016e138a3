import type { Incarnation } from "./load-recorder.ts";
import type { ResourceSample } from "./resource-sampler.ts";

/**
 * Throughput, latency and resources over time, in bins of equal width from the start of the
 * load, for the plot and the report. Pure: everything comes in stamped with the runner's clock.
 *
 * A guest reports intervals on its own clock (t_us since its load began); an interval maps to
 * the runner's clock from the arrival of the guest's start line. Its operations are spread over
 * the bins it overlaps in proportion; its percentiles count in every bin it overlaps, and a bin
 * shows the worst node's p50, p99 and max (the nodes' percentiles cannot be merged exactly).
 */

export interface TimelinePoint {
  /** End of the bin, seconds from the start of the load. */
  readonly t_secs: number;
  readonly ops_sec: number;
  readonly errors: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  /** Sum over the nodes of their resident memory at the end of the bin. */
  readonly rss_mb: number;
  /** CPU used by all nodes during the bin, 100 = one core. */
  readonly cpu_pct: number;
}

interface Bin {
  ops: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

export function buildTimeline(input: {
  readonly incarnations: readonly Incarnation[];
  readonly samples: readonly ResourceSample[];
  readonly zeroMs: number;
  readonly endMs: number;
  readonly binMs: number;
}): TimelinePoint[] {
  const { zeroMs, binMs } = input;
  const binCount = Math.max(1, Math.ceil((input.endMs - zeroMs) / binMs));
  const bins: Bin[] = Array.from({ length: binCount }, () => ({
    ops: 0,
    errors: 0,
    p50Us: 0,
    p99Us: 0,
    maxUs: 0,
  }));

  for (const incarnation of input.incarnations) {
    if (incarnation.start === undefined) continue;
    const origin = incarnation.start.atMs;
    let previousUs = 0;
    for (const { line } of incarnation.intervals) {
      const fromMs = origin + previousUs / 1000 - zeroMs;
      const toMs = origin + line.t_us / 1000 - zeroMs;
      previousUs = line.t_us;
      const spanMs = Math.max(toMs - fromMs, 1e-3);
      const first = Math.max(0, Math.floor(fromMs / binMs));
      const last = Math.min(binCount - 1, Math.floor(Math.max(fromMs, toMs - 1e-6) / binMs));
      for (let index = first; index <= last; index++) {
        const bin = bins[index]!;
        const overlapMs = Math.min(toMs, (index + 1) * binMs) - Math.max(fromMs, index * binMs);
        const share = first === last ? 1 : Math.max(0, overlapMs) / spanMs;
        bin.ops += line.ops * share;
        bin.errors += line.errors * share;
        bin.p50Us = Math.max(bin.p50Us, line.p50_us);
        bin.p99Us = Math.max(bin.p99Us, line.p99_us);
        bin.maxUs = Math.max(bin.maxUs, line.max_us);
      }
    }
  }

  // Per node, the last sample at or before a time: memory is that sample's, CPU the difference.
  const byNode = new Map<string, ResourceSample[]>();
  for (const sample of input.samples) {
    const list = byNode.get(sample.node) ?? [];
    list.push(sample);
    byNode.set(sample.node, list);
  }
  const lastAtOrBefore = (list: readonly ResourceSample[], atMs: number): ResourceSample | undefined =>
    list.findLast((sample) => sample.atMs <= atMs);

  return bins.map((bin, index) => {
    const fromMs = zeroMs + index * binMs;
    const toMs = fromMs + binMs;
    let rssBytes = 0;
    let cpuSecs = 0;
    for (const list of byNode.values()) {
      const end = lastAtOrBefore(list, toMs);
      const begin = lastAtOrBefore(list, fromMs) ?? list[0];
      if (end === undefined) continue;
      rssBytes += end.rssBytes;
      if (begin !== undefined) cpuSecs += Math.max(0, end.cpuSecs - begin.cpuSecs);
    }
    return {
      t_secs: round((toMs - zeroMs) / 1000, 3),
      ops_sec: Math.round(bin.ops / (binMs / 1000)),
      errors: Math.round(bin.errors),
      p50_ms: round(bin.p50Us / 1000, 3),
      p99_ms: round(bin.p99Us / 1000, 3),
      max_ms: round(bin.maxUs / 1000, 3),
      rss_mb: round(rssBytes / 1024 / 1024, 1),
      cpu_pct: Math.round((cpuSecs / (binMs / 1000)) * 100),
    };
  });
}
