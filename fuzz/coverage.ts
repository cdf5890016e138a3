import { Session } from "node:inspector";

/** V8's block coverage of one function (the Profiler domain's FunctionCoverage). */
interface FunctionCoverage {
  readonly functionName: string;
  readonly ranges: readonly {
    readonly startOffset: number;
    readonly endOffset: number;
    readonly count: number;
  }[];
}

interface ScriptCoverage {
  readonly url: string;
  readonly functions: readonly FunctionCoverage[];
}

/** libFuzzer's hit-count buckets: a loop running once more is not new, running 8 times instead of 2 is. */
function bucket(count: number): number {
  if (count <= 3) return count;
  if (count <= 7) return 4;
  if (count <= 15) return 5;
  if (count <= 31) return 6;
  if (count <= 127) return 7;
  return 8;
}

/**
 * How often the block `blockKey` (`…:start-end`) ran in `fn`'s coverage: the count of the smallest
 * reported range holding it (V8 leaves out a block that ran as often as the one around it).
 */
function countOf(blockKey: string, fn: FunctionCoverage): number {
  const [start, end] = blockKey
    .slice(blockKey.lastIndexOf(":") + 1)
    .split("-")
    .map(Number) as [number, number];
  let count = 0;
  let size = Number.POSITIVE_INFINITY;
  for (const range of fn.ranges) {
    if (range.startOffset <= start && range.endOffset >= end && range.endOffset - range.startOffset < size) {
      size = range.endOffset - range.startOffset;
      count = range.count;
    }
  }
  return count;
}

/**
 * What the fuzzer learns from V8's precise block coverage, restricted to the scripts under
 * `root` (the repository's src/): the features one input reached (block, hit-count bucket), and
 * over the run the blocks seen and the blocks executed.
 *
 * V8 reports a block only where its count differs from the block around it, so a block that ran
 * exactly as often as its parent is absent: a known block's count is the count of the smallest
 * reported range holding it.
 */
export class CoverageMap {
  readonly #root: string;
  readonly #ignored: ReadonlySet<string>;
  readonly #features = new Set<string>();
  /** Every block ever reported, by function. */
  readonly #blocks = new Map<string, Set<string>>();
  readonly #executed = new Set<string>();
  readonly #functionsRun = new Set<string>();

  /** `ignored`: files under `root` that the fuzzer itself runs (its seeded random), by path below `root`. */
  constructor(root: string, ignored: readonly string[] = []) {
    this.#root = root;
    this.#ignored = new Set(ignored);
  }

  /** Takes one input's coverage; returns how many features it reached that no input had. */
  add(scripts: readonly ScriptCoverage[]): number {
    let fresh = 0;
    for (const { functionKey, fn } of this.#functionsRunIn(scripts)) {
      this.#functionsRun.add(functionKey);
      let blocks = this.#blocks.get(functionKey);
      if (blocks === undefined) {
        blocks = new Set();
        this.#blocks.set(functionKey, blocks);
      }
      for (const range of fn.ranges) {
        const blockKey = `${functionKey}:${range.startOffset}-${range.endOffset}`;
        blocks.add(blockKey);
        const feature = `${blockKey}:${bucket(range.count)}`;
        if (this.#features.has(feature)) continue;
        this.#features.add(feature);
        fresh++;
      }
      for (const blockKey of blocks) {
        if (!this.#executed.has(blockKey) && countOf(blockKey, fn) > 0) this.#executed.add(blockKey);
      }
    }
    return fresh;
  }

  /**
   * Whether `scripts` (the summed coverage of a batch of inputs) ran a function or a block no
   * input ran, without taking it in: the fuzzer then runs the batch's inputs one by one. Counts
   * summed over a batch say nothing of one input's, and V8 merges neighbouring ranges of equal
   * count differently, so hit-count buckets and new range shapes are left to those single runs.
   */
  hasNew(scripts: readonly ScriptCoverage[]): boolean {
    for (const { functionKey, fn } of this.#functionsRunIn(scripts)) {
      const blocks = this.#blocks.get(functionKey);
      if (blocks === undefined) return true;
      for (const blockKey of blocks) {
        if (!this.#executed.has(blockKey) && countOf(blockKey, fn) > 0) return true;
      }
    }
    return false;
  }

  *#functionsRunIn(
    scripts: readonly ScriptCoverage[],
  ): Generator<{ functionKey: string; fn: FunctionCoverage }> {
    for (const script of scripts) {
      if (!script.url.startsWith(this.#root)) continue;
      const file = script.url.slice(this.#root.length);
      if (this.#ignored.has(file)) continue;
      for (const fn of script.functions) {
        const [whole] = fn.ranges;
        if (whole !== undefined && whole.count > 0) yield { functionKey: `${file}:${whole.startOffset}`, fn };
      }
    }
  }

  get featureCount(): number {
    return this.#features.size;
  }

  /** Blocks executed by some input, of the blocks V8 reported in the functions that ran. */
  get blocks(): { readonly executed: number; readonly seen: number; readonly functions: number } {
    let seen = 0;
    for (const blocks of this.#blocks.values()) seen += blocks.size;
    return { executed: this.#executed.size, seen, functions: this.#functionsRun.size };
  }
}

/**
 * V8's precise block coverage of this isolate, through the inspector (the same data as
 * `NODE_V8_COVERAGE`, taken after every input). Taking it resets the counts, so each take is
 * one input's.
 */
export class CoverageProbe {
  readonly #session = new Session();

  constructor() {
    this.#session.connect();
    this.#post("Profiler.enable");
    this.#post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
  }

  #post(method: string, params: object = {}): unknown {
    let result: unknown;
    let failure: Error | null = null;
    // The in-thread session answers synchronously.
    this.#session.post(method, params, (error, value) => {
      failure = error;
      result = value;
    });
    if (failure !== null) throw failure;
    return result;
  }

  /** The coverage since the last take. */
  take(): ScriptCoverage[] {
    return (this.#post("Profiler.takePreciseCoverage") as { result: ScriptCoverage[] }).result;
  }

  close(): void {
    this.#session.disconnect();
  }
}
