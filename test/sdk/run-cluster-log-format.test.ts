/**
 * examples/run-cluster.ts learns the ports its nodes bound (port 0) from their text log lines. The
 * runner passes its own environment on to the nodes, so one where `NX_LOG_FORMAT=json` (a log
 * collector's setting) must not change the format it reads. (It belongs with
 * test/sdk/run-cluster.test.ts; it is here because that file was outside the review that added it.)
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT } from "../helpers/nx-process.ts";

const execFileAsync = promisify(execFile);

test("run-cluster reads its nodes' ports whatever log format its environment asks for", async () => {
  const { stdout } = await execFileAsync(
    process.execPath,
    ["examples/run-cluster.mjs", "distributed_counter", "--nodes", "2", "--json"],
    { cwd: REPO_ROOT, env: { ...process.env, NX_LOG_FORMAT: "json" }, timeout: 110_000 },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
  const report = JSON.parse(stdout) as { examples: { ok: boolean; error?: string; values?: string[] }[] };
  const [example] = report.examples;
  assert.equal(example?.error, undefined);
  assert.deepEqual(example?.values, ["visits = 3"]);
});
