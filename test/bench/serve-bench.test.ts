/**
 * `npm run bench -- serve --quick` end to end: the node and the bare node:http reference both
 * answer autocannon, both echo the ws clients' frames, every SSE client gets every publish, and
 * the report holds what bench/reports/README.md reads from it (figures are not checked: a smoke
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

interface ServeReport {
  results: {
    http_requests_per_sec: {
      value: number;
      p99_latency_ms: number;
      reference: { value: number; p99_latency_ms: number; cpu_us_per_request: number };
      ratio_to_reference: number | null;
      cpu_us_per_request: number;
      cpu_ratio_to_reference: number | null;
      samples: { non2xx: number; errors: number }[];
    };
    sse_fan_out_ms: { p50: number; max: number; samples: number[] };
    ws_messages_per_sec: {
      value: number;
      reference: { value: number; cpu_us_per_message: number };
      ratio_to_reference: number | null;
      cpu_us_per_message: number;
      cpu_ratio_to_reference: number | null;
    };
  };
}

test("npm run bench -- serve --quick measures requests/s, SSE fan-out and WS echoes beside bare node:http and ws", {
  timeout: BENCH_TIMEOUT_MS + 30_000,
}, async () => {
  const dir = tempDir("nx-bench-serve-test-");
  try {
    const path = join(dir.path, "serve.json");
    await execFileAsync(process.execPath, ["bench/run.ts", "serve", "--quick", "--report", path], {
      cwd: REPO_ROOT,
      timeout: BENCH_TIMEOUT_MS,
    });
    const results = (JSON.parse(readFileSync(path, "utf8")) as ServeReport).results;
    const figure = results.http_requests_per_sec;
    assert.ok(figure.value > 0 && figure.reference.value > 0);
    assert.ok(figure.p99_latency_ms >= 0 && figure.reference.p99_latency_ms >= 0);
    // The ratio is of the unrounded rates: within a rounding step of the rounded ones'.
    assert.ok(Math.abs(figure.ratio_to_reference! - figure.value / figure.reference.value) < 0.002);
    for (const sample of figure.samples) assert.deepEqual([sample.non2xx, sample.errors], [0, 0]);
    // Each server's own CPU time per request, read from /proc around the measured load.
    assert.ok(figure.cpu_us_per_request > 0 && figure.reference.cpu_us_per_request > 0);
    assert.ok(
      Math.abs(
        figure.cpu_ratio_to_reference! - figure.reference.cpu_us_per_request / figure.cpu_us_per_request,
      ) < 0.01,
    );

    // The clients fail the run when a stream misses a publish, so a report means all were reached.
    const fanOut = results.sse_fan_out_ms;
    assert.equal(fanOut.samples.length, 2);
    assert.ok(fanOut.samples.every((ms) => ms > 0) && fanOut.max === Math.max(...fanOut.samples));
    const ws = results.ws_messages_per_sec;
    assert.ok(ws.value > 0 && ws.reference.value > 0);
    assert.ok(Math.abs(ws.ratio_to_reference! - ws.value / ws.reference.value) < 0.002);
    // As for requests: each server's CPU time per frame echoed, from /proc around the clients' run.
    assert.ok(ws.cpu_us_per_message > 0 && ws.reference.cpu_us_per_message > 0);
    assert.ok(
      Math.abs(ws.cpu_ratio_to_reference! - ws.reference.cpu_us_per_message / ws.cpu_us_per_message) < 0.01,
    );
  } finally {
    dir.remove();
  }
});
