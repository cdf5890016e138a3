/**
 * Whole-process wall time of `nx run` on a tiny guest (hello: one fd_write), against `node -e 0`
 * on the same Node in the same run. Target: nx run <= 2x node -e 0.
 *
 * Runs interleaved (node, nx, ... in rotation) so that load from other processes hits all
 * variants alike; reports medians and the ratio of medians. Variants:
 * - `nx_run_cached`: the module cache is warm (the common case: a module run before, whose file
 *   has been unchanged for a few seconds, so its SHA-256 is known by its stamp: module-cache.ts);
 * - `nx_run_unstamped`: as `nx_run_cached`, but the module file's stamp is forgotten before each
 *   run, so the file is hashed (node:crypto loaded) as for a module just rebuilt;
 * - `nx_run_cold_module_cache`: the module cache is emptied before each run (instrumentation);
 * - `nx_run_compile_cache`: as `nx_run_cached`, with Node's compile cache (NODE_COMPILE_CACHE),
 *   which caches the TypeScript-stripped sources: what `module.enableCompileCache()` in the
 *   `nx` entry point would give every user.
 *
 * Run: `npm run bench -- run-startup [--quick] [--report FILE]`
 * (or through the dispatcher: `npm run bench -- run-startup --report FILE`).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { STAMP_SETTLED_MS } from "../src/wasm/module-cache.ts";
import { writeFixture } from "../test/fixtures/wasm/wat-fixtures.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";

const NX_BIN = join(import.meta.dirname, "..", "bin", "nx.js");
const TARGET_RATIO = 2;

interface Variant {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly before?: () => void;
}

interface Timing {
  median_ms: number;
  p90_ms: number;
  min_ms: number;
  samples_ms: number[];
}

function timing(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    median_ms: round(at(0.5)),
    p90_ms: round(at(0.9)),
    min_ms: round(sorted[0]!),
    samples_ms: samples.map(round),
  };
}

function runOnce(variant: Variant, cwd: string): number {
  variant.before?.();
  const started = performance.now();
  const result = spawnSync(process.execPath, variant.args, {
    cwd,
    env: { ...process.env, ...variant.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const elapsedMs = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(`${variant.name} exited ${result.status}: ${result.stderr.toString()}`);
  }
  return elapsedMs;
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const rounds = options.quick ? 3 : 21;
  const dir = mkdtempSync(join(tmpdir(), "nx-bench-startup-"));
  try {
    await writeFixture(dir, "hello");
    // nx run refuses a module without a policy; hello needs no capability.
    writeFileSync(join(dir, "hello.policy.toml"), "[capabilities]\n");
    // A module run again is usually one built a while ago: let its file settle (see nx_run_unstamped).
    await sleep(STAMP_SETTLED_MS + 100);
    const datastore = join(dir, "data");
    const unstampedDatastore = join(dir, "data-unstamped");
    const coldDatastore = join(dir, "data-cold");
    const compileCache = join(dir, "compile-cache");
    mkdirSync(compileCache);
    const run = (store: string) => [NX_BIN, "run", "hello.wasm", "--datastore-path", store];
    const variants: Variant[] = [
      { name: "node_e_0", args: ["-e", "0"] },
      { name: "nx_run_cached", args: run(datastore) },
      {
        name: "nx_run_unstamped",
        args: run(unstampedDatastore),
        before: () =>
          rmSync(join(unstampedDatastore, "module-cache", "stamps"), { recursive: true, force: true }),
      },
      {
        name: "nx_run_cold_module_cache",
        args: run(coldDatastore),
        before: () => rmSync(join(coldDatastore, "module-cache"), { recursive: true, force: true }),
      },
      { name: "nx_run_compile_cache", args: run(datastore), env: { NODE_COMPILE_CACHE: compileCache } },
    ];
    // Warm-up: fills the module cache, the compile cache and the OS page cache.
    for (const variant of variants) runOnce(variant, dir);
    const samples = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const variant of variants) samples.get(variant.name)!.push(runOnce(variant, dir));
    }
    const results = Object.fromEntries(
      variants.map((variant) => [variant.name, timing(samples.get(variant.name)!)]),
    );
    const reference = results.node_e_0!.median_ms;
    const ratio = (name: string) => Math.round((results[name]!.median_ms / reference) * 100) / 100;
    return {
      benchmark: "run-startup",
      node: process.version,
      cpus: availableParallelism(),
      load_average_1m: Math.round(loadavg()[0]! * 100) / 100,
      rounds,
      guest: "test/fixtures/wasm/hello.wat (one fd_write to stdout, one to stderr)",
      results,
      ratio_vs_node: {
        nx_run_cached: ratio("nx_run_cached"),
        nx_run_unstamped: ratio("nx_run_unstamped"),
        nx_run_cold_module_cache: ratio("nx_run_cold_module_cache"),
        nx_run_compile_cache: ratio("nx_run_compile_cache"),
      },
      target_ratio_max: TARGET_RATIO,
      meets_target: ratio("nx_run_cached") <= TARGET_RATIO,
      meets_target_with_compile_cache: ratio("nx_run_compile_cache") <= TARGET_RATIO,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const report = await runBenchmark({ quick: process.argv.includes("--quick") });
  const outDir = join(import.meta.dirname, "out");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "run-startup.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(
    JSON.stringify(
      { ratio_vs_node: report.ratio_vs_node, results: report.results },
      (key, value) => (key === "samples_ms" ? undefined : value),
      2,
    ),
  );
}
