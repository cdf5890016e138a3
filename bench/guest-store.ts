/**
 * What the sandbox costs, each figure as a ratio against a reference measured in the same run:
 *
 * - `db_get`: a guest calling `nx.db_get` on existing keys in a loop, against raw lmdb-js `get`
 *   (and its fastest read, `getBinaryFast`) in the same process. Target >= 70%.
 * - `db_set`: a guest calling `nx.db_set` in a loop until the store has flushed, against raw
 *   lmdb-js batched puts (its async `put`, which batches a turn's writes into one transaction;
 *   the target, >= 50%, is against this) and, for the record, `putSync` in one `transactionSync`.
 * - `instantiate`: creating a guest instance from a cached compiled module (imports, memory,
 *   fuel slot), against a bare `new WebAssembly.Instance`. Target: median < 1 ms.
 * - `fuel`: the same compute-bound guest code with and without fuel instrumentation (tight WAT
 *   loops and call-heavy code, and AssemblyScript programs compiled here with asc -O3).
 *
 * Run: `npm run bench -- guest-store [--quick] [--report FILE]`
 * (or through the dispatcher: `npm run bench -- guest-store --report FILE`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { open as openLmdb } from "lmdb";
import { silentLogger } from "../src/observe/logger.ts";
import { createGuestStore } from "../src/store/guest-store.ts";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { FUEL_TABLE_EXPORT, START_EXPORT } from "../src/wasm/guest-exports.ts";
import { GuestInstance } from "../src/wasm/guest-instance.ts";
import { instrumentModule } from "../src/wasm/instrument-module.ts";
import { loadGuestModuleBytes } from "../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../src/wasm/module-cache.ts";
import { refillTrampoline } from "../src/wasm/refill-trampoline.ts";
import { recordingEnvironment } from "../test/fixtures/wasm/guest-runtime.ts";
import { fixtureWasm, watToWasm } from "../test/fixtures/wasm/wat-fixtures.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median, round, SAMPLES } from "./sampling.ts";

const KEY_COUNT = 10_000;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const MIB = 1024 * 1024;

const TARGET_GET_RATIO = 0.7;
const TARGET_SET_RATIO = 0.5;
const TARGET_INSTANTIATE_MS = 1;

/** Median ops/s over SAMPLES runs of `body` doing `ops` operations. */
async function opsPerSec(ops: number, body: () => unknown): Promise<number> {
  const rates: number[] = [];
  for (let sample = 0; sample < SAMPLES; sample++) {
    const started = performance.now();
    await body();
    rates.push(ops / ((performance.now() - started) / 1000));
  }
  return round(median(rates));
}

function keyOf(index: number): Uint8Array {
  return new TextEncoder().encode(`key-${String(index).padStart(KEY_BYTES - 4, "0")}`);
}

interface StoreFigures {
  db_get: Record<string, number | boolean>;
  db_set: Record<string, number | boolean>;
}

async function storeFigures(dir: string, quick: boolean): Promise<StoreFigures> {
  const gets = quick ? 20_000 : 300_000;
  const sets = quick ? 10_000 : 100_000;
  const keys = Array.from({ length: KEY_COUNT }, (_, i) => keyOf(i));
  const value = new Uint8Array(VALUE_BYTES).map((_, i) => (i * 31) & 0xff);

  // The raw reference: lmdb-js on its own environment with the same rows.
  const raw = openLmdb<Uint8Array, Uint8Array>({
    path: join(dir, "raw"),
    keyEncoding: "binary",
    encoding: "binary",
  });
  raw.transactionSync(() => {
    for (const key of keys) raw.putSync(key, value);
  });
  let sink = 0;
  const rawGet = await opsPerSec(gets, () => {
    for (let i = 0; i < gets; i++) sink += raw.get(keys[i % KEY_COUNT]!)!.length;
  });
  const rawGetFast = await opsPerSec(gets, () => {
    for (let i = 0; i < gets; i++) sink += raw.getBinaryFast(keys[i % KEY_COUNT]!)!.length;
  });
  const rawPutBatched = await opsPerSec(sets, async () => {
    let last: Promise<boolean> | undefined;
    for (let i = 0; i < sets; i++) last = raw.put(keys[i % KEY_COUNT]!, value);
    await last;
  });
  const rawPutTransaction = await opsPerSec(sets, () => {
    raw.transactionSync(() => {
      for (let i = 0; i < sets; i++) raw.putSync(keys[i % KEY_COUNT]!, value);
    });
  });
  await raw.close();

  // The guest: nx.db_get / nx.db_set through the ABI, the guest store and the LMDB backend.
  const backend = await openLmdbBackend({ path: join(dir, "guest") });
  for (const key of keys) backend.put(key, value);
  await backend.flushed();
  const module = await loadGuestModuleBytes(await fixtureWasm("bench-store"), "bench-store.wasm", {
    memoryMaxBytes: 256 * MIB,
    cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
    logger: silentLogger,
  });
  const guest = GuestInstance.create(module, {
    env: recordingEnvironment("bench-store", createGuestStore(backend)),
    cpuMsPerRun: undefined,
  });
  const memory = new Uint8Array(guest.memory.buffer);
  const params = new DataView(guest.memory.buffer);
  for (const [i, key] of keys.entries()) memory.set(key, 1024 + i * KEY_BYTES);
  memory.set(value, MIB);
  const runGuest = async (op: number, iterations: number) => {
    params.setUint32(0, op, true);
    params.setUint32(4, iterations, true);
    params.setUint32(8, KEY_COUNT, true);
    params.setUint32(12, KEY_BYTES, true);
    params.setUint32(16, VALUE_BYTES, true);
    const result = await guest.run();
    if (!result.ok) throw result.failure;
  };
  const guestGet = await opsPerSec(gets, () => runGuest(0, gets));
  const expectedSum = (gets * VALUE_BYTES) | 0;
  if (params.getInt32(20, true) !== expectedSum) throw new Error("guest db_get did not read every value");
  const guestSet = await opsPerSec(sets, async () => {
    await runGuest(1, sets);
    await backend.flushed();
  });
  await backend.close();
  if (sink === 0) throw new Error("unreachable: reads returned nothing");

  const bestRawPut = Math.max(rawPutBatched, rawPutTransaction);
  return {
    db_get: {
      guest_ops_per_sec: guestGet,
      raw_lmdb_get_ops_per_sec: rawGet,
      raw_lmdb_get_binary_fast_ops_per_sec: rawGetFast,
      ratio_vs_raw_get: round(guestGet / rawGet, 3),
      ratio_vs_raw_get_binary_fast: round(guestGet / rawGetFast, 3),
      target_ratio_min: TARGET_GET_RATIO,
      meets_target: guestGet / rawGet >= TARGET_GET_RATIO,
    },
    db_set: {
      guest_ops_per_sec: guestSet,
      raw_lmdb_batched_put_ops_per_sec: rawPutBatched,
      raw_lmdb_transaction_put_sync_ops_per_sec: rawPutTransaction,
      ratio_vs_raw_batched_put: round(guestSet / rawPutBatched, 3),
      ratio_vs_best_raw_put: round(guestSet / bestRawPut, 3),
      target_ratio_min: TARGET_SET_RATIO,
      meets_target: guestSet / rawPutBatched >= TARGET_SET_RATIO,
    },
  };
}

async function instantiateFigures(quick: boolean): Promise<Record<string, number | boolean>> {
  const iterations = quick ? 200 : 3000;
  const cache = new ModuleCache({ directory: undefined, logger: silentLogger });
  const loadOptions = { memoryMaxBytes: 256 * MIB, cache, logger: silentLogger };
  const hello = await loadGuestModuleBytes(await fixtureWasm("hello"), "hello.wasm", loadOptions);
  const store = await loadGuestModuleBytes(await fixtureWasm("bench-store"), "bench-store.wasm", loadOptions);
  const time = (body: () => unknown) => {
    for (let i = 0; i < Math.min(100, iterations); i++) body();
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const started = performance.now();
      body();
      samples.push(performance.now() - started);
    }
    samples.sort((a, b) => a - b);
    return {
      median: samples[Math.floor(samples.length / 2)]!,
      p99: samples[Math.floor(samples.length * 0.99)]!,
    };
  };
  const env = recordingEnvironment("hello");
  const guestHello = time(() => GuestInstance.create(hello, { env, cpuMsPerRun: undefined }));
  const guestStore = time(() => GuestInstance.create(store, { env, cpuMsPerRun: undefined }));
  const bare = time(
    () => new WebAssembly.Instance(store.module, { nx: { db_get: () => 0, db_set: () => 0 } }),
  );
  // Create + run to completion: what spawning a short guest costs.
  const runs: number[] = [];
  for (let i = 0; i < Math.min(iterations, 1000); i++) {
    const started = performance.now();
    await GuestInstance.create(hello, { env, cpuMsPerRun: undefined }).run();
    runs.push(performance.now() - started);
  }
  return {
    guest_instantiate_median_ms: round(guestHello.median, 4),
    guest_instantiate_p99_ms: round(guestHello.p99, 4),
    guest_instantiate_2mib_memory_median_ms: round(guestStore.median, 4),
    bare_webassembly_instance_2mib_memory_median_ms: round(bare.median, 4),
    guest_create_and_run_hello_median_ms: round(median(runs), 4),
    target_ms_max: TARGET_INSTANTIATE_MS,
    meets_target: guestHello.median < TARGET_INSTANTIATE_MS,
  };
}

const FUEL_WAT = `(module
  (memory (export "memory") 64)
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $acc))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "run")))`;

const ASSEMBLYSCRIPT_SOURCE = `
export function sieve(n: i32): i32 {
  const flags = new Uint8Array(n + 1);
  let count = 0;
  for (let i = 2; i <= n; i++) {
    if (flags[i] == 0) { count++; for (let j = i * 2; j <= n; j += i) flags[j] = 1; }
  }
  return count;
}
export function simdSum(n: i32): i32 {
  let acc = i32x4.splat(0);
  for (let i = 0; i < n; i++) acc = i32x4.add(acc, i32x4(i, i + 1, i + 2, i + 3));
  return i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 3);
}
export function sortFloats(n: i32): f64 {
  const a = new Array<f64>(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i as f64);
  a.sort();
  return a[0] + a[n - 1];
}
export function mapStrings(n: i32): i32 {
  const m = new Map<string, i32>();
  for (let i = 0; i < n; i++) m.set("k" + i.toString(), i);
  let total = 0;
  for (let i = 0; i < n; i++) total += m.get("k" + i.toString());
  return total;
}
export function run(): void {}
`;

/** The AssemblyScript program above, compiled with asc -O3; `copies` > 1 repeats its functions under new names. */
async function compileAssemblyScript(copies = 1): Promise<Uint8Array> {
  const { default: asc } = await import("assemblyscript/asc");
  let source = ASSEMBLYSCRIPT_SOURCE;
  for (let copy = 1; copy < copies; copy++) {
    // distinct constants, so that the optimizer cannot fold the copies into one function
    source += ASSEMBLYSCRIPT_SOURCE.replace(/export function (\w+)/g, `export function $1_${copy}`)
      .replaceAll("let count = 0;", `let count = ${copy};`)
      .replaceAll("let total = 0;", `let total = ${copy};`)
      .replaceAll("i32x4.splat(0)", `i32x4.splat(${copy})`)
      .replaceAll("a[n - 1];", `a[n - 1] + ${copy};`);
  }
  let output: Uint8Array | undefined;
  const { error, stderr } = await asc.main(
    [
      "bench.ts",
      "--outFile",
      "bench.wasm",
      "-O3",
      "--enable",
      "simd",
      "--runtime",
      "stub",
      "--exportStart",
      "_start",
    ],
    {
      readFile: (name: string) => (name === "bench.ts" ? source : null),
      writeFile: (_name: string, contents: Uint8Array | string) => {
        if (typeof contents !== "string") output = contents;
      },
      listFiles: () => [],
    },
  );
  if (error || output === undefined) throw new Error(`asc failed: ${error?.message} ${stderr.toString()}`);
  return output;
}

/** Instantiates original and instrumented bytes and times `calls` on both (best of SAMPLES). */
async function fuelRatios(
  original: Uint8Array,
  calls: readonly (readonly [name: string, argument: number])[],
): Promise<Record<string, { plain_ms: number; instrumented_ms: number; ratio: number }>> {
  const imports = { env: { abort: () => {} } };
  const plain = new WebAssembly.Instance(new WebAssembly.Module(original), imports).exports;
  const instrumented = new WebAssembly.Instance(
    new WebAssembly.Module(
      instrumentModule(original, { moduleLabel: "bench", memoryMaxBytes: 256 * MIB }).bytes,
    ),
    imports,
  ).exports;
  // A refill that never yields: this measures the checks, not the slicing.
  (instrumented[FUEL_TABLE_EXPORT] as WebAssembly.Table).set(
    0,
    refillTrampoline(() => 200_000),
  );
  if (typeof plain._start === "function") {
    (plain._start as () => void)();
    await WebAssembly.promising(instrumented._start as () => void)();
  }
  if (typeof instrumented[START_EXPORT] === "function")
    await WebAssembly.promising(instrumented[START_EXPORT] as () => void)();
  const figures: Record<string, { plain_ms: number; instrumented_ms: number; ratio: number }> = {};
  for (const [name, argument] of calls) {
    const plainCall = plain[name] as (n: number) => number;
    const instrumentedCall = WebAssembly.promising(instrumented[name] as (n: number) => number);
    let plainBest = Number.POSITIVE_INFINITY;
    let instrumentedBest = Number.POSITIVE_INFINITY;
    for (let sample = 0; sample < SAMPLES; sample++) {
      let started = performance.now();
      const expected = plainCall(argument);
      plainBest = Math.min(plainBest, performance.now() - started);
      started = performance.now();
      const actual = await instrumentedCall(argument);
      instrumentedBest = Math.min(instrumentedBest, performance.now() - started);
      if (actual !== expected)
        throw new Error(`${name}: instrumented result ${actual} differs from ${expected}`);
    }
    figures[name] = {
      plain_ms: round(plainBest, 2),
      instrumented_ms: round(instrumentedBest, 2),
      ratio: round(instrumentedBest / plainBest, 2),
    };
  }
  return figures;
}

/**
 * The module-cache miss path step by step on a larger AssemblyScript module: what the disk cache
 * saves (validation, layout, instrumentation) and what every process still pays (hash, compile).
 */
async function cacheMissFigures(quick: boolean): Promise<Record<string, number>> {
  const bytes = await compileAssemblyScript(quick ? 4 : 40);
  const best = (body: () => unknown) => {
    let bestMs = Number.POSITIVE_INFINITY;
    for (let sample = 0; sample < SAMPLES; sample++) {
      const started = performance.now();
      body();
      bestMs = Math.min(bestMs, performance.now() - started);
    }
    return round(bestMs, 3);
  };
  const { createHash } = await import("node:crypto");
  const instrumented = instrumentModule(bytes, { moduleLabel: "bench", memoryMaxBytes: 256 * MIB });
  // V8 shares compiled code between modules of identical bytes in one process: only the first
  // compile of these bytes is a real one.
  const compileStarted = performance.now();
  new WebAssembly.Module(instrumented.bytes);
  const firstCompileMs = performance.now() - compileStarted;
  return {
    module_bytes: bytes.length,
    instrumented_bytes: instrumented.bytes.length,
    fuel_checks: instrumented.fuelChecks,
    sha256_ms: best(() => createHash("sha256").update(bytes).digest()),
    validate_ms: best(() => WebAssembly.validate(bytes)),
    instrument_ms: best(() => instrumentModule(bytes, { moduleLabel: "bench", memoryMaxBytes: 256 * MIB })),
    first_compile_ms: round(firstCompileMs, 3),
  };
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const dir = mkdtempSync(join(tmpdir(), "nx-bench-guest-store-"));
  try {
    const store = await storeFigures(dir, options.quick);
    const instantiate = await instantiateFigures(options.quick);
    const scale = options.quick ? 0.1 : 1;
    const micro = await fuelRatios(await watToWasm(FUEL_WAT), [
      ["sum", Math.round(100_000_000 * scale)],
      ["fib", options.quick ? 25 : 30],
    ]);
    const assemblyScript = await fuelRatios(await compileAssemblyScript(), [
      ["sieve", Math.round(3_000_000 * scale)],
      ["simdSum", Math.round(20_000_000 * scale)],
      ["sortFloats", Math.round(300_000 * scale)],
      ["mapStrings", Math.round(50_000 * scale)],
    ]);
    return {
      benchmark: "guest-store",
      node: process.version,
      cpus: availableParallelism(),
      load_average_1m: round(loadavg()[0]!, 2),
      quick: options.quick,
      rows: { keys: KEY_COUNT, key_bytes: KEY_BYTES, value_bytes: VALUE_BYTES },
      ...store,
      instantiate,
      cache_miss: await cacheMissFigures(options.quick),
      fuel: { wat_micro: micro, assemblyscript_o3: assemblyScript },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
