/**
 * `npm run bench -- policy --quick` end to end: both guests run with and without a policy of 20
 * globs, every call of the policed ones is allowed (the bench fails on a denied call), and the
 * report holds the figures docs/design/policies.md quotes (their values are not checked: a smoke
 * run on a shared machine says nothing about them).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT, tempDir } from "../helpers/nx-process.ts";

const execFileAsync = promisify(execFile);
const BENCH_TIMEOUT_MS = 120_000;

interface Figure {
  no_policy_ops_per_cpu_sec: number;
  policy_20_globs_ops_per_cpu_sec: number;
  ratio: number;
  wall_ratio: number;
}

test("npm run bench -- policy --quick measures db_get and crdt_gcounter_inc with 20 globs against none", {
  timeout: BENCH_TIMEOUT_MS + 30_000,
}, async () => {
  const dir = tempDir("nx-bench-policy-test-");
  try {
    const path = join(dir.path, "policy.json");
    await execFileAsync(process.execPath, ["bench/run.ts", "policy", "--quick", "--report", path], {
      cwd: REPO_ROOT,
      timeout: BENCH_TIMEOUT_MS,
    });
    const report = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    assert.equal(report.globs, 20);
    for (const call of ["db_get", "crdt_gcounter_inc"]) {
      const figure = report[call] as Figure;
      assert.ok(figure.no_policy_ops_per_cpu_sec > 0 && figure.policy_20_globs_ops_per_cpu_sec > 0);
      assert.ok(figure.ratio > 0 && figure.wall_ratio > 0);
    }
  } finally {
    dir.remove();
  }
});
