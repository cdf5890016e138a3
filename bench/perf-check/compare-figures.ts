import type { PerfFigure } from "./perf-figures.ts";

/**
 * The verdict of `npm run perf:check`: each figure's median over the runs against its committed
 * baseline. A figure regressed when it moved in its worse direction by more than its threshold
 * (in % of the baseline); a figure without a baseline, or without a value in the runs, fails too
 * (the gate must not pass by measuring nothing). Pure: figures in, verdict and table out.
 */

export interface BaselineFigure {
  readonly value: number;
  /** Largest move in the worse direction still accepted, in % of `value` (from measured noise). */
  readonly max_regression_pct: number;
}

export interface PerfBaseline {
  readonly version: 1;
  readonly runs: number;
  readonly figures: Readonly<Record<string, BaselineFigure>>;
}

export interface FigureRow {
  readonly name: string;
  readonly median: number | undefined;
  readonly samples: readonly number[];
  readonly baseline: number | undefined;
  /** Signed move in the worse direction, in % of the baseline (negative: better). */
  readonly regressionPct: number | undefined;
  readonly thresholdPct: number | undefined;
  readonly ok: boolean;
}

export interface PerfVerdict {
  readonly ok: boolean;
  readonly rows: readonly FigureRow[];
  readonly table: string;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function compareFigures(
  figures: readonly PerfFigure[],
  samples: ReadonlyMap<string, readonly number[]>,
  baseline: PerfBaseline,
): PerfVerdict {
  const rows = figures.map((figure): FigureRow => {
    const values = samples.get(figure.name) ?? [];
    const value = median(values);
    const base = baseline.figures[figure.name];
    if (value === undefined || base === undefined) {
      return {
        name: figure.name,
        median: value,
        samples: values,
        baseline: base?.value,
        regressionPct: undefined,
        thresholdPct: base?.max_regression_pct,
        ok: false,
      };
    }
    const change = ((value - base.value) / base.value) * 100;
    const regressionPct = figure.better === "higher" ? -change : change;
    return {
      name: figure.name,
      median: value,
      samples: values,
      baseline: base.value,
      regressionPct,
      thresholdPct: base.max_regression_pct,
      ok: regressionPct <= base.max_regression_pct,
    };
  });
  return { ok: rows.every((row) => row.ok), rows, table: formatTable(figures, rows) };
}

function formatTable(figures: readonly PerfFigure[], rows: readonly FigureRow[]): string {
  const number = (value: number | undefined): string => (value === undefined ? "-" : String(round(value)));
  const header = ["figure", "better", "median", "runs", "baseline", "worse by", "allowed", "verdict"];
  const lines = rows.map((row, i) => [
    row.name,
    figures[i]!.better,
    number(row.median),
    row.samples.map(round).join(" ") || "-",
    number(row.baseline),
    row.regressionPct === undefined ? "-" : `${row.regressionPct.toFixed(1)} %`,
    row.thresholdPct === undefined ? "-" : `${row.thresholdPct} %`,
    row.ok
      ? "ok"
      : row.median === undefined
        ? "NO VALUE"
        : row.baseline === undefined
          ? "NO BASELINE"
          : "REGRESSED",
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]!.length)),
  );
  const format = (cells: readonly string[]): string =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  return [format(header), format(widths.map((width) => "-".repeat(width))), ...lines.map(format)].join("\n");
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
