/**
 * `npm run bench -- replica-apply --quick` end to end: every op is applied (the bench fails
 * otherwise), and the report holds the figures bench/reports/README.md quotes (their values are
 * not checked: a smoke run on a shared machine says nothing about them).
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

test("npm run bench -- replica-apply --quick measures remote LWW-Map ops against raw lmdb-js puts", {
  timeout: BENCH_TIMEOUT_MS + 30_000,
}, async () => {
  const dir = tempDir("nx-bench-replica-apply-test-");
  try {
    const path = join(dir.path, "replica-apply.json");
    await execFileAsync(process.execPath, ["bench/run.ts", "replica-apply", "--quick", "--report", path], {
      cwd: REPO_ROOT,
      timeout: BENCH_TIMEOUT_MS,
    });
    const report = JSON.parse(readFileSync(path, "utf8")) as {
      replica: { cpuUsPerOp: number; mainThreadUsPerOp: Record<string, number> };
      rawLmdbPut: { cpuUsPerOp: number };
      replicaVsRawPut: number;
      replicaBatched: { cpuUsPerWrite: number; mainThreadUsPerWrite: Record<string, number> };
      batchedVsRawPut: number;
    };
    assert.ok(report.replica.cpuUsPerOp > 0 && report.rawLmdbPut.cpuUsPerOp > 0);
    assert.deepEqual(Object.keys(report.replica.mainThreadUsPerOp), ["decode", "apply", "store"]);
    assert.ok(report.replicaVsRawPut > 0);
    // The same writes as lww_map_batch ops (every one applied: the bench checks the map's fields).
    assert.ok(report.replicaBatched.cpuUsPerWrite > 0 && report.batchedVsRawPut > 0);
    assert.deepEqual(Object.keys(report.replicaBatched.mainThreadUsPerWrite), ["decode", "apply", "store"]);
  } finally {
    dir.remove();
  }
});
