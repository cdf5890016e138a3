/**
 * The fuzzing (docs/supply-chain.md#fuzzing) in `npm test`: every target replays its committed
 * corpus, findings included once fixed, without a finding (the regression tests of what fuzzing
 * found), and runs a few hundred mutated inputs from a fixed seed (fuzzer-guidance.test.ts shows
 * the engine is guided by coverage). The one-minute run of every target is in .ci/run
 * (`npm run fuzz -- --all --seconds 60`).
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { CoverageMap, CoverageProbe } from "../../fuzz/coverage.ts";
import { fuzz } from "../../fuzz/fuzzer.ts";
import { corpusOf, FUZZER_OWN_SOURCES } from "../../fuzz/run.ts";
import { FUZZ_TARGETS } from "../../fuzz/targets/index.ts";

const SOURCE_ROOT = new URL("../../src/", import.meta.url).href;
const probe = new CoverageProbe();
after(() => probe.close());

const clock = () => performance.now();

describe("fuzz targets", { timeout: 120_000 }, () => {
  for (const target of FUZZ_TARGETS) {
    test(`${target.name}: the committed corpus replays without a finding, and 256 mutations from seed 1 find none`, () => {
      const seeds = corpusOf(target.name);
      assert.ok(seeds.length > 0, `fuzz/corpus/${target.name}/ holds no seed`);
      for (const input of seeds) target.run(input);
      const report = fuzz(target, probe, new CoverageMap(SOURCE_ROOT, FUZZER_OWN_SOURCES), {
        seeds,
        durationMs: 60_000,
        executionsMax: seeds.length + 256,
        seed: 1,
        monotonicMs: clock,
      });
      assert.equal(report.finding, undefined, report.finding?.message ?? "");
      assert.ok(report.blocks.executed > 0, "no coverage of src/ was seen");
    });
  }
});
