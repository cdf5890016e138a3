import { GateError } from "./gate-error.ts";

/**
 * Polls every node's counter until `agreed(values)` holds, and says when: convergence is timed
 * from `fromMs` (the end of the load, or the heal of a partition) on the runner's clock.
 */

export interface ConvergenceResult<Values = readonly (number | undefined)[]> {
  readonly converged: boolean;
  /** Seconds from `fromMs` to the first poll where all agreed; null when they never did. */
  readonly waitSecs: number | null;
  /** performance.now() of that poll. */
  readonly atMs: number | null;
  /** The values of the last poll (undefined: the node did not answer). */
  readonly observed: Values;
}

export async function awaitCounters<Values>(
  read: () => Promise<Values>,
  agreed: (values: Values) => boolean,
  options: {
    readonly fromMs: number;
    readonly timeoutMs: number;
    readonly pollMs?: number;
    readonly signal?: AbortSignal;
  },
): Promise<ConvergenceResult<Values>> {
  const deadline = performance.now() + options.timeoutMs;
  let observed: Values;
  for (;;) {
    if (options.signal?.aborted)
      throw new GateError("GATE_INTERRUPTED", "interrupted while waiting for convergence");
    const polledAtMs = performance.now();
    observed = await read();
    if (agreed(observed)) {
      return {
        converged: true,
        waitSecs: Math.max(0, (polledAtMs - options.fromMs) / 1000),
        atMs: polledAtMs,
        observed,
      };
    }
    if (performance.now() >= deadline) return { converged: false, waitSecs: null, atMs: null, observed };
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 10));
  }
}

/** Every node answered `expected`. */
export const allEqual =
  (expected: number) =>
  (values: readonly (number | undefined)[]): boolean =>
    values.length > 0 && values.every((value) => value === expected);
