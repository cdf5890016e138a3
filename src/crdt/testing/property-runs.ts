/**
 * fast-check settings for the CRDT property tests: seeded (a failure prints the seed and path
 * that replay it), short by default, long with `NX_PROPERTY_RUNS=5000`.
 */
export function propertyRuns(defaultRuns: number): { numRuns: number; seed: number } {
  const fromEnv = Number(process.env.NX_PROPERTY_RUNS);
  const seed = Number(process.env.NX_PROPERTY_SEED ?? 20261121);
  return { numRuns: Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultRuns, seed };
}
