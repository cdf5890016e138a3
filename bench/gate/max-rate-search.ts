/**
 * `--rate max`: the search for the highest per-node rate at which a cluster still passes (keeps
 * to its schedule, no errors, converged within the bound after the load). Pure policy: given the
 * trials so far, the next rate to try, or undefined when the answer is known to within
 * `precision`. Doubles from `startRate` until a trial fails (halves until one passes when the
 * first fails), then bisects geometrically between the best pass and the lowest failure above it.
 */

export interface TrialOutcome {
  readonly rate: number;
  readonly passed: boolean;
}

export interface SearchPolicy {
  readonly startRate: number;
  /** Stop when lowest failure / best pass <= 1 + precision. */
  readonly precision: number;
  readonly maxTrials: number;
  /** Below this, give up: nothing passes. */
  readonly minRate: number;
}

/**
 * The search of a full run (`--rate max` without `--smoke`): from 2 000 ops/s per node, until the
 * bounds are within 10 %. The trial cap only guards a runaway search: doubling from 2 000 reaches
 * 2 048 000 at the 11th trial, and three geometric bisections bring a factor of 2 within 10 %
 * (2^(1/8) = 1.09), so any maximum below 2 048 000 is found within 10 %.
 */
export const FULL_RUN_SEARCH: SearchPolicy = { startRate: 2000, precision: 0.1, maxTrials: 14, minRate: 10 };

export function bestPassingRate(trials: readonly TrialOutcome[]): number | undefined {
  const passed = trials.filter((trial) => trial.passed).map((trial) => trial.rate);
  return passed.length === 0 ? undefined : Math.max(...passed);
}

/**
 * The highest rate among the passing trials whose p99 stayed within `p99Ms`. The search's own
 * rule (on schedule on average, converged in time) does not bound latency; this says what the
 * system sustains with latency still low.
 */
export function bestPassingRateWithin(
  trials: readonly (TrialOutcome & { readonly p99Ms: number })[],
  p99Ms: number,
): number | undefined {
  return bestPassingRate(trials.filter((trial) => trial.p99Ms <= p99Ms));
}

export function nextRate(trials: readonly TrialOutcome[], policy: SearchPolicy): number | undefined {
  if (trials.length >= policy.maxTrials) return undefined;
  if (trials.length === 0) return policy.startRate;
  const best = bestPassingRate(trials);
  const failures = trials
    .filter((trial) => !trial.passed && (best === undefined || trial.rate > best))
    .map((trial) => trial.rate);
  const lowestFailure = failures.length === 0 ? undefined : Math.min(...failures);
  if (best === undefined) {
    const lower = Math.floor(lowestFailure! / 2);
    return lower < policy.minRate ? undefined : lower;
  }
  if (lowestFailure === undefined) return best * 2;
  if (lowestFailure / best <= 1 + policy.precision) return undefined;
  const middle = Math.round(Math.sqrt(best * lowestFailure));
  return middle <= best || middle >= lowestFailure ? undefined : middle;
}
