/**
 * Start-up cost of `nx run` on a tiny guest (hello: one fd_write), against `node -e 0` on the
 * same Node in the same run: CPU time (user + system of the whole process, what a loaded
 * machine cannot inflate much) and wall time. Target: nx run CPU <= 1.5x node -e 0.
 *
 * Runs interleaved (node, nx, ... in rotation) so that load from other processes hits all
 * variants alike; reports medians, ranges and the ratio of medians. Each run is timed by bash's
 * `time` (getrusage of the child: microseconds, start to reaping), so no variant carries a
 * measuring preload. Variants:
 * - `nx_run_cached`: the module cache is warm (the common case: a module run before, whose file
 *   has been unchanged for a few seconds, so its SHA-256 is known by its stamp: module-cache.ts),
 *   run from this checkout (bin/nx.js first checks that build/cli/ is newer than every source);
 * - `nx_run_installed`: as `nx_run_cached` from the layout of an installed package (bin/, build/,
 *   package.json, no src/: no freshness walk);
 * - `nx_run_unstamped`: as `nx_run_cached`, but the module file's stamp is forgotten before each
 *   run, so the file is hashed (node:crypto loaded) as for a module just rebuilt;
 * - `nx_run_cold_module_cache`: the module cache is emptied before each run (instrumentation);
 * - `nx_run_no_compile_cache`: as `nx_run_cached` with Node's compile cache disabled
 *   (NODE_DISABLE_COMPILE_CACHE), which turns off the bundle's code cache too: what both caches
 *   of bin/nx.js save;
 * - `nx_run_from_source`: as `nx_run_cached` from the TypeScript sources (NX_FROM_SOURCE=1):
 *   what the bundle saves.
 *
 * Run: `npm run bench -- run-startup [--quick] [--report FILE]`.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { STAMP_SETTLED_MS } from "../src/wasm/module-cache.ts";
import { writeFixture } from "../test/fixtures/wasm/wat-fixtures.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";

const REPO_ROOT = join(import.meta.dirname, "..");
const TARGET_CPU_RATIO = 1.5;
/** bash times the command and prints "wall user system" in seconds; the command's stdout is dropped. */
const TIMED = 'TIMEFORMAT="%3R %3U %3S"; { time "$@" >/dev/null 2>&3; } 3>&2 2>&1';

interface Variant {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly before?: () => void;
}

interface Sample {
  readonly cpuMs: number;
  readonly wallMs: number;
}

interface Timing {
  median_ms: number;
  min_ms: number;
  max_ms: number;
  samples_ms: number[];
}

function timing(samples: readonly number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    median_ms: round(sorted[Math.floor(sorted.length / 2)]!),
    min_ms: round(sorted[0]!),
    max_ms: round(sorted.at(-1)!),
    samples_ms: samples.map(round),
  };
}

function runOnce(variant: Variant, cwd: string): Sample {
  variant.before?.();
  const result = spawnSync("bash", ["-c", TIMED, "timed", process.execPath, ...variant.args], {
    cwd,
    env: { ...process.env, ...variant.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.status !== 0) {
    throw new Error(`${variant.name} exited ${result.status}: ${result.stderr.toString()}`);
  }
  const [wall, user, system] = result.stdout.toString().trim().split(" ").map(Number);
  return { cpuMs: (user! + system!) * 1000, wallMs: wall! * 1000 };
}

/** What `npm install` leaves: the entry, the bundle, package.json and the dependencies; no src/. */
function installedLayout(dir: string): string {
  const root = join(dir, "installed");
  for (const path of ["bin/nx.js", "build/cli", "package.json"]) {
    cpSync(join(REPO_ROOT, path), join(root, path), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  return join(root, "bin", "nx.js");
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
    const checkoutBin = join(REPO_ROOT, "bin", "nx.js");
    const installedBin = installedLayout(dir);
    const run = (bin: string, store: string) => [bin, "run", "hello.wasm", "--datastore-path", store];
    const variants: Variant[] = [
      { name: "node_e_0", args: ["-e", "0"] },
      { name: "nx_run_cached", args: run(checkoutBin, datastore) },
      { name: "nx_run_installed", args: run(installedBin, datastore) },
      {
        name: "nx_run_unstamped",
        args: run(checkoutBin, unstampedDatastore),
        before: () =>
          rmSync(join(unstampedDatastore, "module-cache", "stamps"), { recursive: true, force: true }),
      },
      {
        name: "nx_run_cold_module_cache",
        args: run(checkoutBin, coldDatastore),
        before: () => rmSync(join(coldDatastore, "module-cache"), { recursive: true, force: true }),
      },
      {
        name: "nx_run_no_compile_cache",
        args: run(checkoutBin, datastore),
        env: { NODE_DISABLE_COMPILE_CACHE: "1" },
      },
      { name: "nx_run_from_source", args: run(checkoutBin, datastore), env: { NX_FROM_SOURCE: "1" } },
    ];
    // Warm-up: fills the module cache, the compile and code caches and the OS page cache.
    for (const variant of variants) runOnce(variant, dir);
    const samples = new Map<string, Sample[]>(variants.map((variant) => [variant.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const variant of variants) samples.get(variant.name)!.push(runOnce(variant, dir));
    }
    const of = (name: string, figure: keyof Sample) => samples.get(name)!.map((sample) => sample[figure]);
    const cpu = Object.fromEntries(variants.map(({ name }) => [name, timing(of(name, "cpuMs"))]));
    const wall = Object.fromEntries(variants.map(({ name }) => [name, timing(of(name, "wallMs"))]));
    const ratios = (results: Record<string, Timing>) =>
      Object.fromEntries(
        variants
          .filter(({ name }) => name !== "node_e_0")
          .map(({ name }) => [
            name,
            Math.round((results[name]!.median_ms / results.node_e_0!.median_ms) * 100) / 100,
          ]),
      );
    const cpuRatios = ratios(cpu);
    return {
      benchmark: "run-startup",
      node: process.version,
      cpus: availableParallelism(),
      load_average_1m: Math.round(loadavg()[0]! * 100) / 100,
      rounds,
      guest: "test/fixtures/wasm/hello.wat (one fd_write to stdout, one to stderr)",
      cpu_ratio_vs_node: cpuRatios,
      wall_ratio_vs_node: ratios(wall),
      cpu,
      wall,
      target_cpu_ratio_max: TARGET_CPU_RATIO,
      meets_target: cpuRatios.nx_run_cached! <= TARGET_CPU_RATIO,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const report = await runBenchmark({ quick: process.argv.includes("--quick") });
  console.log(JSON.stringify(report, (key, value) => (key === "samples_ms" ? undefined : value), 2));
}
