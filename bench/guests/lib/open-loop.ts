// The open-loop load driver shared by the load guests.
//
// Operation i is due at start + i / rate. The driver sleeps (WASI poll_oneoff: the node parks the
// guest for at least 1 ms and keeps serving) until an operation is due, runs every operation due
// by then back to back, and records each one's latency from the time it was
// DUE, not from when it started: when the node stalls, the operations queued behind the stall
// are run back to back and each one carries the wait it suffered. The schedule never slows down
// to the system's pace, so a stall shows up as latency instead of disappearing from the figures
// (no coordinated omission).
//
// Output (stdout, one JSON object per line, see json-line.ts):
//   {"type":"interval","t_us":1000000,"ops":..,"errors":..,"done":..,"p50_us":..,"p99_us":..,"max_us":..,"lag_us":..}
//     every reportMs of run time: ops completed in the interval, their latency percentiles, and
//     how far behind schedule the last one was; with `intervalHistograms` also the interval's
//     histogram ("hist"), so the latency of a guest killed before its summary is not lost;
//   {"type":"summary","ops":..,"errors":..,"done":..,"elapsed_ms":..,"scheduled_ms":..,"hist":[[bucket,count],..]}
//     at the end, with the whole run's histogram (latency-histogram.ts layout, microseconds).

import { JsonLine } from "./json-line";
import { LatencyHistogram, SUB_BUCKET_BITS } from "./latency-histogram";
import { monotonicNs, sleepNs } from "./wasi";

/**
 * The clock is read after this many back-to-back operations (and before every sleep), not after
 * each: a reading is a host call that cost as much node CPU as an increment (1.1M a second per
 * node at the three-node gate's maximum). An operation is timed by the next reading, so its
 * latency is overstated by at most the time of CLOCK_READ_EVERY_OPS - 1 operations (a few µs).
 */
const CLOCK_READ_EVERY_OPS: u64 = 16;

/** One operation: returns whether it succeeded. Must not capture locals (no closures). */
export type Operation = (index: u64) => bool;

export class OpenLoop {
  readonly whole: LatencyHistogram = new LatencyHistogram();
  readonly interval: LatencyHistogram = new LatencyHistogram();
  readonly line: JsonLine = new JsonLine();
  completed: u64 = 0;
  errors: u64 = 0;
  /** Successful operations before this run (a restarted guest resumes its count). */
  doneBase: u64 = 0;
  /** Send each interval's histogram with its line (the chaos gate kills guests before their summary). */
  intervalHistograms: bool = false;
  private intervalOps: u64 = 0;
  private intervalErrors: u64 = 0;

  rate: u64;
  durationMs: u64;
  reportMs: u64;

  constructor(rate: u64, durationMs: u64, reportMs: u64) {
    this.rate = rate;
    this.durationMs = durationMs;
    this.reportMs = reportMs;
  }

  get done(): u64 {
    return this.doneBase + this.completed - this.errors;
  }

  run(operation: Operation): void {
    const total = (this.rate * this.durationMs) / 1000;
    const spacingNs = 1e9 / <f64>this.rate;
    const reportNs = this.reportMs * 1_000_000;
    const start = monotonicNs();
    let nextReport = start + reportNs;
    let now = start;
    let lagNs: u64 = 0;
    // Operations done since the clock was last read: they are timed by the next reading.
    let untimed: u64 = 0;
    for (let index: u64 = 0; index < total; index++) {
      const due = start + <u64>(<f64>index * spacingNs);
      if (now < due) {
        if (untimed > 0) {
          now = monotonicNs();
          lagNs = this.timed(index, untimed, start, spacingNs, now);
          untimed = 0;
        }
        while (now < due) {
          sleepNs(due - now);
          now = monotonicNs();
          if (now >= nextReport) {
            this.report(start, now, 0);
            nextReport = now + reportNs;
          }
        }
      }
      if (!operation(index)) {
        this.errors++;
        this.intervalErrors++;
      }
      if (++untimed < CLOCK_READ_EVERY_OPS) continue;
      now = monotonicNs();
      lagNs = this.timed(index + 1, untimed, start, spacingNs, now);
      untimed = 0;
      if (now >= nextReport) {
        this.report(start, now, lagNs);
        nextReport = now + reportNs;
      }
    }
    if (untimed > 0) {
      now = monotonicNs();
      lagNs = this.timed(total, untimed, start, spacingNs, now);
    }
    if (this.intervalOps > 0) this.report(start, now, lagNs);
    this.line
      .begin("summary")
      .u64("ops", this.completed)
      .u64("errors", this.errors)
      .u64("done", this.done)
      .u64("elapsed_us", (now - start) / 1000)
      .u64("scheduled_ms", this.durationMs)
      .u64("rate", this.rate)
      .u64("hist_sub_bucket_bits", SUB_BUCKET_BITS);
    this.histogramPairs(this.whole);
    this.line.emit();
  }

  /**
   * Records the latency of the `count` operations before `end` (indices end - count to end - 1),
   * all done by `now`; returns the last one's lag behind its due time (ns).
   */
  private timed(end: u64, count: u64, start: u64, spacingNs: f64, now: u64): u64 {
    let lagNs: u64 = 0;
    for (let index = end - count; index < end; index++) {
      lagNs = now - (start + <u64>(<f64>index * spacingNs));
      const latencyUs = lagNs / 1000;
      this.whole.record(latencyUs);
      this.interval.record(latencyUs);
    }
    this.completed += count;
    this.intervalOps += count;
    return lagNs;
  }

  private histogramPairs(histogram: LatencyHistogram): void {
    this.line.beginPairs("hist");
    for (let i = histogram.lowIndex; i <= histogram.highIndex; i++) {
      const count = unchecked(histogram.counts[i]);
      if (count > 0) this.line.pair(<u64>i, count);
    }
    this.line.endArray();
  }

  private report(start: u64, now: u64, lagNs: u64): void {
    this.line
      .begin("interval")
      .u64("t_us", (now - start) / 1000)
      .u64("ops", this.intervalOps)
      .u64("errors", this.intervalErrors)
      .u64("done", this.done)
      .u64("p50_us", this.interval.percentile(50))
      .u64("p99_us", this.interval.percentile(99))
      .u64("max_us", this.interval.maxValue)
      .u64("lag_us", lagNs / 1000);
    if (this.intervalHistograms) this.histogramPairs(this.interval);
    this.line.emit();
    this.interval.reset();
    this.intervalOps = 0;
    this.intervalErrors = 0;
  }
}
