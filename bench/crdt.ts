/**
 * Replicated-state figures (issue 3), each beside a reference measured in the same run:
 *
 * - `gcounter_inc`: ReplicatedState.gcounterInc on the real LMDB backend, every op applied, logged
 *   and persisted with its cell (group commit), timed until the store has flushed; against raw
 *   KvBackend puts of as many small keys (what a guest `db_set` costs at the store) and the
 *   guest-level target of 300k ops/s.
 * - `rga_sequential`: 100k inserts, each after the previous element, then `values()`; against
 *   Yjs integrating the same inserts as remote updates (one per transaction, each naming the
 *   previous item as its origin, the same byte values), which finds the parent by its id as our
 *   RGA does. Not Y.Array `insert(i)` or `push`: those look the position up by index and walk the
 *   list from a search marker, quadratic for this workload (100k took 25 s), so not the same work.
 * - `rga_editing_trace`: the seph-blog1 editing trace (Joseph Gentle's editing-traces, CC BY 4.0)
 *   replayed into our RGA (position → id through `idAt`) and into a Yjs Y.Text; both checked
 *   against the trace's final text. The trace is looked for in `shared/data/editing-traces/` of
 *   the repository's parent directory or any directory above it (a worktree sits deeper than the
 *   main checkout), or at NX_EDITING_TRACE.
 * - `hydration`: state made by 1M ops of every family written through ReplicatedState to LMDB,
 *   then the time to open it again (rebuild every CRDT, the version vector, seen set and op-log).
 *
 * Run: `npm run bench -- crdt [--quick] [--report FILE]`
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import * as Y from "yjs";
import type { HlcTimestamp } from "../src/crdt/hybrid-clock.ts";
import { makeOp } from "../src/crdt/op.ts";
import { makeOpId, type OpId } from "../src/crdt/op-id.ts";
import { Rga } from "../src/crdt/rga.ts";
import type { NodeId } from "../src/identity/node-id.ts";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { openReplicatedState } from "../src/sync/replica/replicated-state.ts";
import type { BenchmarkOptions } from "./run.ts";
import { median, round } from "./sampling.ts";

const NODE = "0123456789abcdef0123456789abcdef" as NodeId;
const GUEST_TARGET_OPS_PER_SEC = 300_000;
const MIB = 1024 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const TRACE_RELATIVE_PATH = join("shared", "data", "editing-traces", "seph-blog1.json.gz");

/** NX_EDITING_TRACE, else the first `shared/data/...` found going up from the repository's parent. */
export function findEditingTrace(from: string = join(here, ".."), env = process.env): string | undefined {
  if (env.NX_EDITING_TRACE !== undefined) return env.NX_EDITING_TRACE;
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const candidate = join(dir, TRACE_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "nx-bench-crdt-"));
}

async function gcounterInc(ops: number) {
  const samples: number[] = [];
  const references: number[] = [];
  for (let sample = 0; sample < 3; sample++) {
    const dir = tempDir();
    try {
      const backend = await openLmdbBackend({ path: dir });
      const state = openReplicatedState({ backend, nodeId: NODE });
      const started = performance.now();
      for (let i = 0; i < ops; i++) state.gcounterInc("visits", 1n);
      await state.flushed();
      samples.push(ops / ((performance.now() - started) / 1000));
      if (state.gcounterValue("visits") !== BigInt(ops)) throw new Error("gcounter bench lost increments");
      await backend.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const refDir = tempDir();
    try {
      const backend = await openLmdbBackend({ path: refDir });
      const value = new Uint8Array(40);
      const started = performance.now();
      for (let i = 0; i < ops; i++) {
        const key = new Uint8Array(12);
        key[0] = 107;
        key[8] = i & 0xff;
        key[9] = (i >>> 8) & 0xff;
        key[10] = (i >>> 16) & 0xff;
        key[11] = i >>> 24;
        backend.put(key, value);
      }
      await backend.flushed();
      references.push(ops / ((performance.now() - started) / 1000));
      await backend.close();
    } finally {
      rmSync(refDir, { recursive: true, force: true });
    }
  }
  const opsPerSec = median(samples);
  const putsPerSec = median(references);
  return {
    ops,
    ops_per_sec: round(opsPerSec),
    ns_per_op: round(1e9 / opsPerSec),
    reference_kv_put_per_sec: round(putsPerSec),
    ratio_to_kv_put: round(opsPerSec / putsPerSec, 3),
    ratio_to_guest_target: round(opsPerSec / GUEST_TARGET_OPS_PER_SEC, 2),
  };
}

/** Our RGA: `count` ops built and applied, each inserting after the previous element, then values(). */
function rgaSequentialMs(count: number, values: readonly Uint8Array[]): number {
  const started = performance.now();
  const rga = new Rga();
  let parent: OpId | undefined;
  const base = 1_700_000_000_000 * 1024;
  for (let i = 0; i < count; i++) {
    const id = makeOpId(NODE, i + 1);
    rga.applyOp(
      makeOp(id, (base + i) as HlcTimestamp, "doc", { type: "rga_insert", parent, value: values[i] }),
    );
    parent = id;
  }
  const out = rga.values();
  const ms = performance.now() - started;
  if (out.length !== count) throw new Error("rga bench lost elements");
  return ms;
}

const YJS_CLIENT = 42;
const YJS_CONTENT_BINARY = 3;
const YJS_HAS_ORIGIN = 0x80;

function pushVarUint(out: number[], value: number): void {
  let n = value;
  while (n > 0x7f) {
    out.push(0x80 | (n & 0x7f));
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/**
 * A Yjs v1 update holding one binary item at clock `clock` of YJS_CLIENT: the first names the
 * root array "doc" as its parent, every later one the previous item as its left origin (what a
 * peer's append looks like on the wire).
 */
function yjsAppendUpdate(clock: number, value: Uint8Array): Uint8Array {
  const out: number[] = [];
  pushVarUint(out, 1); // clients
  pushVarUint(out, 1); // structs of this client
  pushVarUint(out, YJS_CLIENT);
  pushVarUint(out, clock);
  if (clock === 0) {
    out.push(YJS_CONTENT_BINARY);
    pushVarUint(out, 1); // parent is a root type, named next
    pushVarUint(out, 3);
    out.push(100, 111, 99); // "doc"
  } else {
    out.push(YJS_CONTENT_BINARY | YJS_HAS_ORIGIN);
    pushVarUint(out, YJS_CLIENT);
    pushVarUint(out, clock - 1);
  }
  pushVarUint(out, value.length);
  for (const byte of value) out.push(byte);
  pushVarUint(out, 0); // empty delete set
  return Uint8Array.from(out);
}

/** Yjs: `count` updates built and applied, each appending after the previous item, then toArray(). */
function yjsSequentialMs(count: number, values: readonly Uint8Array[]): number {
  const started = performance.now();
  const doc = new Y.Doc();
  const array = doc.getArray<Uint8Array>("doc");
  for (let i = 0; i < count; i++) Y.applyUpdate(doc, yjsAppendUpdate(i, values[i]));
  const out = array.toArray();
  const ms = performance.now() - started;
  const last = out[count - 1];
  if (out.length !== count || last[0] !== values[count - 1][0] || last[1] !== values[count - 1][1])
    throw new Error("yjs bench lost elements");
  doc.destroy();
  return ms;
}

export function rgaSequential(count: number) {
  const values = Array.from({ length: count }, (_, i) => new Uint8Array([i & 0xff, (i >>> 8) & 0xff]));
  const ours = median([0, 1, 2, 3, 4].map(() => rgaSequentialMs(count, values)));
  const yjs = median([0, 1, 2, 3, 4].map(() => yjsSequentialMs(count, values)));
  return {
    inserts: count,
    ours_ms: round(ours, 1),
    yjs_ms: round(yjs, 1),
    speedup_vs_yjs: round(yjs / ours, 2),
    note: "ours: Rga.applyOp of an insert after its parent id; Yjs: Y.applyUpdate of an item whose origin is the previous item",
  };
}

interface Trace {
  startContent: string;
  endContent: string;
  txns: { patches: [number, number, string][] }[];
}

export function editingTrace() {
  const tracePath = findEditingTrace();
  if (tracePath === undefined)
    return { skipped: `no ${TRACE_RELATIVE_PATH} above the repository; set NX_EDITING_TRACE to its path` };
  let trace: Trace;
  try {
    trace = JSON.parse(gunzipSync(readFileSync(tracePath)).toString("utf8")) as Trace;
  } catch (error) {
    return { skipped: `trace not readable at ${tracePath}: ${String(error)}` };
  }
  const patches = trace.txns.flatMap((t) => t.patches);
  const encoder = new TextEncoder();
  const charBytes = new Map<string, Uint8Array>();
  const bytesOf = (ch: string): Uint8Array => {
    let b = charBytes.get(ch);
    if (b === undefined) {
      b = encoder.encode(ch);
      charBytes.set(ch, b);
    }
    return b;
  };

  let started = performance.now();
  const rga = new Rga();
  let seq = 0;
  const base = 1_700_000_000_000 * 1024;
  const insertAt = (index: number, ch: string): void => {
    seq++;
    const parent = index === 0 ? undefined : rga.idAt(index - 1);
    rga.applyOp(
      makeOp(makeOpId(NODE, seq), (base + seq) as HlcTimestamp, "doc", {
        type: "rga_insert",
        parent,
        value: bytesOf(ch),
      }),
    );
  };
  for (const [i, ch] of [...trace.startContent].entries()) insertAt(i, ch);
  for (const [position, deleteCount, text] of patches) {
    for (let d = 0; d < deleteCount; d++) {
      seq++;
      rga.applyOp(
        makeOp(makeOpId(NODE, seq), (base + seq) as HlcTimestamp, "doc", {
          type: "rga_delete",
          target: rga.idAt(position)!,
        }),
      );
    }
    let at = position;
    for (const ch of text) insertAt(at++, ch);
  }
  const decoder = new TextDecoder();
  const ourText = rga
    .values()
    .map((v) => decoder.decode(v))
    .join("");
  const oursMs = performance.now() - started;

  started = performance.now();
  const doc = new Y.Doc();
  const ytext = doc.getText("doc");
  ytext.insert(0, trace.startContent);
  for (const [position, deleteCount, text] of patches) {
    if (deleteCount > 0) ytext.delete(position, deleteCount);
    if (text.length > 0) ytext.insert(position, text);
  }
  const yjsText = ytext.toString();
  const yjsMs = performance.now() - started;
  doc.destroy();
  return {
    patches: patches.length,
    ops: seq,
    final_chars: ourText.length,
    ours_correct: ourText === trace.endContent,
    yjs_correct: yjsText === trace.endContent,
    ours_ms: round(oursMs, 1),
    yjs_text_ms: round(yjsMs, 1),
    speedup_vs_yjs: round(yjsMs / oursMs, 2),
    note: "ours: one op per character, position -> id via Rga.idAt; Yjs: Y.Text insert/delete per patch",
    source: "editing-traces seph-blog1 by Joseph Gentle, CC BY 4.0",
  };
}

/** State from `ops` ops across all six families, then the time to hydrate it. */
export async function hydration(ops: number) {
  const dir = tempDir();
  try {
    const share = Math.floor(ops / 10);
    let backend = await openLmdbBackend({ path: dir });
    let state = openReplicatedState({ backend, nodeId: NODE, opLogLimit: 10_000 });
    const started = performance.now();
    let made = 0;
    const docs = 100;
    const parents: (Uint8Array | undefined)[] = new Array(docs).fill(undefined);
    for (let i = 0; i < 4 * share; i++) {
      const doc = i % docs;
      parents[doc] = state.rgaInsert(`doc:${doc}`, parents[doc], Uint8Array.of(97 + (i % 26)));
      if (i % 10 === 9) state.rgaDelete(`doc:${doc}`, parents[doc]!);
      made += i % 10 === 9 ? 2 : 1;
    }
    const element = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff);
    for (let i = 0; i < 2 * share; i++) {
      // every fourth op removes the element added just before it
      if (i % 4 === 3) state.orsetRemove("set", element(i - 1));
      else state.orsetAdd("set", element(i));
      made++;
    }
    for (let i = 0; i < 2 * share; i++) {
      state.lwwMapSet(`map:${i % 10}`, Uint8Array.of(i & 0xff, (i >>> 8) & 0xff), Uint8Array.of(i & 0xff));
      made++;
    }
    for (let i = made; i < ops; i++) {
      if (i % 3 === 0) state.lwwSet(`reg:${i % 1000}`, Uint8Array.of(i & 0xff));
      else if (i % 3 === 1) state.gcounterInc(`counter:${i % 1000}`, 1n);
      else state.pncounterDec(`pn:${i % 1000}`, 1n);
    }
    await state.flushed();
    const writeSeconds = (performance.now() - started) / 1000;
    const localOps = state.stats().localOps;
    await state.close();
    await backend.close();

    backend = await openLmdbBackend({ path: dir });
    let storedBytes = 0;
    let records = 0;
    for (const [key, value] of backend.range({ prefix: new TextEncoder().encode("__nx/") })) {
      storedBytes += key.length + value.length;
      records++;
    }
    const samples: number[] = [];
    for (let sample = 0; sample < 3; sample++) {
      const t = performance.now();
      state = openReplicatedState({ backend, nodeId: NODE, opLogLimit: 10_000 });
      samples.push((performance.now() - t) / 1000);
      if (state.versionVector().get(NODE) !== localOps) throw new Error("hydration lost ops");
    }
    await backend.close();
    const seconds = median(samples);
    return {
      ops: localOps,
      write_seconds: round(writeSeconds, 2),
      write_ops_per_sec: round(localOps / writeSeconds),
      records,
      stored_mib: round(storedBytes / MIB, 1),
      seconds: round(seconds, 2),
      mib_per_sec: round(storedBytes / MIB / seconds, 1),
      ops_per_sec: round(localOps / seconds),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runBenchmark(options: BenchmarkOptions) {
  const quick = options.quick;
  return {
    benchmark: "crdt",
    quick,
    machine: { cpus: availableParallelism(), loadavg_1m: round(loadavg()[0], 2), node: process.version },
    gcounter_inc: await gcounterInc(quick ? 100_000 : 1_000_000),
    rga_sequential: rgaSequential(quick ? 10_000 : 100_000),
    rga_editing_trace: quick ? { skipped: "quick run" } : editingTrace(),
    hydration: await hydration(quick ? 100_000 : 1_000_000),
  };
}
