/**
 * bench/gate/loop-probe.ts measures a node's main thread. `node --import` preloads it into worker
 * threads too (a node's store commit thread), which measured their own event loop and GC and
 * wrote the same `<pid>.json`: the report then held whichever thread wrote last.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const directory = mkdtempSync(join(tmpdir(), "nx-loop-probe-test-"));
after(() => rmSync(directory, { recursive: true, force: true }));

// The window is 400 ms. The main thread makes garbage through it (scavenges); a worker (from a
// file, as the commit thread is: preloads do not run in eval'd workers) makes none and is busy
// from 150 ms into the window until 500 ms after its end, so its probe, if it had one, would
// write last, with a window of 900 ms.
const workerFile = join(directory, "busy-worker.mjs");
writeFileSync(
  workerFile,
  `const startAt = Number(process.env.NX_GATE_START_AT_MS);
setTimeout(() => { while (Date.now() < startAt + 900); }, startAt + 150 - Date.now());
`,
);
const script = `
const { Worker } = require("node:worker_threads");
const worker = new Worker(${JSON.stringify(workerFile)});
let kept;
const churn = setInterval(() => { for (let i = 0; i < 20000; i++) kept = { i, s: "x" + i }; }, 2);
worker.on("exit", () => clearInterval(churn));
`;

test("the loop probe measures the main thread only, not a worker thread", { timeout: 30_000 }, () => {
  // Far enough ahead for both threads to be up and waiting on a loaded machine.
  const startAtMs = Date.now() + 2_000;
  const child = spawnSync(process.execPath, ["--import", "./bench/gate/loop-probe.ts", "-e", script], {
    env: {
      ...process.env,
      NX_GATE_LOOP_STATS_DIR: directory,
      NX_GATE_START_AT_MS: String(startAtMs),
      NX_GATE_DURATION_MS: "400",
    },
    encoding: "utf8",
    timeout: 20_000,
  });
  assert.equal(child.status, 0, child.stderr);
  const files = readdirSync(directory).filter((name) => name.endsWith(".json"));
  assert.deepEqual(files, [`${child.pid}.json`]);
  const stats = JSON.parse(readFileSync(join(directory, files[0]!), "utf8")) as {
    window_ms: number;
    gc: { minor?: { count: number } };
  };
  assert.ok(stats.window_ms < 800, `the main thread's window: ${stats.window_ms} ms`);
  assert.ok((stats.gc.minor?.count ?? 0) > 0, `the main thread's scavenges: ${JSON.stringify(stats.gc)}`);
});
