// Preloaded into every node by the gates' --loop-stats (node --import): measures the node's main
// thread during the load window only (NX_GATE_START_AT_MS to + NX_GATE_DURATION_MS, the guest's
// own settings) and writes one JSON file into NX_GATE_LOOP_STATS_DIR when the window ends:
//
// - the event-loop delay histogram (perf_hooks.monitorEventLoopDelay, 1 ms resolution);
// - every GC pause (PerformanceObserver 'gc'), by kind;
// - every stall: a gap of more than STALL_MS between two ticks of a 1 ms heartbeat, split by the
//   main thread's /proc schedstat into time it ran (synchronous work, GC included), time it
//   waited for a core (another process had it) and the rest (asleep: a blocking system call);
// - CPU of the whole process and of the main thread over the window.
//
// A process that exits before the window ends writes its file at the exit (`window_ms` says how
// long it measured).
//
// It reads nothing of the node: it works on any build, so main and a branch are compared alike.

import { openSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";

/** A heartbeat gap above this is a stall. */
const STALL_MS = 5;
const HEARTBEAT_MS = 1;

const directory = process.env.NX_GATE_LOOP_STATS_DIR;
const startAtMs = Number(process.env.NX_GATE_START_AT_MS ?? 0);
const durationMs = Number(process.env.NX_GATE_DURATION_MS ?? 0);

interface Schedstat {
  readonly runNs: number;
  readonly waitNs: number;
}

const schedFd = openSync(`/proc/self/task/${process.pid}/schedstat`, "r");
const schedBuffer = Buffer.alloc(128);

/** The main thread's time on a core and waiting in a run queue (ns), from /proc. */
function schedstat(): Schedstat {
  const length = readSync(schedFd, schedBuffer, 0, schedBuffer.length, 0);
  const [run, wait] = schedBuffer.toString("latin1", 0, length).split(" ");
  return { runNs: Number(run), waitNs: Number(wait) };
}

interface Stall {
  readonly atMs: number;
  readonly gapMs: number;
  readonly ranMs: number;
  readonly waitedMs: number;
  readonly gcMs: number;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function start(): void {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const gcs: { atMs: number; durationMs: number; kind: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      gcs.push({
        atMs: entry.startTime,
        durationMs: entry.duration,
        kind: (entry as { detail?: { kind?: number } }).detail?.kind ?? 0,
      });
  });
  observer.observe({ entryTypes: ["gc"] });
  loop.enable();
  const stalls: Stall[] = [];
  const cpuBefore = process.cpuUsage();
  const schedBefore = schedstat();
  let lastMs = performance.now();
  let lastSched = schedBefore;
  const heartbeat = setInterval(() => {
    const nowMs = performance.now();
    const sched = schedstat();
    if (nowMs - lastMs > STALL_MS) {
      const from = lastMs;
      stalls.push({
        atMs: from,
        gapMs: nowMs - from,
        ranMs: (sched.runNs - lastSched.runNs) / 1e6,
        waitedMs: (sched.waitNs - lastSched.waitNs) / 1e6,
        // GC entries are delivered later: filled in at the end.
        gcMs: 0,
      });
    }
    lastMs = nowMs;
    lastSched = sched;
  }, HEARTBEAT_MS).unref();
  const windowStartMs = performance.now();
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    loop.disable();
    observer.disconnect();
    const cpu = process.cpuUsage(cpuBefore);
    const sched = schedstat();
    const windowMs = performance.now() - windowStartMs;
    const overlap = (stall: Stall): number =>
      gcs.reduce((total, gc) => {
        const from = Math.max(stall.atMs, gc.atMs);
        const to = Math.min(stall.atMs + stall.gapMs, gc.atMs + gc.durationMs);
        return total + Math.max(0, to - from);
      }, 0);
    const stallsWithGc = stalls.map((stall) => ({ ...stall, gcMs: overlap(stall) }));
    const gcByKind: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
    for (const gc of gcs) {
      const kind = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" }[gc.kind] ?? String(gc.kind);
      const entry = gcByKind[kind] ?? { count: 0, totalMs: 0, maxMs: 0 };
      gcByKind[kind] = entry;
      entry.count++;
      entry.totalMs = round(entry.totalMs + gc.durationMs);
      entry.maxMs = round(Math.max(entry.maxMs, gc.durationMs));
    }
    const over = (ms: number): number => stalls.filter((stall) => stall.gapMs > ms).length;
    const sum = (of: (stall: Stall) => number): number => round(stallsWithGc.reduce((t, s) => t + of(s), 0));
    const report = {
      pid: process.pid,
      window_ms: round(windowMs),
      cpu_ms: { user: round(cpu.user / 1000), system: round(cpu.system / 1000) },
      main_thread_ms: {
        ran: round((sched.runNs - schedBefore.runNs) / 1e6),
        waited_for_core: round((sched.waitNs - schedBefore.waitNs) / 1e6),
      },
      loop_delay_ms: {
        p50: round(loop.percentile(50) / 1e6),
        p99: round(loop.percentile(99) / 1e6),
        p999: round(loop.percentile(99.9) / 1e6),
        max: round(loop.max / 1e6),
        mean: round(loop.mean / 1e6),
      },
      gc: gcByKind,
      stalls: {
        over_5ms: over(5),
        over_10ms: over(10),
        over_20ms: over(20),
        over_40ms: over(40),
        total_ms: sum((s) => s.gapMs),
        ran_ms: sum((s) => s.ranMs),
        waited_for_core_ms: sum((s) => s.waitedMs),
        gc_ms: sum((s) => s.gcMs),
        longest: [...stallsWithGc]
          .sort((a, b) => b.gapMs - a.gapMs)
          .slice(0, 10)
          .map((s) => ({
            at_ms: round(s.atMs - windowStartMs),
            gap_ms: round(s.gapMs),
            ran_ms: round(s.ranMs),
            waited_for_core_ms: round(s.waitedMs),
            gc_ms: round(s.gcMs),
          })),
      },
    };
    writeFileSync(join(directory!, `${process.pid}.json`), `${JSON.stringify(report)}\n`);
  };
  setTimeout(finish, durationMs).unref();
  // A node stopped before the window ended (a short or failed run) still reports what it saw.
  process.once("exit", finish);
}

// `node --import` preloads this into the node's worker threads too (the store's commit thread,
// loaded from a file): measuring there would report that thread's loop and GC under the same
// `<pid>.json`, and whichever thread wrote last won.
if (directory !== undefined && durationMs > 0 && isMainThread) {
  // The guest starts its load at startAtMs once its peers are connected: the window starts then.
  setTimeout(start, Math.max(0, startAtMs - Date.now())).unref();
}
