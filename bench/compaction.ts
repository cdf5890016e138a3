/**
 * Disk and heap after many insert/delete cycles on a small live set, against the same live set
 * written fresh, in the same process and run:
 *
 *   npm run bench -- compaction [--quick] [--report FILE]
 *
 * One lone node (real LMDB on disk) runs 1 000 000 cycles (20 000 with --quick), spread over four
 * workloads, each keeping LIVE_PER_FAMILY elements live: OR-Set add + remove of the oldest,
 * LWW-Map set + remove of the oldest, RGA "backspace" (type at the end, erase it) and RGA
 * "queue" (append at the end, delete the first: its tombstones are not leaves, they collapse into
 * a ghost, docs/design/compaction.md). A compaction pass runs every PASS_EVERY_CYCLES cycles (the
 * node's `compaction_interval`). The reference is a second store holding only the final live
 * set, written directly.
 *
 * Figures: the datastore file, the replicated state's records (all, and the CRDT cells alone),
 * and the heap the replica holds (after gc), each as a multiple of the reference's. The op-log
 * and dedup records are bounded by their limits, not by the history: with default limits they
 * dominate a live set this small, so the CRDT-cell multiple is reported apart. `withoutCollection`
 * runs a tenth of the cycles with compaction off: what the same churn costs without it.
 * `rgaQueue` measures the queue alone (a tenth of the cycles) with collection (`after`) and
 * without (`before`: what builds before ghosts kept of a queue, since they collected none of it),
 * each against the same live queue written fresh: cells, heap and datastore file.
 */
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getHeapStatistics } from "node:v8";
import type { NodeId } from "../src/identity/node-id.ts";
import { type LmdbBackend, openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { CRDT_PREFIX, crdtObjectPrefix } from "../src/sync/replica/replica-layout.ts";
import {
  openReplicatedState,
  type ReplicatedState,
  type ReportedVector,
} from "../src/sync/replica/replicated-state.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";

const NODE = "0123456789abcdef0123456789abcdef" as NodeId;
const LIVE_PER_FAMILY = 100;
const PASS_EVERY_CYCLES = 10_000;
const VALUE_BYTES = 32;
const ALONE = { members: [], reports: new Map<NodeId, ReportedVector>() };

const name = (i: number): Uint8Array => new TextEncoder().encode(`element-${i}`);
const value = (i: number): Uint8Array => new Uint8Array(VALUE_BYTES).fill(i & 0xff);

interface Footprint {
  readonly fileBytes: number;
  readonly recordBytes: number;
  readonly cellBytes: number;
  /** CRDT cell bytes per workload. */
  readonly cellBytesOf: Partial<Record<Workload, number>>;
  readonly heapBytes: number;
}

const FAMILY_OF = { set: "orset", map: "lww_map", backspace: "rga", queue: "rga" } as const;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) globalThis.gc!();
  return getHeapStatistics().used_heap_size;
}

/** Bytes of every file under `path` (the datastore: LMDB's data and lock files). */
function directoryBytes(path: string): number {
  let bytes = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).size;
  return bytes;
}

function recordBytes(backend: LmdbBackend, prefix: Uint8Array): number {
  let bytes = 0;
  for (const [key, record] of backend.range({ prefix })) bytes += key.length + record.length;
  return bytes;
}

async function footprint(
  backend: LmdbBackend,
  path: string,
  workloads: readonly Workload[],
): Promise<Omit<Footprint, "heapBytes">> {
  await backend.flushed();
  return {
    fileBytes: directoryBytes(path),
    recordBytes: recordBytes(backend, new TextEncoder().encode("__nx/")),
    cellBytes: recordBytes(backend, CRDT_PREFIX),
    cellBytesOf: Object.fromEntries(
      workloads.map((w) => [w, recordBytes(backend, crdtObjectPrefix(FAMILY_OF[w], w))]),
    ),
  };
}

const WORKLOADS = ["set", "map", "backspace", "queue"] as const;
type Workload = (typeof WORKLOADS)[number];

/** Runs `cycles` insert/delete cycles; the RGA ids of the live elements are kept to delete them. */
async function churn(
  state: ReplicatedState,
  workloads: readonly Workload[],
  cycles: number,
  compact: boolean,
): Promise<void> {
  const queue: Uint8Array[] = [];
  const stack: Uint8Array[] = [];
  for (let i = 0; i < cycles; i++) {
    const n = Math.floor(i / workloads.length);
    switch (workloads[i % workloads.length]) {
      case "set":
        state.orsetAdd("set", name(n));
        if (n >= LIVE_PER_FAMILY) state.orsetRemove("set", name(n - LIVE_PER_FAMILY));
        break;
      case "map":
        state.lwwMapSet("map", name(n), value(n));
        if (n >= LIVE_PER_FAMILY) state.lwwMapRemove("map", name(n - LIVE_PER_FAMILY));
        break;
      case "backspace": {
        // Typed at the end, then erased: the live text stays LIVE_PER_FAMILY long.
        const typed = state.rgaInsert("backspace", stack.at(-1), value(n))!;
        if (stack.length < LIVE_PER_FAMILY) stack.push(typed);
        else state.rgaDelete("backspace", typed);
        break;
      }
      case "queue":
        queue.push(state.rgaInsert("queue", queue.at(-1), value(n))!);
        if (queue.length > LIVE_PER_FAMILY) state.rgaDelete("queue", queue.shift()!);
    }
    if (i % 1000 === 999) await state.flushed();
    if (compact && i % PASS_EVERY_CYCLES === PASS_EVERY_CYCLES - 1) state.compact(ALONE);
  }
  if (compact) {
    // Two passes: the first closes the epoch of the last cycles, the second collects it.
    state.compact(ALONE);
    state.compact(ALONE);
  }
  await state.flushed();
}

/** The same live set, written directly into a fresh store. */
async function writeLiveSet(
  state: ReplicatedState,
  workloads: readonly Workload[],
  cycles: number,
): Promise<void> {
  const perWorkload = Math.floor(cycles / workloads.length);
  let last: Uint8Array | undefined;
  for (const workload of workloads) {
    for (let n = Math.max(0, perWorkload - LIVE_PER_FAMILY); n < perWorkload; n++) {
      if (workload === "set") state.orsetAdd("set", name(n));
      else if (workload === "map") state.lwwMapSet("map", name(n), value(n));
      else last = state.rgaInsert(workload, last, value(n))!;
    }
    last = undefined;
  }
  await state.flushed();
}

async function measure(
  workloads: readonly Workload[],
  cycles: number,
  body: (state: ReplicatedState) => Promise<void>,
) {
  const path = await mkdtemp(join(tmpdir(), "nx-bench-compaction-"));
  const backend = await openLmdbBackend({ path });
  // The op-log at 10 000 ops, as docs/design/compaction.md's figures were measured: what it holds
  // is bounded by its limit, not by the churn this bench is about.
  const opLogLimit = 10_000;
  let state: ReplicatedState | undefined = openReplicatedState({ backend, nodeId: NODE, opLogLimit });
  const startedMs = performance.now();
  await body(state);
  const seconds = (performance.now() - startedMs) / 1000;
  const disk = await footprint(backend, path, workloads);
  const stats = state.stats();
  // What the replica holds: the heap with it open, less the heap once it is closed and dropped.
  const heapOpen = heapUsed();
  await state.close();
  state = undefined;
  const heapBytes = heapOpen - heapUsed();
  await backend.close();
  await rm(path, { recursive: true, force: true });
  return { ...disk, heapBytes, stats, seconds, cycles };
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

/** The multiples of `churned` over `live`: file, records, cells (all and per workload), heap. */
function multiples(churned: Footprint, live: Footprint) {
  return {
    file: ratio(churned.fileBytes, live.fileBytes),
    records: ratio(churned.recordBytes, live.recordBytes),
    crdtCells: ratio(churned.cellBytes, live.cellBytes),
    crdtCellsOf: Object.fromEntries(
      Object.entries(churned.cellBytesOf).map(([w, bytes]) => [
        w,
        ratio(bytes, live.cellBytesOf[w as Workload]!),
      ]),
    ),
    heap: ratio(churned.heapBytes, live.heapBytes),
  };
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const cycles = options.quick ? 20_000 : 1_000_000;
  const compacted = await measure(WORKLOADS, cycles, (state) => churn(state, WORKLOADS, cycles, true));
  const live = await measure(WORKLOADS, cycles, (state) => writeLiveSet(state, WORKLOADS, cycles));
  const without = await measure(WORKLOADS, cycles / 10, (state) =>
    churn(state, WORKLOADS, cycles / 10, false),
  );
  const queueCycles = cycles / 10;
  const queueLive = await measure(["queue"], queueCycles, (state) =>
    writeLiveSet(state, ["queue"], queueCycles),
  );
  const queueAfter = await measure(["queue"], queueCycles, (state) =>
    churn(state, ["queue"], queueCycles, true),
  );
  const queueBefore = await measure(["queue"], queueCycles, (state) =>
    churn(state, ["queue"], queueCycles, false),
  );
  return {
    benchmark: "compaction",
    quick: options.quick,
    cycles,
    livePerWorkload: LIVE_PER_FAMILY,
    passEveryCycles: PASS_EVERY_CYCLES,
    multiples: multiples(compacted, live),
    compacted,
    live,
    withoutCollection: { ...without, multiples: multiples(without, live) },
    rgaQueue: {
      cycles: queueCycles,
      after: { ...queueAfter, multiples: multiples(queueAfter, queueLive) },
      before: { ...queueBefore, multiples: multiples(queueBefore, queueLive) },
      live: queueLive,
    },
  };
}
