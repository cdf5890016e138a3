import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Reference } from "../gate-report.ts";

/**
 * Bytes of one field's stored cell in a distinct-key run (field "n0-123456", stamp, origin, the
 * 8-byte value, as the replica packs it): what the store reference puts per cell.
 */
export const CELL_RECORD_BYTES = 50;

/**
 * Cells per commit in the store reference: a node at 100 000 distinct writes/s on three nodes
 * stores about 3 000 cells per 10 ms store batch; larger commits only make raw lmdb-js faster,
 * so the bound errs high.
 */
export const STORE_REFERENCE_WRITES_PER_COMMIT = 4096;

/**
 * Same-run reference of the distinct-key gates (`--keys`): what the store alone can take on this
 * machine at this moment. Every node of a distinct-key run stores one cell per field written
 * anywhere in the cluster, its own and every peer's, so a node replicating W distinct writes/s on
 * N nodes stores N·W cells/s. Here N processes run at once (as the N nodes do, on the same cores),
 * each putting distinct cells with raw lmdb-js for `durationMs`, in commits of `writesPerCommit`
 * with their fsync, as the node's store does: no Numax, no decode, no network. The sum of their
 * rates divided by N·N bounds the distinct write rate per node that any node of this design could
 * replicate here (`ops_sec` is that bound; `cells_sec_per_process` the raw rate), so the gate's
 * figure over it does not move when the machine is busier, only when Numax is.
 */
export interface LmdbCellsReference extends Reference {
  readonly name: "lmdb_put_cells_per_node_bound";
  /** The bound: the N processes' cells/s summed, over N·N. */
  readonly ops_sec: number;
  readonly duration_secs: number;
  readonly processes: number;
  readonly writes_per_commit: number;
  /** Each process's cells/s. */
  readonly cells_sec_per_process: readonly number[];
  /** CPU time each cell took (user + system, all threads), µs, per process. */
  readonly cpu_us_per_cell: readonly number[];
}

/** One process's result line (lmdb-cells-writer.ts). */
export interface CellsWriterResult {
  readonly cells: number;
  readonly secs: number;
  readonly cpuUs: number;
}

const WRITER = fileURLToPath(new URL("./lmdb-cells-writer.ts", import.meta.url));

export async function measureLmdbCells(options: {
  readonly directory: string;
  readonly processes: number;
  readonly durationMs: number;
  readonly valueBytes: number;
  readonly writesPerCommit: number;
}): Promise<LmdbCellsReference> {
  const root = mkdtempSync(join(options.directory, "lmdb-cells-reference-"));
  try {
    const results = await Promise.all(
      Array.from({ length: options.processes }, (_, index) =>
        runWriter([
          join(root, `store-${index}`),
          String(options.durationMs),
          String(options.valueBytes),
          String(options.writesPerCommit),
          String(options.processes),
        ]),
      ),
    );
    const rates = results.map((result) => result.cells / result.secs);
    const total = rates.reduce((sum, rate) => sum + rate, 0);
    return {
      name: "lmdb_put_cells_per_node_bound",
      ops_sec: Math.round(total / (options.processes * options.processes)),
      duration_secs: Math.round(Math.max(...results.map((result) => result.secs)) * 100) / 100,
      processes: options.processes,
      writes_per_commit: options.writesPerCommit,
      cells_sec_per_process: rates.map(Math.round),
      cpu_us_per_cell: results.map((result) => Math.round((result.cpuUs / result.cells) * 100) / 100),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function runWriter(args: readonly string[]): Promise<CellsWriterResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`the lmdb cells reference writer exited ${code}: ${stderr.trim()}`));
      else resolve(JSON.parse(stdout) as CellsWriterResult);
    });
  });
}
