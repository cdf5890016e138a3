/**
 * The figures `npm run perf:check` gates: each a ratio to a reference measured in the same run
 * of a short benchmark (`--quick`), so a busier machine moves both sides alike, and each with the
 * direction that is better. Adding one: name it, point at its benchmark and its place in the
 * report, run `npm run perf:check -- --update` and commit the baseline with the figures.
 */

export interface PerfFigure {
  /** Stable name, the key in bench/baselines/perf-check.json. */
  readonly name: string;
  /** A benchmark of bench/run.ts, run with `--quick`. */
  readonly benchmark: string;
  /** Dotted path of the figure in that benchmark's report. */
  readonly path: string;
  readonly better: "higher" | "lower";
  /** What it compares, for the table. */
  readonly what: string;
}

export const PERF_FIGURES: readonly PerfFigure[] = [
  {
    name: "wasm_spawn_pooled",
    benchmark: "kernel-wasm",
    path: "results.wasm_spawn_per_sec.ratio_to_reference",
    better: "higher",
    what: "pooled wasm spawn-to-exit per CPU second / a bare JSPI call on a ready instance",
  },
  {
    name: "wasm_spawn_unpooled",
    benchmark: "kernel-wasm",
    path: "results.wasm_spawn_per_sec.unpooled.ratio_to_reference",
    better: "higher",
    what: "unpooled wasm spawn per CPU second / new WebAssembly.Instance + run",
  },
  {
    name: "guest_db_set",
    benchmark: "guest-store",
    path: "db_set.ratio_vs_raw_batched_put",
    better: "higher",
    what: "guest db_set/s / lmdb-js batched put/s",
  },
  {
    name: "guest_map_write",
    benchmark: "map-write",
    path: "rawVsLocal",
    better: "higher",
    what: "raw lmdb-js CPU per distinct cell / CPU per guest LWW-Map write (replica, store, PushOps to 2 peers)",
  },
];

/** The number at `path` in `report`, or undefined when there is none. */
export function figureAt(report: unknown, path: string): number | undefined {
  let value: unknown = report;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
