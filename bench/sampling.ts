/**
 * Measurement helpers shared by the benchmarks: medians, and rates measured both per wall-clock
 * second and per second of this process's CPU time (the CPU rate is what a dedicated core would
 * give on a shared, noisy machine).
 */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Rounds to `digits` decimals. */
export const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** A rate measured two ways: per wall-clock second, and per second of this process's CPU time. */
export interface Rate {
  wall: number;
  cpu: number;
}

export interface Sampled {
  /** Median wall-clock rate: the figure. */
  value: number;
  /** Median rate per CPU second. */
  cpu_value: number;
  samples: number[];
}

/** Measured runs per figure, after one warm-up run. */
export const SAMPLES = 5;

/** One warm-up run (JIT), then SAMPLES measured runs; the medians. */
export async function sample(measure: () => Promise<Rate>): Promise<Sampled> {
  await measure();
  const rates: Rate[] = [];
  for (let i = 0; i < SAMPLES; i++) rates.push(await measure());
  return {
    value: Math.round(median(rates.map((r) => r.wall))),
    cpu_value: Math.round(median(rates.map((r) => r.cpu))),
    samples: rates.map((r) => Math.round(r.wall)),
  };
}

/** Starts a rate measurement over `count` operations; call the result when they are done. */
export function startRate(count: number): () => Rate {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpuStart);
    return {
      wall: count / ((performance.now() - wallStart) / 1000),
      cpu: count / ((cpu.user + cpu.system) / 1e6),
    };
  };
}
