/**
 * Store throughput against raw lmdb-js, measured in the same process and run:
 *
 *   npm run bench -- store [--quick] [--report FILE]
 *
 * References (lmdb-js with the same binary key/value encodings, its own default settings):
 * - raw get: `db.getBinary(key)` (what `db.get` does for binary values), and `getBinaryFast`;
 * - raw batched put: N × `db.put(key, value)` issued in one turn, then `await db.flushed`
 *   (lmdb-js commits them in one transaction on its writer thread and fsyncs).
 * Ours: LmdbBackend `get`, `getView`, and N × `put` then `await flushed()`: both put figures
 * run until the data is durable. Each figure is the median of many short slices run back to
 * back with their reference; each ratio is the median of the per-pair ratios.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median } from "./sampling.ts";

const VALUE_BYTES = 100;

function keyOf(i: number): Uint8Array {
  return new TextEncoder().encode(`bench/key/${String(i).padStart(8, "0")}`);
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/** Operations per second of `count` operations run by `body` (which may be async). */
async function rate(count: number, body: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await body();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return count / seconds;
}

/** Keeps reads from being optimised away. */
let checksum = 0;

interface StoreReport {
  readonly opsPerSecond: Record<string, number>;
  readonly ratios: Record<string, number>;
  readonly groupCommitOf100WritesMs: { p50: number; p90: number; max: number };
}

interface Pair {
  readonly raw: string;
  readonly ours: string;
  readonly rawSlice: (from: number, to: number) => unknown;
  readonly oursSlice: (from: number, to: number) => unknown;
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport & StoreReport> {
  const count = options.quick ? 20_000 : 200_000;
  const sliceOps = options.quick ? 5_000 : 20_000;
  const pairsPerFigure = options.quick ? 4 : 21;
  const keys = Array.from({ length: count }, (_, i) => keyOf(i));
  const values = Array.from({ length: count }, (_, i) => new Uint8Array(VALUE_BYTES).fill(i & 0xff));
  const root = await mkdtemp(join(tmpdir(), "nx-bench-store-"));
  const raw: RootDatabase<Uint8Array, Uint8Array> = open({
    path: join(root, "raw"),
    keyEncoding: "binary",
    encoding: "binary",
  });
  const ours = await openLmdbBackend({ path: join(root, "ours") });

  const pairs: Pair[] = [
    {
      raw: "rawBatchedPut",
      ours: "backendPut",
      rawSlice: async (from, to) => {
        for (let i = from; i < to; i++) raw.put(keys[i]!, values[i]!);
        await raw.flushed;
      },
      oursSlice: async (from, to) => {
        for (let i = from; i < to; i++) ours.put(keys[i]!, values[i]!);
        await ours.flushed();
      },
    },
    {
      raw: "rawGet",
      ours: "backendGet",
      rawSlice: (from, to) => {
        for (let i = from; i < to; i++) checksum += raw.getBinary(keys[i]!)!.length;
      },
      oursSlice: (from, to) => {
        for (let i = from; i < to; i++) checksum += ours.get(keys[i]!)!.length;
      },
    },
    {
      raw: "rawGetFast",
      ours: "backendGetView",
      rawSlice: (from, to) => {
        for (let i = from; i < to; i++) checksum += raw.getBinaryFast(keys[i]!)!.length;
      },
      oursSlice: (from, to) => {
        for (let i = from; i < to; i++) checksum += ours.getView(keys[i]!)!.length;
      },
    },
  ];

  const samples: Record<string, number[]> = Object.fromEntries(
    pairs.flatMap((p) => [
      [p.raw, []],
      [p.ours, []],
    ]),
  );
  const pairRatios: Record<string, number[]> = Object.fromEntries(pairs.map((p) => [p.ours, []]));
  try {
    // Fill both stores, then warm every path up; none of this is measured.
    for (const pair of pairs) {
      await pair.rawSlice(0, count);
      await pair.oursSlice(0, count);
    }
    // The machine is shared, so its speed drifts: each figure is measured in back-to-back
    // slices of raw and ours (alternating which goes first), and the ratio is taken per pair.
    for (const pair of pairs) {
      for (let n = 0; n < pairsPerFigure; n++) {
        const from = ((n * sliceOps) % (count - sliceOps)) | 0;
        const to = from + sliceOps;
        const measure = (slice: (from: number, to: number) => unknown) =>
          rate(sliceOps, () => slice(from, to));
        const rawFirst = n % 2 === 0;
        const first = await measure(rawFirst ? pair.rawSlice : pair.oursSlice);
        const second = await measure(rawFirst ? pair.oursSlice : pair.rawSlice);
        const [rawRate, oursRate] = rawFirst ? [first, second] : [second, first];
        samples[pair.raw]!.push(rawRate);
        samples[pair.ours]!.push(oursRate);
        pairRatios[pair.ours]!.push(oursRate / rawRate);
      }
    }

    // How long a group of 100 small writes takes to become durable (flushed()): the commit runs
    // on the store's commit thread, so this is latency, not time taken from the event loop.
    const commitMs: number[] = [];
    for (let i = 0; i < (options.quick ? 20 : 200); i++) {
      for (let j = 0; j < 100; j++) ours.put(keys[(i * 100 + j) % count]!, values[j]!);
      const start = process.hrtime.bigint();
      await ours.flushed();
      commitMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    }

    const round3 = (value: number) => Math.round(value * 1000) / 1000;
    const opsPerSecond = Object.fromEntries(
      Object.entries(samples).map(([name, values]) => [name, Math.round(median(values))]),
    );
    return {
      benchmark: "store",
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      loadAverage: loadavg().map(round3),
      quick: options.quick,
      keys: count,
      valueBytes: VALUE_BYTES,
      opsPerSlice: sliceOps,
      pairsPerFigure,
      opsPerSecond,
      /** Median over back-to-back pairs of ours / raw. */
      ratios: {
        getVsRawGet: round3(median(pairRatios.backendGet!)),
        getViewVsRawGetFast: round3(median(pairRatios.backendGetView!)),
        putVsRawBatchedPut: round3(median(pairRatios.backendPut!)),
      },
      groupCommitOf100WritesMs: {
        p50: round3(percentile(commitMs, 0.5)),
        p90: round3(percentile(commitMs, 0.9)),
        max: round3(percentile(commitMs, 1)),
      },
      checksum: checksum > 0,
    };
  } finally {
    await ours.close();
    await raw.close();
    await rm(root, { recursive: true, force: true });
  }
}
