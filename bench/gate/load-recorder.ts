import type * as hdr from "hdr-histogram-js";
import type { FinalLine, GuestLine, IntervalLine, StartLine, SummaryLine } from "./guest-lines.ts";
import { addGuestHistogram, newLatencyHistogram } from "./latency-summary.ts";

/**
 * The guests' reports of one gate run, by node and incarnation (a node restarted by the chaos
 * gate has several), each stamped with the runner's clock (performance.now()) on arrival.
 */

export interface Stamped<Line> {
  readonly line: Line;
  readonly atMs: number;
}

export interface Incarnation {
  readonly node: string;
  /** 0 for the first process of the node, then 1, 2, ... */
  readonly index: number;
  readonly spawnedAtMs: number;
  start: Stamped<StartLine> | undefined;
  readonly intervals: Stamped<IntervalLine>[];
  summary: Stamped<SummaryLine> | undefined;
  final: Stamped<FinalLine> | undefined;
}

export class LoadRecorder {
  readonly incarnations: Incarnation[] = [];

  /** A new process of `node` is about to start: its lines go to the returned incarnation. */
  begin(node: string): Incarnation {
    const incarnation: Incarnation = {
      node,
      index: this.incarnations.filter((other) => other.node === node).length,
      spawnedAtMs: performance.now(),
      start: undefined,
      intervals: [],
      summary: undefined,
      final: undefined,
    };
    this.incarnations.push(incarnation);
    return incarnation;
  }

  record(incarnation: Incarnation, line: GuestLine, atMs: number): void {
    switch (line.type) {
      case "start":
        incarnation.start = { line, atMs };
        break;
      case "interval":
        incarnation.intervals.push({ line, atMs });
        break;
      case "summary":
        incarnation.summary = { line, atMs };
        break;
      case "final":
        incarnation.final = { line, atMs };
        break;
    }
  }

  latest(node: string): Incarnation | undefined {
    return this.incarnations.findLast((incarnation) => incarnation.node === node);
  }

  /** When the first guest began its load (the zero of timelines and events). */
  loadStartMs(): number | undefined {
    const starts = this.#startTimes();
    return starts.length === 0 ? undefined : Math.min(...starts);
  }

  /** From the first guest's start line to the last one's, as the runner received them (0 when none). */
  startSpreadMs(): number {
    const starts = this.#startTimes();
    return starts.length === 0 ? 0 : Math.max(...starts) - Math.min(...starts);
  }

  #startTimes(): number[] {
    return this.incarnations.flatMap((incarnation) => incarnation.start?.atMs ?? []);
  }

  /** When the last guest reported the end of its load. */
  loadEndMs(): number | undefined {
    const ends = this.incarnations.flatMap((incarnation) => incarnation.summary?.atMs ?? []);
    return ends.length === 0 ? undefined : Math.max(...ends);
  }

  /**
   * Operations completed, over every incarnation: a summary's count, or for an incarnation
   * killed before its summary the sum of the intervals it reported.
   */
  opsTotal(): number {
    return this.#sum((incarnation) =>
      incarnation.summary !== undefined
        ? incarnation.summary.line.ops
        : incarnation.intervals.reduce((total, interval) => total + interval.line.ops, 0),
    );
  }

  errorsTotal(): number {
    return this.#sum((incarnation) =>
      incarnation.summary !== undefined
        ? incarnation.summary.line.errors
        : incarnation.intervals.reduce((total, interval) => total + interval.line.errors, 0),
    );
  }

  /**
   * The latency histogram of every incarnation: its summary's, or for one killed before its
   * summary the sum of its intervals' histograms when the guest sent them (NX_GATE_INTERVAL_HIST);
   * without them a killed incarnation's latencies are not in it (its timeline still is).
   */
  histogram(): hdr.Histogram {
    const histogram = newLatencyHistogram();
    for (const incarnation of this.incarnations) {
      if (incarnation.summary !== undefined) {
        addGuestHistogram(
          histogram,
          incarnation.summary.line.hist,
          incarnation.summary.line.hist_sub_bucket_bits,
        );
      } else {
        for (const { line } of incarnation.intervals)
          if (line.hist !== undefined) addGuestHistogram(histogram, line.hist);
      }
    }
    return histogram;
  }

  #sum(of: (incarnation: Incarnation) => number): number {
    return this.incarnations.reduce((total, incarnation) => total + of(incarnation), 0);
  }
}
