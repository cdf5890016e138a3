/**
 * fast-check settings for net/ property and fuzz tests: seeded (a failure prints its seed and path
 * and replays the same way), short by default; `NX_FUZZ_RUNS=100000` for a long run on demand.
 */
export function fuzzSettings(numRunsByDefault: number): { seed: number; numRuns: number } {
  const runs = Number(process.env.NX_FUZZ_RUNS);
  const seed = Number(process.env.NX_FUZZ_SEED);
  return {
    seed: Number.isSafeInteger(seed) ? seed : 0x6e78,
    numRuns: Number.isSafeInteger(runs) && runs > 0 ? runs : numRunsByDefault,
  };
}
