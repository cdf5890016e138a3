import { type ProcStats, readProcStats } from "./proc-stats.ts";

/**
 * Samples the nodes' memory and CPU from /proc while a gate runs. A node may have several
 * incarnations (chaos restarts it): its CPU seconds add up over them and its peak RSS is the
 * highest of any. CPU time between a process's last sample and its end is not seen (at most
 * one interval's worth), so callers sample a process right before they stop it.
 */

export interface ResourceSample {
  /** performance.now() of the runner. */
  readonly atMs: number;
  readonly node: string;
  readonly rssBytes: number;
  /** CPU seconds of this node so far, over all its incarnations. */
  readonly cpuSecs: number;
}

export interface NodeResources {
  readonly node: string;
  readonly peak_rss_mb: number;
  readonly cpu_secs: number;
  readonly incarnations: number;
  /** The node's processes, first to last. */
  readonly pids: readonly number[];
}

interface Tracked {
  peakRssBytes: number;
  /** CPU seconds of the incarnations that ended. */
  cpuSecsEnded: number;
  pids: number[];
  current: { pid: number; cpuSecs: number } | undefined;
}

export type ReadStats = (pid: number) => Promise<ProcStats | undefined>;

export class ResourceSampler {
  readonly samples: ResourceSample[] = [];
  readonly #nodes = new Map<string, Tracked>();
  readonly #intervalMs: number;
  readonly #read: ReadStats;
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> = Promise.resolve();

  constructor(intervalMs = 250, read: ReadStats = readProcStats) {
    this.#intervalMs = intervalMs;
    this.#read = read;
  }

  /** Follows a new process (a new node, or a restarted incarnation of `node`). */
  track(node: string, pid: number): void {
    const tracked = this.#nodes.get(node) ?? {
      peakRssBytes: 0,
      cpuSecsEnded: 0,
      pids: [],
      current: undefined,
    };
    if (tracked.current !== undefined) tracked.cpuSecsEnded += tracked.current.cpuSecs;
    tracked.current = { pid, cpuSecs: 0 };
    tracked.pids.push(pid);
    this.#nodes.set(node, tracked);
  }

  start(): void {
    // unref: a sampler left running by a failed gate must not keep the runner alive.
    this.#timer ??= setInterval(() => {
      this.#sampling = this.#sampling.then(() => this.sampleAll());
    }, this.#intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sampling;
    await this.sampleAll();
  }

  async sampleAll(): Promise<void> {
    await Promise.all([...this.#nodes.keys()].map((node) => this.sample(node)));
  }

  async sample(node: string): Promise<void> {
    const tracked = this.#nodes.get(node);
    const current = tracked?.current;
    if (tracked === undefined || current === undefined) return;
    const stats = await this.#read(current.pid);
    if (stats === undefined || tracked.current !== current) return;
    current.cpuSecs = stats.cpuSecs;
    tracked.peakRssBytes = Math.max(tracked.peakRssBytes, stats.peakRssBytes, stats.rssBytes);
    this.samples.push({
      atMs: performance.now(),
      node,
      rssBytes: stats.rssBytes,
      cpuSecs: tracked.cpuSecsEnded + stats.cpuSecs,
    });
  }

  summary(): NodeResources[] {
    return [...this.#nodes.entries()].map(([node, tracked]) => ({
      node,
      peak_rss_mb: Math.round((tracked.peakRssBytes / 1024 / 1024) * 10) / 10,
      cpu_secs: Math.round((tracked.cpuSecsEnded + (tracked.current?.cpuSecs ?? 0)) * 100) / 100,
      incarnations: tracked.pids.length,
      pids: tracked.pids,
    }));
  }
}
