import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../scripts/sim.ts", import.meta.url));

/** Runs scripts/sim.ts with `args`; a usage error must come before any simulation starts. */
function sim(...args: string[]) {
  return spawnSync(process.execPath, [SCRIPT, ...args], { encoding: "utf8", timeout: 60_000 });
}

test("scripts/sim.ts refuses a --seed that is not an integer from 0 to 2^32 - 1 in one line, exit 2 (it ran with seed NaN, and 4294967297 as seed 1)", () => {
  for (const bad of ["x", "", "1.5", "-1", "4294967296", "4294967297", "9007199254740993"]) {
    const result = sim("split-brain", "--nodes", "3", `--seed=${bad}`);
    assert.equal(result.status, 2, `--seed ${JSON.stringify(bad)}: ${result.stderr}`);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      `sim: --seed takes an integer from 0 to 4294967295, got ${JSON.stringify(bad)} (e.g. npm run sim -- split-brain --seed 3)\n`,
    );
  }
});

test("scripts/sim.ts refuses --seeds, --nodes and --max-connections that are not positive integers, with a hint", () => {
  for (const flag of ["seeds", "nodes", "max-connections"]) {
    const result = sim("split-brain", `--${flag}`, "0");
    assert.equal(result.status, 2, `--${flag} 0: ${result.stderr}`);
    assert.equal(
      result.stderr,
      `sim: --${flag} takes a positive integer, got "0" (e.g. npm run sim -- split-brain --${flag} 3)\n`,
    );
  }
});

test("scripts/sim.ts refuses an unknown flag in one line with the usage, exit 2 (it threw a stack trace)", () => {
  const result = sim("split-brain", "--bogus");
  assert.equal(result.status, 2);
  assert.match(result.stderr, /^sim: Unknown option '--bogus'.*\(usage: npm run sim -- SCENARIO .*\)\n$/);
});
