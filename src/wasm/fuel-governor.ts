import type { STOPPED_EXPORT } from "./guest-exports.ts";
import { REFILL_STOPPED } from "./refill-trampoline.ts";

/**
 * Decides, each time an instrumented guest runs out of fuel, whether it may go on: it keeps the
 * guest's CPU time, ends the guest at its budget, and hands the event loop a turn when the
 * guest's time slice is used up. One governor per guest instance; reusable across runs.
 *
 * Fuel counts loop iterations and calls, whose cost varies by orders of magnitude between
 * guests, so the refill size adapts: it aims at one refill every {@link REFILL_TARGET_MS}, grows
 * at most {@link REFILL_GROWTH_MAX}-fold per refill and never exceeds {@link REFILL_UNITS_MAX},
 * which bounds how far a guest can overrun a slice when its iterations suddenly get slower.
 */

/** How long a guest computes before it yields to the event loop. */
export const SLICE_MS_DEFAULT = 4;
/** Aimed-at time between two refills: the precision of slices and budgets. */
export const REFILL_TARGET_MS = 0.25;
export const REFILL_UNITS_MIN = 100;
/** ~70 µs of the tightest loop V8 runs; ~0.2 s if each iteration made a 1 µs host call. */
export const REFILL_UNITS_MAX = 200_000;
export const REFILL_GROWTH_MAX = 8;

export interface FuelGovernorOptions {
  /** CPU budget of one run in ms; undefined = none. */
  readonly cpuMsPerRun: number | undefined;
  readonly sliceMs?: number;
  /** Monotonic milliseconds (performance.now); injected so tests can drive time. */
  readonly nowMs: () => number;
  /** Hands the event loop a turn; the default waits for setImmediate. */
  readonly yieldToLoop?: () => Promise<void>;
}

/**
 * What {@link FuelGovernor.suspend} settles with for a stopped guest. `false` converts to a zero
 * of every wasm value type (i32, i64, f32, f64) at the import's boundary, so the conversion
 * itself throws nothing a guest could catch before the stop check after the call traps.
 */
export const WAIT_STOPPED = false;

/**
 * What {@link FuelGovernor.suspend} rejects with for a stopped guest when asked to unwind it: a
 * guest with no `try` cannot catch it, so it unwinds the guest's stack as a trap does, with no
 * stop check after the call needed. One object: a stop makes no allocation of its own.
 */
export class GuestWaitStopped extends Error {
  constructor() {
    super("the guest was stopped while it waited in a host call");
    this.name = "GuestWaitStopped";
  }
}

const WAIT_STOPPED_ERROR = new GuestWaitStopped();

/** Why the governor stopped a guest. */
export type GovernorStop =
  | {
      readonly kind: "cpu_budget";
      readonly usedMs: number;
      readonly budgetMs: number;
      readonly stack: string;
    }
  | { readonly kind: "killed"; readonly reason: string };

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class FuelGovernor {
  readonly #budgetMs: number | undefined;
  readonly #sliceMs: number;
  readonly #nowMs: () => number;
  readonly #yieldToLoop: () => Promise<void>;
  #usedMs = 0;
  /** Start of the current stretch of guest execution; NaN while the guest is not running. */
  #runningSince = Number.NaN;
  #sliceStart = 0;
  #lastRefillAt = 0;
  #lastRefillUnits = REFILL_UNITS_MIN;
  #stopped: GovernorStop | undefined;
  #onStop: ((stop: GovernorStop) => void) | undefined;
  #refills = 0;
  #yields = 0;
  /**
   * Ends what the guest's stack waits on in a refill's yield as stopped: set while it waits. A
   * stack parked on a promise that never settles is never collected.
   */
  #endWait: (() => void) | undefined;
  /** What the guest's pending host wait ({@link suspend}) waits on, and its settlers: set while it waits. */
  #waiting: Promise<unknown> | undefined;
  #waitResolve: ((value: unknown) => void) | undefined;
  #waitReject: ((error: unknown) => void) | undefined;
  #waitUnwind = false;
  /**
   * The guest instance's stop flag (the instrumenter's {@link STOPPED_EXPORT} global): 1 once the
   * governor stopped the guest, which then traps after its host call or refill in progress.
   */
  #stopFlag: WebAssembly.Global | undefined;

  constructor(options: FuelGovernorOptions) {
    this.#budgetMs = options.cpuMsPerRun;
    this.#sliceMs = options.sliceMs ?? SLICE_MS_DEFAULT;
    this.#nowMs = options.nowMs;
    this.#yieldToLoop = options.yieldToLoop ?? yieldToEventLoop;
  }

  /** Guest CPU time of the current run so far, in ms. */
  get usedMs(): number {
    return Number.isNaN(this.#runningSince)
      ? this.#usedMs
      : this.#usedMs + (this.#nowMs() - this.#runningSince);
  }

  get refills(): number {
    return this.#refills;
  }

  get yields(): number {
    return this.#yields;
  }

  get stopped(): GovernorStop | undefined {
    return this.#stopped;
  }

  /** Sets `flag` (the instance's {@link STOPPED_EXPORT} global) to 1 at every stop, to 0 at every run. */
  attachStopFlag(flag: WebAssembly.Global): void {
    flag.value = this.#stopped === undefined ? 0 : 1;
    this.#stopFlag = flag;
  }

  /**
   * Starts accounting for a new run. `onStop` is called once if the governor ends the guest
   * (budget or kill): the guest then traps as its refill, host call or host wait ({@link suspend})
   * returns (the instrumenter's stop check after each), and that trap is not the run's outcome,
   * so the runner must settle the run from this callback.
   */
  beginRun(onStop: (stop: GovernorStop) => void): void {
    const now = this.#nowMs();
    this.#usedMs = 0;
    this.#runningSince = now;
    this.#sliceStart = now;
    this.#lastRefillAt = now;
    this.#stopped = undefined;
    if (this.#stopFlag !== undefined) this.#stopFlag.value = 0;
    this.#onStop = onStop;
  }

  endRun(): void {
    this.pause();
    this.#onStop = undefined;
  }

  /**
   * Starts a new call within the current run: its budget starts from zero, as a run's does. For
   * a run that calls the guest several times in a row (a reactive module's event dispatch),
   * where each call has its own budget (`cpu_ms_per_run` per callback call). Returns the guest
   * time of the call before it (one clock read for both).
   */
  beginCall(): number {
    const now = this.#nowMs();
    const used = Number.isNaN(this.#runningSince) ? this.#usedMs : this.#usedMs + (now - this.#runningSince);
    this.#usedMs = 0;
    this.#runningSince = now;
    this.#sliceStart = now;
    this.#lastRefillAt = now;
    return used;
  }

  /** The guest waits for the host (an async host call): its time stops counting. */
  pause(): void {
    if (Number.isNaN(this.#runningSince)) return;
    this.#usedMs += this.#nowMs() - this.#runningSince;
    this.#runningSince = Number.NaN;
  }

  /** The guest runs again after {@link pause}: a fresh slice starts. */
  resume(): void {
    const now = this.#nowMs();
    this.#runningSince = now;
    this.#sliceStart = now;
    this.#lastRefillAt = now;
  }

  /**
   * Ends the guest at its next fuel check (at once if it is suspended in a refill's yield): used for
   * `kill` and for shutdown.
   */
  kill(reason: string): void {
    this.#stop({ kind: "killed", reason });
  }

  #stop(stop: GovernorStop): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = stop;
    if (this.#stopFlag !== undefined) this.#stopFlag.value = 1;
    this.pause();
    const onStop = this.#onStop;
    this.#onStop = undefined;
    onStop?.(stop);
    const endWait = this.#endWait;
    this.#endWait = undefined;
    endWait?.();
    this.#stopWait();
  }

  /**
   * The body of a suspending host call (`proc_receive`, `http_fetch`, `poll_oneoff`, a rate
   * quota's wait): the guest's time stops counting while `waiting` is pending, and it settles
   * with `waiting`'s outcome, or with {@link WAIT_STOPPED} at once when the governor stops the
   * guest (a kill, the budget) meanwhile, or at the call when it stopped before. The stop check
   * after the call then traps: the guest runs none of its code again, and its stack unwinds
   * and is collected. Waiting on for `waiting` kept it forever: a killed process's receive
   * never settles. With `unwind` (a guest that cannot catch, GuestModule.catchesExceptions
   * false) a stop rejects it with a {@link GuestWaitStopped} instead, which unwinds the guest
   * without resuming it.
   */
  suspend<T>(waiting: Promise<T>, unwind = false): Promise<T | typeof WAIT_STOPPED> {
    if (this.#stopped !== undefined) {
      return unwind ? Promise.reject(WAIT_STOPPED_ERROR) : Promise.resolve(WAIT_STOPPED);
    }
    this.pause();
    const { promise, resolve, reject } = Promise.withResolvers<T | typeof WAIT_STOPPED>();
    // The settlers live on the governor, not in closures of their own (~150 B of each parked
    // process): `waiting` reaches the guest's stack only through them, dropped at the stop, so
    // that a `waiting` kept by someone else (a promise that never settles) does not keep it.
    this.#waiting = waiting;
    this.#waitResolve = resolve as (value: unknown) => void;
    this.#waitReject = reject;
    this.#waitUnwind = unwind;
    waiting.then(
      (value) => this.#waited(waiting, true, value),
      (error: unknown) => this.#waited(waiting, false, error),
    );
    return promise;
  }

  /** `waiting` settled: the guest's wait ends with its outcome, unless a stop ended it first. */
  #waited(waiting: Promise<unknown>, fulfilled: boolean, outcome: unknown): void {
    if (this.#waiting !== waiting) return;
    const settle = fulfilled ? this.#waitResolve! : this.#waitReject!;
    this.#dropWait();
    this.resume();
    settle(outcome);
  }

  /** A stop ends the guest's pending host wait, if any, as stopped (see {@link suspend}). */
  #stopWait(): void {
    if (this.#waiting === undefined) return;
    const settle = this.#waitUnwind ? this.#waitReject! : this.#waitResolve!;
    this.#dropWait();
    settle(this.#waitUnwind ? WAIT_STOPPED_ERROR : WAIT_STOPPED);
  }

  #dropWait(): void {
    this.#waiting = undefined;
    this.#waitResolve = undefined;
    this.#waitReject = undefined;
  }

  /**
   * The body of the suspending refill import: the fuel units the guest may use before it asks
   * again, a promise of them after a yield, or {@link REFILL_STOPPED} (now or after the yield)
   * when the guest must end: the refill trampoline then traps, which no guest `catch_all` can
   * stop (a thrown error could be caught), and the guest's stack unwinds.
   */
  refill(): number | Promise<number> {
    this.#refills++;
    if (this.#stopped !== undefined) return REFILL_STOPPED;
    const now = this.#nowMs();
    // Not accounting (guest code called outside a run): count from here.
    if (Number.isNaN(this.#runningSince)) this.#runningSince = now;
    this.#usedMs += now - this.#runningSince;
    this.#runningSince = now;
    if (this.#budgetMs !== undefined && this.#usedMs > this.#budgetMs) {
      // The guest's stack is what names the function it was in; only this path pays for it.
      const stack = new Error("cpu budget").stack ?? "";
      this.#stop({ kind: "cpu_budget", usedMs: this.#usedMs, budgetMs: this.#budgetMs, stack });
      return REFILL_STOPPED;
    }
    const units = this.#nextRefillUnits(now);
    if (now - this.#sliceStart < this.#sliceMs) return units;
    this.#yields++;
    this.pause();
    return new Promise<number>((resolve) => {
      // The stop ends the yield itself: a killed process's yield never ends (the kernel drops
      // it), and a stack waiting on it would be kept forever.
      this.#endWait = () => resolve(REFILL_STOPPED);
      this.#yieldToLoop().then(() => {
        this.#endWait = undefined;
        if (this.#stopped !== undefined) return resolve(REFILL_STOPPED);
        this.resume();
        resolve(units);
      });
    });
  }

  #nextRefillUnits(now: number): number {
    const elapsedMs = now - this.#lastRefillAt;
    const previous = this.#lastRefillUnits;
    let units: number;
    if (elapsedMs <= 0) {
      units = previous * REFILL_GROWTH_MAX;
    } else {
      units = Math.min((previous * REFILL_TARGET_MS) / elapsedMs, previous * REFILL_GROWTH_MAX);
    }
    units = Math.round(Math.min(REFILL_UNITS_MAX, Math.max(REFILL_UNITS_MIN, units)));
    this.#lastRefillAt = now;
    this.#lastRefillUnits = units;
    return units;
  }
}
