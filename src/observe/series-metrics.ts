/**
 * Counters and histograms for hot paths: each series (one set of label values) is resolved once
 * into a handle whose `inc` / `observe` is plain arithmetic. prom-client hashes the label object
 * on every call, even through `labels()`; for a reactive module that reports every event, that
 * was about 45% of a dispatch (npm run bench -- events). These metrics register in the node's
 * prom-client registry as custom metrics (prom-client renders any object with
 * `getForPromString`), so `/metrics` is the same exposition format.
 */

type Labels = Record<string, string>;

interface Rendered {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "histogram";
  readonly aggregator: "sum";
  readonly values: { metricName?: string; labels: Labels; value: number }[];
}

function seriesKey(labels: Labels, labelNames: readonly string[]): string {
  return labelNames.map((name) => labels[name] ?? "").join("\u0000");
}

/** A labeled counter with resolved series. */
export class SeriesCounter<L extends Labels> {
  readonly name: string;
  readonly help: string;
  readonly type = "counter";
  readonly aggregator = "sum";
  readonly #labelNames: readonly (keyof L & string)[];
  readonly #series = new Map<string, { labels: L; value: number }>();

  constructor(name: string, help: string, labelNames: readonly (keyof L & string)[]) {
    this.name = name;
    this.help = help;
    this.#labelNames = labelNames;
  }

  series(labels: L): { inc(by?: number): void } {
    const key = seriesKey(labels, this.#labelNames);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels: { ...labels }, value: 0 };
      this.#series.set(key, series);
    }
    const counted = series;
    return {
      inc: (by = 1) => {
        counted.value += by;
      },
    };
  }

  inc(labels: L, by = 1): void {
    this.series(labels).inc(by);
  }

  async get(): Promise<Rendered> {
    return this.getForPromString();
  }

  async getForPromString(): Promise<Rendered> {
    const values = [...this.#series.values()].map(({ labels, value }) => ({ labels, value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#series.clear();
  }
}

interface HistogramSeries<L> {
  readonly labels: L;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A labeled histogram with resolved series. */
export class SeriesHistogram<L extends Labels> {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #labelNames: readonly (keyof L & string)[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HistogramSeries<L>>();

  constructor(
    name: string,
    help: string,
    labelNames: readonly (keyof L & string)[],
    buckets: readonly number[],
  ) {
    this.name = name;
    this.help = help;
    this.#labelNames = labelNames;
    this.#bounds = [...buckets].sort((a, b) => a - b);
  }

  series(labels: L): { observe(value: number): void } {
    const key = seriesKey(labels, this.#labelNames);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = {
        labels: { ...labels },
        counts: new Array(this.#bounds.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.#series.set(key, series);
    }
    const observed = series;
    const bounds = this.#bounds;
    return {
      observe: (value) => {
        let bucket = 0;
        while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
        observed.counts[bucket]!++;
        observed.sum += value;
        observed.count++;
      },
    };
  }

  observe(labels: L, value: number): void {
    this.series(labels).observe(value);
  }

  async get(): Promise<Rendered> {
    return this.getForPromString();
  }

  async getForPromString(): Promise<Rendered> {
    const values: Rendered["values"] = [];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0;
      counts.forEach((inBucket, i) => {
        cumulative += inBucket;
        const le = i < this.#bounds.length ? String(this.#bounds[i]) : "+Inf";
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#series.clear();
  }
}
