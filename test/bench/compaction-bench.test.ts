/**
 * `npm run bench -- compaction --quick` end to end. The cell multiple does not depend on the
 * machine (it counts bytes, not time), so it is checked: after collection the CRDT cells of the
 * churned store are within 1.5x of the same live set written fresh (every workload, the RGA queue
 * included), and without it they are not.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT, tempDir } from "../helpers/nx-process.ts";

const execFileAsync = promisify(execFile);
const BENCH_TIMEOUT_MS = 240_000;

interface Multiples {
  crdtCells: number;
  crdtCellsOf: Record<string, number>;
  file: number;
  heap: number;
}

test("npm run bench -- compaction --quick: collected cells stay at the live size", {
  timeout: BENCH_TIMEOUT_MS + 30_000,
}, async () => {
  const dir = tempDir("nx-bench-compaction-test-");
  try {
    const report = join(dir.path, "compaction.json");
    await execFileAsync("npm", ["run", "bench", "--", "compaction", "--quick", "--report", report], {
      cwd: REPO_ROOT,
      timeout: BENCH_TIMEOUT_MS,
    });
    const result = JSON.parse(readFileSync(report, "utf8")) as {
      cycles: number;
      multiples: Multiples;
      withoutCollection: { multiples: Multiples };
      rgaQueue: { after: { multiples: Multiples }; before: { multiples: Multiples } };
    };
    assert.equal(result.cycles, 20_000);
    for (const [workload, multiple] of Object.entries(result.multiples.crdtCellsOf))
      assert.ok(multiple <= 1.5, `${workload}: cells ${multiple}x the live set`);
    assert.ok(result.withoutCollection.multiples.crdtCells > 3, "without collection the tombstones stay");
    assert.ok(result.multiples.crdtCellsOf.queue !== undefined, "the queue is among the collected workloads");
    assert.ok(
      result.rgaQueue.after.multiples.crdtCells <= 1.5,
      "a queue's RGA tombstones collapse into a ghost",
    );
    assert.ok(result.rgaQueue.before.multiples.crdtCells > 3, "without collection they stay");
    assert.ok(Number.isFinite(result.multiples.file) && Number.isFinite(result.multiples.heap));
  } finally {
    dir.remove();
  }
});
