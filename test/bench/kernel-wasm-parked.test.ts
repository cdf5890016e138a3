/**
 * What a wasm process parked in `proc_receive` keeps, against a bare instance of the same module
 * suspended in a JSPI import (issue 20: at most 2x). Two checks:
 *
 * - its wasm instances, counted in a heap snapshot: one, the guest's. A refill trampoline and a
 *   stop-trap wrapper instance of its own per process (each closing over its governor) were two
 *   more, about 1 KB each (docs/design/wasm-processes.md, "Parked processes"); and its promises
 *   and closures, the bulk of what it keeps on the JS heap;
 * - its bytes, measured as `npm run bench -- kernel-wasm` does (each side in fresh children,
 *   alternated, the young generation pinned, sampled after last-resort collections) with 3
 *   children a side instead of 5: at most 2x the bare instance, issue 20's figure (measured
 *   this way: 1.6-1.7x, children 0.1-0.8 KB per process apart). With plain collections the
 *   same code read ~12 or ~16 KB per process from child to child (up to 2.3x on a quiet
 *   machine). This check took the reference in the same child after the processes, at most
 *   3x; sampled after last-resort collections, a reference taken there reads ~14 KB per
 *   instance (twice a fresh child's, not investigated), so each side has children of its own.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { getHeapSnapshot } from "node:v8";
import { type IdleChildKind, type IdleSample, idleChildArguments } from "../../bench/kernel-wasm.ts";
import type { Pid } from "../../src/kernel/index.ts";
import type { GuestModule } from "../../src/wasm/load-guest-module.ts";
import { guestMessage } from "../../src/wasm/process/index.ts";
import { REPO_ROOT } from "../helpers/nx-process.ts";
import { loadTestGuest, type TestHost, testHost, waitFor } from "../processes/harness.ts";

const execFileAsync = promisify(execFile);

/** Processes parked for the instance count: enough that a stray instance or two do not matter. */
const PARKED = 200;
/** Processes (and bare instances) of the bytes check: the benchmark's count. */
const MEASURED = 2_000;
const RATIO_MAX = 2;
/** Children per side of the bytes check. */
const CHILDREN = 3;
/**
 * What a parked receive and its instance keep (heap snapshots of 200 against none): 10 promises
 * and 29 closures before the ABI's promise layer over the port's and the per-instance output
 * closures went (docs/design/wasm-processes.md, "Parked processes"), 9 and 25 after.
 */
const PROMISES_MAX = 9.5;
const CLOSURES_MAX = 26;
const CHILD_TIMEOUT_MS = 120_000;
const WASM_PAGE_BYTES = 65_536;

let idle: GuestModule;
let t: TestHost;

before(async () => {
  idle = await loadTestGuest("proc_idle");
  t = testHost([idle], { idleInstancesMax: PARKED });
});
after(() => t.kernel.shutdown({ timeoutMs: 5_000 }));

interface HeapCounts {
  /** V8's own record of every wasm instance (its trusted part). */
  wasmInstances: number;
  promises: number;
  closures: number;
}

/** Objects of a few kinds, counted in a heap snapshot. */
async function heapCounts(): Promise<HeapCounts> {
  const chunks: string[] = [];
  for await (const chunk of getHeapSnapshot()) chunks.push(String(chunk));
  const snapshot = JSON.parse(chunks.join("")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const typeField = fields.indexOf("type");
  const nameField = fields.indexOf("name");
  const closureType = snapshot.snapshot.meta.node_types[0].indexOf("closure");
  const instanceName = snapshot.strings.indexOf("system / WasmTrustedInstanceData");
  const promiseName = snapshot.strings.indexOf("Promise");
  const counts: HeapCounts = { wasmInstances: 0, promises: 0, closures: 0 };
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const name = snapshot.nodes[i + nameField];
    if (name === instanceName) counts.wasmInstances++;
    else if (name === promiseName) counts.promises++;
    else if (snapshot.nodes[i + typeField] === closureType) counts.closures++;
  }
  return counts;
}

test(`${PARKED} parked wasm processes hold one wasm instance, at most ${PROMISES_MAX} promises and ${CLOSURES_MAX} closures each`, {
  timeout: 120_000,
}, async () => {
  const beforeCounts = await heapCounts();
  const pids: Pid[] = [];
  for (let i = 0; i < PARKED; i++) pids.push(t.kernel.spawn(t.host.spawnable(idle)));
  await waitFor(
    () => t.kernel.processes().filter((p) => p.kind === "wasm" && p.status === "waiting").length === PARKED,
    30_000,
    "every guest parked",
  );
  const counts = await heapCounts();
  const added = counts.wasmInstances - beforeCounts.wasmInstances;
  assert.ok(added >= PARKED, `the snapshot names the instances (found ${added} new ones)`);
  assert.ok(added <= PARKED * 1.1, `${added} wasm instances for ${PARKED} parked processes`);
  const each = (key: keyof HeapCounts) => (counts[key] - beforeCounts[key]) / PARKED;
  assert.ok(each("promises") <= PROMISES_MAX, `${each("promises")} promises per parked process`);
  assert.ok(each("closures") <= CLOSURES_MAX, `${each("closures")} closures per parked process`);
  const exits = pids.map((pid) => t.kernel.whenExited(pid));
  for (const pid of pids) t.kernel.send(pid, guestMessage(0 as Pid, "wake"));
  assert.deepEqual(new Set(await Promise.all(exits)), new Set(["normal"]));
});

/** One idle-memory sample of `kind` in a fresh child, as the benchmark takes it. */
async function idleInChild(kind: IdleChildKind): Promise<IdleSample> {
  const { stdout } = await execFileAsync(process.execPath, idleChildArguments(kind, MEASURED), {
    cwd: REPO_ROOT,
    timeout: CHILD_TIMEOUT_MS,
  });
  return JSON.parse(stdout) as IdleSample;
}

const medianOf = (samples: IdleSample[]): IdleSample =>
  [...samples].sort((a, b) => a.rss - b.rss)[Math.floor(samples.length / 2)]!;

test(`a parked wasm process takes at most ${RATIO_MAX}x the bytes of a bare suspended instance`, {
  timeout: 2 * CHILDREN * CHILD_TIMEOUT_MS,
}, async () => {
  const parked: IdleSample[] = [];
  const bares: IdleSample[] = [];
  for (let i = 0; i < CHILDREN; i++) {
    parked.push(await idleInChild("processes"));
    bares.push(await idleInChild("bare"));
  }
  const processes = medianOf(parked);
  const bare = medianOf(bares);
  const figures = `parked ${parked.map((s) => s.rss)} B RSS (${processes.heap} B heap), bare ${bares.map((s) => s.rss)} B (${bare.heap} B)`;
  assert.ok(bare.rss > 0, `the reference measured something: ${figures}`);
  // The kernel's estimate of a process adds its record (a few hundred bytes) to the memory.
  const pages = (bytes: number) => Math.floor(bytes / WASM_PAGE_BYTES);
  assert.equal(pages(processes.linear), pages(bare.linear), "the same memory size on both sides");
  assert.ok(processes.rss <= RATIO_MAX * bare.rss, figures);
});
