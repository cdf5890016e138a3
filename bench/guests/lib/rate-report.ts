// The dispatch guests' rate reports (bench/events.ts reads them): at most one line per second,
//   @bench {"type":"rate","t_ms":..,"events":..,"elapsed_us":..}
// counting what the guest received since the previous line.

import { abi } from "../../../sdk/assemblyscript/assembly";
import { JsonLine } from "./json-line";
import { monotonicNs } from "./wasi";

const REPORT_NS: u64 = 1_000_000_000;

export class RateReport {
  private line: JsonLine = new JsonLine("@bench");
  private sinceNs: u64 = 0;
  events: u64 = 0;

  /** Emits a line when a second has passed since the previous one (or since the first call). */
  maybeEmit(): void {
    const nowNs = monotonicNs();
    if (this.sinceNs == 0) {
      this.sinceNs = nowNs;
      this.events = 0;
      return;
    }
    if (nowNs - this.sinceNs < REPORT_NS) return;
    this.line
      .begin("rate")
      .u64("t_ms", abi.time_now())
      .u64("events", this.events)
      .u64("elapsed_us", (nowNs - this.sinceNs) / 1000)
      .emit();
    this.sinceNs = nowNs;
    this.events = 0;
  }
}
