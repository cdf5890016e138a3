/**
 * WebAssembly process figures (issue 7): wasm_spawn_per_sec (pooled instance of a small module,
 * spawn to exit; also unpooled) and idle_wasm_process_bytes (memory per wasm process parked in
 * receive), each beside the seed's figure where it gives one and beside a reference measured in
 * the same run: the bare WebAssembly cost of the same work without the kernel.
 *
 * Run: `npm run bench -- kernel-wasm --report bench/out/kernel-wasm.json` (add --quick for a
 * smoke run). The guests are test/guests/proc_noop.ts and proc_idle.ts (built first).
 */

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { getHeapSpaceStatistics } from "node:v8";
import { createKernel, type Kernel, type Pid, type ProcessContext } from "../src/kernel/index.ts";
import { silentLogger } from "../src/observe/logger.ts";
import type { GuestEnvironment } from "../src/wasm/abi/guest-environment.ts";
import { MEMORY_EXPORT } from "../src/wasm/guest-exports.ts";
import { GuestInstance } from "../src/wasm/guest-instance.ts";
import { type GuestModule, loadGuestModuleFile } from "../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../src/wasm/module-cache.ts";
import { guestMessage, WasmProcessHost } from "../src/wasm/process/index.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median, type Rate, type Sampled, sample, startRate } from "./sampling.ts";

/** Seed (RUSM, Rust + Wasmtime pooling allocator) figure from seeds/003. */
const SEED_WASM_SPAWN_PER_SEC = 440_000;
const TARGET_WASM_SPAWN_PER_SEC = 100_000;
/** Spawns per burst before the parent yields; also the pool's idle bound, so bursts reuse. */
const BURST = 100;
const REPO = join(import.meta.dirname, "..");

interface Sizes {
  spawns: number;
  unpooledSpawns: number;
  idleProcesses: number;
}

const FULL: Sizes = { spawns: 100_000, unpooledSpawns: 10_000, idleProcesses: 2_000 };
const QUICK: Sizes = { spawns: 5_000, unpooledSpawns: 1_000, idleProcesses: 200 };

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---- guests -------------------------------------------------------------------------------------

async function loadGuests(): Promise<{ noop: GuestModule; idle: GuestModule }> {
  const built = spawnSync(
    process.execPath,
    [join(REPO, "scripts/build-guests.ts"), "proc_noop", "proc_idle"],
    {
      encoding: "utf8",
    },
  );
  if (built.status !== 0) throw new Error(`building the benchmark guests failed:\n${built.stderr}`);
  const cache = new ModuleCache({ directory: undefined, logger: silentLogger });
  const load = (name: string) =>
    loadGuestModuleFile(join(REPO, "test/guests/build", `${name}.wasm`), {
      memoryMaxBytes: 16 * 1024 * 1024,
      cache,
      logger: silentLogger,
    });
  return { noop: await load("proc_noop"), idle: await load("proc_idle") };
}

function environment(module: GuestModule): GuestEnvironment {
  return {
    moduleId: module.moduleId,
    logger: silentLogger,
    env: {},
    args: [module.moduleId],
    clock: { nowMs: () => Date.now(), monotonicMs: () => performance.now() },
    randomFill: () => {},
    emitEvent: () => {},
    stdout: () => {},
    stderr: () => {},
    capabilities: [],
  };
}

function hostFor(modules: GuestModule[], idleInstancesMax: number): WasmProcessHost {
  return new WasmProcessHost({
    modules,
    environment,
    cpuMsPerRun: 5_000,
    logger: silentLogger,
    idleInstancesMax,
    processesMax: 100_000,
  });
}

// ---- spawn --------------------------------------------------------------------------------------

/** A parent JS process spawns `count` wasm processes in bursts of BURST; all run to their end. */
async function wasmSpawnRate(module: GuestModule, count: number, pooled: boolean): Promise<Rate> {
  const kernel = createKernel();
  const host = hostFor([module], pooled ? BURST : 0);
  let exited = 0;
  let allExited!: () => void;
  const done = new Promise<void>((resolve) => {
    allExited = resolve;
  });
  const spawnable = host.spawnable(module, {
    onExit: (exit) => {
      if (exit.reason !== "normal") throw new Error(`benchmark guest failed: ${String(exit.reason)}`);
      if (++exited === count) allExited();
    },
  });
  const rate = startRate(count);
  kernel.spawn(async (ctx: ProcessContext) => {
    for (let spawned = 0; spawned < count; ) {
      const end = Math.min(count, spawned + BURST);
      for (; spawned < end; spawned++) ctx.spawn(spawnable);
      await ctx.yield();
    }
  });
  await done;
  const result = rate();
  await kernel.idle();
  if (host.stats().liveProcesses !== 0) throw new Error("spawn benchmark: processes left alive");
  await kernel.shutdown();
  return result;
}

/** The floor of a pooled spawn: calling the guest's `run` on one ready instance through JSPI. */
async function bareCallReference(module: GuestModule, count: number): Promise<Rate> {
  const guest = GuestInstance.create(module, { env: environment(module), cpuMsPerRun: undefined });
  const run = WebAssembly.promising(guest.instance.exports.run as () => void);
  const rate = startRate(count);
  for (let started = 0; started < count; ) {
    const end = Math.min(count, started + BURST);
    const calls: Promise<unknown>[] = [];
    for (; started < end; started++) calls.push(run());
    await Promise.all(calls);
    await nextTurn();
  }
  return rate();
}

/** The floor of an unpooled spawn: instantiating the module (bare imports) and calling `run`. */
async function bareInstantiateReference(module: GuestModule, count: number): Promise<Rate> {
  const imports = { nx: { proc_self: () => 1 } };
  const rate = startRate(count);
  for (let started = 0; started < count; ) {
    const end = Math.min(count, started + BURST);
    const calls: Promise<unknown>[] = [];
    for (; started < end; started++) {
      const instance = new WebAssembly.Instance(module.module, imports);
      (instance.exports.__nx_fuel_table as WebAssembly.Table).set(0, refillFunction);
      calls.push(WebAssembly.promising(instance.exports.run as () => void)());
    }
    await Promise.all(calls);
    await nextTurn();
  }
  return rate();
}

/**
 * A wasm function that answers a refill with plenty of fuel (for the bare references only):
 * `(module (func (export "f") (param i32) (result i32) i32.const 1000000))`, the refill type
 * (it takes the instance id).
 */
const refillFunction = new WebAssembly.Instance(
  new WebAssembly.Module(
    Uint8Array.from([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 8, 1,
      6, 0, 65, 192, 132, 61, 11,
    ]),
  ),
).exports.f;

// ---- idle memory ------------------------------------------------------------------------------

export interface MemorySample {
  rss: number;
  /** JS heap in use (every space: the young and old generations, V8's trusted space of wasm instances). */
  heap: number;
  external: number;
  /** Resident bytes of the wasm memories' reservations (each one a mapping of several GiB). */
  linearResident: number;
  /** Physical size of the young generation: pinned (see measureIdleInChild), so about 0 per process. */
  youngGeneration: number;
}

/** Mappings at least this large are wasm memories (V8 reserves 8-10 GiB with guard regions). */
const WASM_MEMORY_RESERVATION_BYTES_MIN = 2 ** 30;

/** Resident bytes of the wasm memory reservations, from /proc/self/smaps (0 where there is none). */
function linearMemoryResidentBytes(): number {
  let smaps: string;
  try {
    smaps = readFileSync("/proc/self/smaps", "utf8");
  } catch {
    return 0;
  }
  let resident = 0;
  let inMemory = false;
  for (const line of smaps.split("\n")) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (mapping !== null) {
      inMemory =
        Number.parseInt(mapping[2]!, 16) - Number.parseInt(mapping[1]!, 16) >=
        WASM_MEMORY_RESERVATION_BYTES_MIN;
    } else if (inMemory && line.startsWith("Rss:")) {
      resident += Number(/(\d+) kB/.exec(line)![1]) * 1024;
    }
  }
  return resident;
}

/**
 * Memory after full collections, each in a turn of its own: what a WeakRef made or read in a
 * turn points to stays alive until the turn ends, and finalizers run in later turns. Three
 * collections in one turn left the reference's samples 2.4 KB per instance apart from run to run.
 *
 * Each is V8's "last resort" collection (`flavor: "last-resort"`, several full collections that
 * shrink the heap), not a plain `gc()`: after a plain one, the pages V8 has emptied stay
 * resident in its pool of free pages until a background task releases them, or not, before
 * the sample. That pool held 4-9 KB "per parked process" in some runs and none in others (the
 * processes' spawns leave much garbage, the bare instances little): RSS samples of the same
 * code were ~12 or ~16 KB from run to run. The pool holds no object of anyone; the last-resort
 * collection empties it before every sample, on both sides.
 */
const LAST_RESORT_GC = { type: "major", execution: "sync", flavor: "last-resort" } as const;

async function memoryAfterGc(): Promise<MemorySample> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error("run with --expose-gc (npm run bench does it for you)");
  for (let i = 0; i < 3; i++) {
    await nextTurn();
    gc(LAST_RESORT_GC);
  }
  const usage = process.memoryUsage();
  const young = getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
  return {
    rss: usage.rss,
    heap: usage.heapUsed,
    external: usage.external,
    linearResident: linearMemoryResidentBytes(),
    youngGeneration: young?.physical_space_size ?? 0,
  };
}

function perProcess(before: MemorySample, after: MemorySample, count: number): MemorySample {
  const per = (key: keyof MemorySample): number => Math.round((after[key] - before[key]) / count);
  return {
    rss: per("rss"),
    heap: per("heap"),
    external: per("external"),
    linearResident: per("linearResident"),
    youngGeneration: per("youngGeneration"),
  };
}

export interface IdleSample extends MemorySample {
  linear: number;
}

/**
 * Processes or instances parked and woken before each measurement, so that what the first of
 * them allocates once (code tiers, V8's stack pool, the kernel's tables) is not counted per
 * process. Without it the reference's samples were 0.5 or 3.0 KB of heap per instance from run
 * to run (a 3.6 MB large object of the module's compilation, freed or not during the run).
 */
const IDLE_WARM_UP = 200;
/**
 * Children per side, alternated; the median is reported. With plain collections about one run
 * in four found 4-5 MB freed between its two samples (2.4 KB per process less, on either side);
 * since the last-resort collections (memoryAfterGc) the children of one side spread by
 * 0.1-0.8 KB per process, most of it in malloc's mappings (`[heap]` and its arenas).
 */
const IDLE_RUNS = 5;

/** Parks `count` processes of `module` on a host of their own; the promise wakes them and waits for their end. */
async function parkProcesses(
  kernel: Kernel,
  module: GuestModule,
  count: number,
): Promise<{ pids: Pid[]; host: WasmProcessHost }> {
  const host = hostFor([module], count);
  const pids: Pid[] = [];
  for (let i = 0; i < count; i++) pids.push(kernel.spawn(host.spawnable(module)));
  await kernel.idle();
  return { pids, host };
}

async function wakeProcesses(kernel: Kernel, pids: readonly Pid[]): Promise<void> {
  for (const pid of pids) kernel.send(pid, guestMessage(0 as Pid, "wake"));
  await kernel.idle();
}

/** `count` wasm processes parked in proc_receive (fresh instances: nothing pooled beforehand). */
async function idleWasmBytes(module: GuestModule, count: number): Promise<IdleSample> {
  const kernel: Kernel = createKernel();
  const warmUp = await parkProcesses(kernel, module, IDLE_WARM_UP);
  await wakeProcesses(kernel, warmUp.pids);
  warmUp.host.clear();
  const before = await memoryAfterGc();
  const { pids } = await parkProcesses(kernel, module, count);
  const after = await memoryAfterGc();
  const waiting = kernel.processes().filter((p) => p.status === "waiting").length;
  if (waiting !== count) throw new Error(`idle benchmark: ${waiting} of ${count} parked`);
  const linear = kernel.processes()[0]!.memoryBytes;
  await wakeProcesses(kernel, pids);
  await kernel.shutdown();
  return { ...perProcess(before, after, count), linear };
}

/** `count` bare instances of `module`, each suspended in a JSPI import; `wake` ends them. */
function parkInstances(module: GuestModule, count: number): { wake: () => Promise<unknown>; linear: number } {
  const resolvers: ((value: number) => void)[] = [];
  const receive = new WebAssembly.Suspending(
    () =>
      new Promise<number>((resolve) => {
        resolvers.push(resolve);
      }),
  );
  const runs: Promise<unknown>[] = [];
  let linear = 0;
  for (let i = 0; i < count; i++) {
    const instance = new WebAssembly.Instance(module.module, { nx: { proc_receive: receive } });
    (instance.exports.__nx_fuel_table as WebAssembly.Table).set(0, refillFunction);
    linear = (instance.exports[MEMORY_EXPORT] as WebAssembly.Memory).buffer.byteLength;
    runs.push(WebAssembly.promising(instance.exports.run as () => void)());
  }
  const wake = () => {
    for (const resolve of resolvers) resolve(-1);
    return Promise.all(runs);
  };
  return { wake, linear };
}

/** The floor: bare instances of the same module each suspended in a JSPI import, no kernel. */
async function parkedInstanceReference(module: GuestModule, count: number): Promise<IdleSample> {
  await parkInstances(module, IDLE_WARM_UP).wake();
  const before = await memoryAfterGc();
  const { wake, linear } = parkInstances(module, count);
  await nextTurn();
  const after = await memoryAfterGc();
  await wake();
  return { ...perProcess(before, after, count), linear };
}

const IDLE_CHILD_FLAG = "--idle-child";

/**
 * The young generation's largest size in the idle children, in MB. Spawning 2,000 processes
 * allocates enough short-lived garbage that V8 grows the young generation to its maximum
 * (about 32 MB): 13-17 KB "per process" of RSS that is neither per process (it is the same at
 * any count past a few thousand, and collected garbage) nor in the reference (which allocates
 * almost nothing). Pinned in both children, the RSS per process is what the processes keep.
 */
const IDLE_CHILD_SEMI_SPACE_MB = 1;

/** What an idle-memory child measures: parked processes, or the bare suspended instances. */
export type IdleChildKind = "processes" | "bare";

/**
 * The Node arguments of one idle-memory child (the child entry at the end), shared with
 * test/bench/kernel-wasm-parked.test.ts so that it measures as the benchmark does.
 */
export function idleChildArguments(kind: IdleChildKind, count: number): string[] {
  return [
    "--expose-gc",
    `--max-semi-space-size=${IDLE_CHILD_SEMI_SPACE_MB}`,
    import.meta.filename,
    IDLE_CHILD_FLAG,
    kind,
    String(count),
  ];
}

/** Runs one idle-memory measurement in a fresh Node process (see the child entry at the end). */
function measureIdleInChild(kind: IdleChildKind, count: number): IdleSample {
  const child = spawnSync(process.execPath, idleChildArguments(kind, count), { encoding: "utf8" });
  if (child.status !== 0) throw new Error(`idle memory child failed:\n${child.stderr}`);
  return JSON.parse(child.stdout) as IdleSample;
}

// ---- report -----------------------------------------------------------------------------------

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 1000) / 1000;
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const sizes = options.quick ? QUICK : FULL;
  const loadBefore = loadavg()[0];
  const { noop } = await loadGuests();

  // Memory in fresh child processes: in this one, the allocator reuses what earlier runs freed.
  const idleSamples: IdleSample[] = [];
  const idleReferences: IdleSample[] = [];
  for (let i = 0; i < IDLE_RUNS; i++) {
    idleSamples.push(measureIdleInChild("processes", sizes.idleProcesses));
    idleReferences.push(measureIdleInChild("bare", sizes.idleProcesses));
  }
  const pick = (list: IdleSample[]): IdleSample => {
    const rss = median(list.map((s) => s.rss));
    return list.find((s) => s.rss === rss)!;
  };
  const idleMedian = pick(idleSamples);
  const idleReference = pick(idleReferences);
  const pooled = await sample(() => wasmSpawnRate(noop, sizes.spawns, true));
  const unpooled = await sample(() => wasmSpawnRate(noop, sizes.unpooledSpawns, false));
  const bareCall = await sample(() => bareCallReference(noop, sizes.spawns));
  const bareInstantiate = await sample(() => bareInstantiateReference(noop, sizes.unpooledSpawns));
  const jsSpawn = await sample(async () => {
    const kernel = createKernel();
    const count = sizes.spawns;
    const rate = startRate(count);
    await new Promise<void>((resolve) => {
      kernel.spawn(async (ctx) => {
        for (let spawned = 0; spawned < count; ) {
          const end = Math.min(count, spawned + BURST);
          for (; spawned < end; spawned++) ctx.spawn(async () => {});
          await ctx.yield();
        }
        resolve();
      });
    });
    await kernel.idle();
    return rate();
  });

  const best = (m: Sampled) => Math.max(m.value, m.cpu_value);

  return {
    benchmark: "kernel-wasm",
    quick: options.quick,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
    load_average_1m: { before: loadBefore, after: loadavg()[0] },
    method:
      "one warm-up run, then the median of 5 (rates) or 5 (memory, alternated with the reference, each in a fresh child, sampled after last-resort collections) runs. `value` is per wall-clock second; `cpu_value` per second of this process's CPU time. ratio_to_reference compares cpu_values.",
    sizes,
    results: {
      wasm_spawn_per_sec: {
        what: `spawn to exit of a wasm process running test/guests/proc_noop (run() calls proc_self and returns), pooled instances: a parent process spawns ${sizes.spawns} in bursts of ${BURST}, yielding between bursts`,
        value: pooled.value,
        cpu_value: pooled.cpu_value,
        samples: pooled.samples,
        target: TARGET_WASM_SPAWN_PER_SEC,
        meets_target: best(pooled) >= TARGET_WASM_SPAWN_PER_SEC,
        seed: SEED_WASM_SPAWN_PER_SEC,
        ratio_to_seed: ratio(pooled.value, SEED_WASM_SPAWN_PER_SEC),
        reference: {
          what: "calling the guest's run through WebAssembly.promising on one ready instance, same bursts, no kernel, no reset",
          value: bareCall.value,
          cpu_value: bareCall.cpu_value,
        },
        ratio_to_reference: ratio(pooled.cpu_value, bareCall.cpu_value),
        unpooled: {
          what: `the same with pooling off: every process instantiates the module (${sizes.unpooledSpawns} spawns)`,
          value: unpooled.value,
          cpu_value: unpooled.cpu_value,
          pooled_speedup: ratio(pooled.cpu_value, unpooled.cpu_value),
          reference: {
            what: "new WebAssembly.Instance with bare imports + run, no kernel",
            value: bareInstantiate.value,
            cpu_value: bareInstantiate.cpu_value,
          },
          ratio_to_reference: ratio(unpooled.cpu_value, bareInstantiate.cpu_value),
        },
        js_process_spawn_same_run: { value: jsSpawn.value, cpu_value: jsSpawn.cpu_value },
        bound_by:
          "per spawn: the kernel's process record and scheduling (see js_process_spawn_same_run), a JSPI stack switch for the guest call (the reference), the pooled instance's reset (comparing its 64 KiB memory to the image page by page, restoring changed pages and mutable globals), the port attach/detach and the exit bookkeeping, all on one thread; the seed uses Wasmtime's pooling allocator with copy-on-write memory images on several threads",
      },
      idle_wasm_process_bytes: {
        what: `RSS per wasm process parked in proc_receive (test/guests/proc_idle, fresh instances), ${sizes.idleProcesses} processes, measured in a fresh child with the young generation pinned to ${IDLE_CHILD_SEMI_SPACE_MB} MB, sampled after V8's last-resort collections, which release the pages it keeps emptied (both as the reference's)`,
        value: idleMedian.rss,
        samples: idleSamples.map((s) => s.rss),
        js_heap: idleMedian.heap,
        external: idleMedian.external,
        linear_memory_bytes: idleMedian.linear,
        linear_memory_resident: idleMedian.linearResident,
        young_generation: idleMedian.youngGeneration,
        seed: null,
        seed_note: "the seed gives no idle wasm process figure",
        reference: {
          what: "a bare instance of the same module suspended in a JSPI import, no kernel, no pool",
          value: idleReference.rss,
          samples: idleReferences.map((s) => s.rss),
          js_heap: idleReference.heap,
          external: idleReference.external,
          linear_memory_bytes: idleReference.linear,
          linear_memory_resident: idleReference.linearResident,
          young_generation: idleReference.youngGeneration,
        },
        ratio_to_reference: ratio(idleMedian.rss, idleReference.rss),
        bound_by:
          "as the reference: the suspended JSPI stack (4 KiB resident) and one wasm instance whose 64 KiB memory is reserved, no page of it resident; beyond it, on the JS heap: the kernel's process record, the guest, governor, port, backend, life and image objects, the instance's kept import closures and the parked receive's promises (docs/design/wasm-processes.md, \"What an instance is wired to\")",
      },
    },
  };
}

// Child entry of measureIdleInChild (and of test/bench/kernel-wasm-parked.test.ts):
// `node --expose-gc bench/kernel-wasm.ts --idle-child <processes|bare> <count>`.
if (import.meta.main && process.argv[2] === IDLE_CHILD_FLAG) {
  const { idle } = await loadGuests();
  const kind = process.argv[3];
  const count = Number(process.argv[4]);
  if ((kind !== "processes" && kind !== "bare") || !Number.isSafeInteger(count) || count <= 0) {
    throw new Error(
      `usage: ${IDLE_CHILD_FLAG} <processes|bare> <count>, got ${process.argv.slice(3).join(" ")}`,
    );
  }
  const sample =
    kind === "bare" ? await parkedInstanceReference(idle, count) : await idleWasmBytes(idle, count);
  process.stdout.write(JSON.stringify(sample));
}
