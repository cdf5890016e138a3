/**
 * The fuzzer is coverage-guided (fuzz/fuzzer.ts): on a target whose bug sits behind nested
 * checks it keeps each input that passes one more check, and so reaches the bug in a few thousand
 * executions where the same mutations without coverage do not. In a file of its own: V8's
 * coverage is taken in this process, and the fewer functions it has run the cheaper each take.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { CoverageMap, CoverageProbe } from "../../fuzz/coverage.ts";
import type { FuzzTarget } from "../../fuzz/fuzz-target.ts";
import { fuzz } from "../../fuzz/fuzzer.ts";

const probe = new CoverageProbe();
after(() => probe.close());

/** Fails only on input whose first three bytes have the high nibbles 4, 5 and 2: 1 in 4096. */
const planted: FuzzTarget = {
  name: "planted",
  description: "a bug behind three nested checks",
  inputBytesMax: 8,
  dictionary: [],
  run(input) {
    if ((input[0] ?? 0) >> 4 === 4) {
      if ((input[1] ?? 0) >> 4 === 5) {
        if ((input[2] ?? 0) >> 4 === 2) throw new RangeError("planted bug");
      }
    }
  },
};

const EXECUTIONS_MAX = 10_000;

function run(coverageRoot: string) {
  return fuzz(planted, probe, new CoverageMap(coverageRoot), {
    seeds: [new Uint8Array(4)],
    durationMs: 60_000,
    executionsMax: EXECUTIONS_MAX,
    seed: 1,
    monotonicMs: () => performance.now(),
  });
}

test("coverage guides the fuzzer to a bug behind three nested checks that the same mutations alone miss", () => {
  // This file is the coverage root: `planted` is the code under test.
  const guided = run(new URL("./", import.meta.url).href);
  assert.ok(guided.finding !== undefined, `no finding in ${guided.executions} executions`);
  assert.equal((guided.finding.cause as Error).message, "planted bug");
  assert.ok(guided.corpusSize >= 3, `corpus ${guided.corpusSize}: the steps were not kept`);
  // The same seed and mutations, with coverage of nothing: the corpus never grows.
  const blind = run("file:///nowhere/");
  assert.equal(blind.finding, undefined);
  assert.equal(blind.executions, EXECUTIONS_MAX);
  assert.equal(blind.corpusSize, 1);
});
