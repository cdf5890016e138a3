import type { AbiContext } from "./abi-context.ts";

/** Whole milliseconds as a u64 BigInt; a clock that answers garbage reads as 0, never as a throw. */
function wholeMs(ms: number): bigint {
  return Number.isFinite(ms) && ms > 0 ? BigInt(Math.floor(ms)) : 0n;
}

/**
 * `time_now`: Unix time in ms. `time_monotonic`: ms since the runtime's start, never
 * decreasing for this guest even if the injected clock stepped back. Both return u64 (BigInt),
 * so a module whose policy does not grant `time` reads 0: they have no error code.
 */
export function createTimeImports(ctx: AbiContext): Record<string, () => bigint> {
  const { clock, policy } = ctx.env;
  let lastMonotonicMs = 0n;
  return {
    time_now: (): bigint => {
      if (policy?.allowsSwitch("time_now", "time") === false) return 0n;
      try {
        return wholeMs(clock.nowMs());
      } catch (error) {
        ctx.logFailure("time_now", error);
        return 0n;
      }
    },
    time_monotonic: (): bigint => {
      if (policy?.allowsSwitch("time_monotonic", "time") === false) return 0n;
      try {
        const now = wholeMs(clock.monotonicMs());
        if (now > lastMonotonicMs) lastMonotonicMs = now;
      } catch (error) {
        ctx.logFailure("time_monotonic", error);
      }
      return lastMonotonicMs;
    },
  };
}
