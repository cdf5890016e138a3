import { createHash } from "node:crypto";
import { createSeededRandom } from "../src/sync/seeded-random.ts";
import type { CoverageMap, CoverageProbe } from "./coverage.ts";
import { FuzzFinding, type FuzzTarget } from "./fuzz-target.ts";
import { mutate } from "./mutator.ts";

/** Inputs run between two takes of the coverage (see the loop in {@link fuzz}). */
const BATCH_INPUTS = 32;

/** What one run of a target did. */
export interface FuzzReport {
  readonly target: string;
  readonly executions: number;
  readonly elapsedMs: number;
  /** Inputs kept because they reached new coverage, the seeds included. */
  readonly corpusSize: number;
  /** Inputs found this run (not seeds), to be saved into the corpus. */
  readonly newInputs: readonly Uint8Array[];
  readonly features: number;
  readonly blocks: { readonly executed: number; readonly seen: number; readonly functions: number };
  readonly finding: FuzzFinding | undefined;
}

export interface FuzzOptions {
  readonly seeds: readonly Uint8Array[];
  readonly durationMs: number;
  readonly seed: number;
  /** Stops after this many executions too (tests use it; a long run leaves it out). */
  readonly executionsMax?: number;
  /** Milliseconds since an arbitrary origin (the fuzz loop's only clock). */
  readonly monotonicMs: () => number;
}

/** Content name of an input in the corpus: the first 16 hex digits of its SHA-256. */
export function inputName(input: Uint8Array): string {
  return createHash("sha256").update(input).digest("hex").slice(0, 16);
}

/**
 * Coverage-guided fuzzing of `target` (the loop of libFuzzer): run every seed, then mutate a
 * corpus input, run it, and keep it when it reaches a feature (a block and hit-count bucket of
 * V8's coverage) no input had. Stops at the first finding, at `durationMs` or at `executionsMax`.
 */
export function fuzz(
  target: FuzzTarget,
  probe: CoverageProbe,
  coverage: CoverageMap,
  options: FuzzOptions,
): FuzzReport {
  const random = createSeededRandom(options.seed);
  const corpus: Uint8Array[] = [];
  const newInputs: Uint8Array[] = [];
  const started = options.monotonicMs();
  let executions = 0;
  let finding: FuzzFinding | undefined;
  // Counts since the last take are the fuzzer's own (outside src/, which the map ignores): one
  // take after each input is that input's coverage.
  probe.take();
  const execute = (input: Uint8Array): boolean => {
    executions++;
    try {
      target.run(input);
    } catch (error) {
      finding = new FuzzFinding(input, error);
    }
    return coverage.add(probe.take()) > 0;
  };
  for (const seed of options.seeds.length > 0 ? options.seeds : [new Uint8Array(0)]) {
    const input = seed.subarray(0, target.inputBytesMax);
    if (execute(input) || corpus.length === 0) corpus.push(input);
    if (finding !== undefined) break;
  }
  const limit = options.executionsMax ?? Number.POSITIVE_INFINITY;
  while (finding === undefined && executions < limit) {
    if (options.monotonicMs() - started >= options.durationMs) break;
    // Taking V8's coverage costs far more than a small decode, so a batch of inputs runs between
    // two takes; only a batch that reached something new is run again input by input, to keep
    // the inputs that did.
    const batch: Uint8Array[] = [];
    while (batch.length < BATCH_INPUTS && finding === undefined && executions < limit) {
      const input = mutate(
        random.pick(corpus),
        random,
        target.dictionary,
        random.pick(corpus),
        target.inputBytesMax,
      );
      batch.push(input);
      executions++;
      try {
        target.run(input);
      } catch (error) {
        finding = new FuzzFinding(input, error);
      }
    }
    if (finding !== undefined || !coverage.hasNew(probe.take())) continue;
    for (const input of batch) {
      if (!execute(input)) continue;
      corpus.push(input);
      newInputs.push(input);
    }
  }
  return {
    target: target.name,
    executions,
    elapsedMs: options.monotonicMs() - started,
    corpusSize: corpus.length,
    newInputs,
    features: coverage.featureCount,
    blocks: coverage.blocks,
    finding,
  };
}
