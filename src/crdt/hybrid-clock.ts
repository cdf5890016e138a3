import { NumaxError } from "../errors/numax-error.ts";

/**
 * A hybrid logical clock stamp packed into one safe integer: `physicalMs * 1024 + logical`.
 * Stamps compare as plain numbers. The 10 logical bits give 1024 stamps per millisecond before
 * the clock borrows from the next millisecond (it then runs slightly ahead of physical time and
 * falls back in step once the burst is over); the packing stays a safe integer until year 2248.
 */
export type HlcTimestamp = number & { readonly __brand: "HlcTimestamp" };

export const HLC_LOGICAL_RANGE = 1024;

/** Default bound on how far ahead of our physical clock a remote stamp may be. */
export const DEFAULT_MAX_CLOCK_DRIFT_MS = 60_000;

export function hlcPhysicalMs(stamp: HlcTimestamp): number {
  return Math.floor(stamp / HLC_LOGICAL_RANGE);
}

export function hlcFromPhysicalMs(physicalMs: number): HlcTimestamp {
  return (Math.max(0, Math.floor(physicalMs)) * HLC_LOGICAL_RANGE) as HlcTimestamp;
}

export function isHlcTimestamp(value: number): value is HlcTimestamp {
  return Number.isSafeInteger(value) && value >= 0;
}

/** A remote stamp lies further in the future than the configured drift bound allows. */
export class ClockDriftError extends NumaxError {
  readonly aheadMs: number;

  constructor(aheadMs: number, maxDriftMs: number) {
    super(
      "CLOCK_DRIFT",
      `remote timestamp is ${aheadMs} ms ahead of the local clock (bound ${maxDriftMs} ms): check the peers' clocks (NTP)`,
    );
    this.aheadMs = aheadMs;
  }
}

export interface HybridClockOptions {
  /** Physical wall time in Unix milliseconds (injected: tests and the simulator pass a virtual clock). */
  nowMs: () => number;
  /** Remote stamps more than this ahead of `nowMs()` are refused by `receive`. */
  maxDriftMs?: number;
  /** The last stamp issued or received before a restart, so stamps never go back across restarts. */
  last?: HlcTimestamp;
}

/**
 * Issues strictly increasing stamps on this node, also within one millisecond, when the physical
 * clock steps back, and after stamps received from peers (causality: a stamp issued after
 * `receive(r)` is greater than `r`).
 *
 * Drift: `receive` refuses (ClockDriftError, clock unchanged) a stamp whose physical part is more
 * than `maxDriftMs` ahead of our physical clock, so one peer with a wrong clock cannot drag every
 * node's stamps into the future; the caller defers such an op and retries it later.
 */
export class HybridClock {
  readonly #nowMs: () => number;
  readonly #maxDriftMs: number;
  #last: number;

  constructor(options: HybridClockOptions) {
    this.#nowMs = options.nowMs;
    this.#maxDriftMs = options.maxDriftMs ?? DEFAULT_MAX_CLOCK_DRIFT_MS;
    this.#last = options.last ?? 0;
  }

  /** A new local stamp, greater than every stamp issued or received before. */
  now(): HlcTimestamp {
    const physical = hlcFromPhysicalMs(this.#nowMs());
    this.#last = physical > this.#last ? physical : this.#last + 1;
    return this.#last as HlcTimestamp;
  }

  /** Merges a remote stamp; throws ClockDriftError (and changes nothing) when it is too far ahead. */
  receive(remote: HlcTimestamp): void {
    if (remote <= this.#last) return;
    const aheadMs = hlcPhysicalMs(remote) - Math.floor(this.#nowMs());
    if (aheadMs > this.#maxDriftMs) throw new ClockDriftError(aheadMs, this.#maxDriftMs);
    this.#last = remote;
  }

  /**
   * Moves the clock past `stamp` without the drift check: for a local op that must be ordered
   * after an element this replica already holds (an RGA insert after its parent).
   */
  advancePast(stamp: HlcTimestamp): void {
    if (stamp > this.#last) this.#last = stamp;
  }

  /** The greatest stamp issued or received so far (persisted to survive restarts). */
  last(): HlcTimestamp {
    return this.#last as HlcTimestamp;
  }
}
