/**
 * Benchmark dispatcher: `npm run bench -- <name> [--report FILE] [--quick]`.
 *
 * Each benchmark is a module exporting `runBenchmark(options): Promise<BenchmarkReport>`; add it to
 * BENCHMARKS below. The report is printed and, with --report, written as JSON. Node is re-run with
 * --expose-gc when a benchmark needs `gc()` (memory figures) and it is not available yet.
 */

import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";

export interface BenchmarkOptions {
  /** Fewer iterations: a smoke run, figures are not meaningful. */
  readonly quick: boolean;
}

export interface BenchmarkReport {
  readonly benchmark: string;
  readonly [key: string]: unknown;
}

interface BenchmarkEntry {
  readonly needsGc: boolean;
  readonly load: () => Promise<{ runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> }>;
}

const BENCHMARKS: Record<string, BenchmarkEntry> = {
  kernel: { needsGc: true, load: () => import("./kernel.ts") },
  store: { needsGc: false, load: () => import("./store.ts") },
  crdt: { needsGc: false, load: () => import("./crdt.ts") },
  "guest-store": { needsGc: false, load: () => import("./guest-store.ts") },
  "run-startup": { needsGc: false, load: () => import("./run-startup.ts") },
  wire: { needsGc: false, load: () => import("./wire.ts") },
  "guest-crdt": { needsGc: false, load: () => import("./guest-crdt.ts") },
  "kernel-wasm": { needsGc: true, load: () => import("./kernel-wasm.ts") },
  "host-calls": { needsGc: false, load: () => import("./host-calls.ts") },
  events: { needsGc: false, load: () => import("./events.ts") },
  serve: { needsGc: false, load: () => import("./serve.ts") },
  policy: { needsGc: false, load: () => import("./policy.ts") },
  "snapshot-restore": { needsGc: false, load: () => import("./snapshot-restore.ts") },
  gossip: { needsGc: false, load: () => import("./gossip.ts") },
  compaction: { needsGc: true, load: () => import("./compaction.ts") },
  "replica-apply": { needsGc: false, load: () => import("./replica-apply.ts") },
  "map-write": { needsGc: false, load: () => import("./map-write.ts") },
};

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.stderr.write(
    `usage: npm run bench -- <${Object.keys(BENCHMARKS).join("|")}> [--report FILE] [--quick]\n`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith("--") && args[args.indexOf(a) - 1] !== "--report");
if (name === undefined) usage("name a benchmark");
const entry = BENCHMARKS[name];
if (entry === undefined) usage(`unknown benchmark "${name}"`);
const reportIndex = args.indexOf("--report");
const reportPath = reportIndex >= 0 ? args[reportIndex + 1] : undefined;
if (reportIndex >= 0 && (reportPath === undefined || reportPath.startsWith("--")))
  usage("--report needs a file path");

if (entry.needsGc && typeof globalThis.gc !== "function") {
  const rerun = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, process.argv[1], ...args], {
    stdio: "inherit",
  });
  process.exit(rerun.status ?? 1);
}

const benchmark = await entry.load();
const report = await benchmark.runBenchmark({ quick: args.includes("--quick") });
const json = `${JSON.stringify(report, null, 2)}\n`;
if (reportPath !== undefined) {
  writeFileSync(reportPath, json);
  process.stdout.write(`bench: report written to ${reportPath}\n`);
} else {
  process.stdout.write(json);
}
