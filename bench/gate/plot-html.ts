import type { GateEvent, GateReport } from "./gate-report.ts";

/**
 * The plot of a gate run: one self-contained HTML page (inline SVG and CSS, no script, nothing
 * fetched) with throughput, latency and resources over time, the run's events as vertical
 * markers, and the checks and targets. Pure: report in, page out.
 */

interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

interface Chart {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly Series[];
  readonly log?: boolean;
}

const WIDTH = 960;
const HEIGHT = 240;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 34 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

const EVENT_COLORS: Record<string, string> = {
  kill: "#c0392b",
  restart: "#27ae60",
  cut: "#8e44ad",
  heal: "#16a085",
  load_end: "#7f8c8d",
  converged: "#2980b9",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw);
  return step ?? 10 * power;
}

function formatNumber(value: number): string {
  if (value === 0) return "0";
  if (Math.abs(value) >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (Math.abs(value) >= 1e3) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
}

function renderChart(chart: Chart, xMax: number, events: readonly GateEvent[]): string {
  const values = chart.series.flatMap((series) => series.points.map(([, y]) => y));
  const x = (t: number): number => MARGIN.left + (xMax <= 0 ? 0 : (t / xMax) * PLOT_W);
  let y: (value: number) => number;
  let yTicks: number[];
  if (chart.log) {
    const positive = values.filter((value) => value > 0);
    const low = 10 ** Math.floor(Math.log10(Math.min(...positive, 1)));
    const high = 10 ** Math.ceil(Math.log10(Math.max(...positive, low * 10)));
    y = (value) =>
      MARGIN.top +
      PLOT_H -
      ((Math.log10(Math.max(value, low)) - Math.log10(low)) / Math.log10(high / low)) * PLOT_H;
    yTicks = [];
    for (let tick = low; tick <= high * 1.0001; tick *= 10) yTicks.push(tick);
  } else {
    const top = Math.max(...values, 1);
    const step = niceStep(top, 5);
    const high = Math.ceil(top / step) * step;
    y = (value) => MARGIN.top + PLOT_H - (value / high) * PLOT_H;
    yTicks = [];
    for (let tick = 0; tick <= high + step / 2; tick += step) yTicks.push(tick);
  }
  const xStep = niceStep(Math.max(xMax, 1), 10);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img">`,
    `<text x="${MARGIN.left}" y="16" class="title">${escapeHtml(chart.title)} (${escapeHtml(chart.unit)}${chart.log ? ", log scale" : ""})</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_W}" height="${PLOT_H}" class="frame"/>`,
  ];
  for (const tick of yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" class="grid"/>`,
      `<text x="${MARGIN.left - 6}" y="${(y(tick) + 4).toFixed(1)}" class="tick" text-anchor="end">${formatNumber(tick)}</text>`,
    );
  }
  for (let tick = 0; tick <= xMax + 1e-9; tick += xStep) {
    parts.push(
      `<text x="${x(tick).toFixed(1)}" y="${MARGIN.top + PLOT_H + 16}" class="tick" text-anchor="middle">${formatNumber(tick)}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 4}" class="tick" text-anchor="middle">seconds from the start of the load</text>`,
  );
  for (const event of events) {
    if (event.t_secs < 0 || event.t_secs > xMax) continue;
    const color = EVENT_COLORS[event.kind] ?? "#999";
    parts.push(
      `<line x1="${x(event.t_secs).toFixed(1)}" x2="${x(event.t_secs).toFixed(1)}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_H}" stroke="${color}" class="event"><title>${escapeHtml(`${event.t_secs} s ${event.kind}${event.node ? ` ${event.node}` : ""}${event.detail ? `: ${event.detail}` : ""}`)}</title></line>`,
    );
  }
  chart.series.forEach((series, index) => {
    if (series.points.length > 0) {
      const path = series.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      parts.push(
        `<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="1.8"${series.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
      );
    }
    const legendX = MARGIN.left + 150 * index;
    parts.push(
      `<rect x="${legendX}" y="27" width="12" height="3" fill="${series.color}"/>`,
      `<text x="${legendX + 16}" y="32" class="legend">${escapeHtml(series.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

function table(rows: readonly (readonly string[])[], header: readonly string[]): string {
  const head = `<tr>${header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join("")}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`);
  return `<table>${head}${body.join("")}</table>`;
}

export function renderPlotHtml(report: GateReport): string {
  const timeline = report.timeline;
  const xMax = Math.max(timeline.at(-1)?.t_secs ?? 0, ...report.events.map((event) => event.t_secs), 1);
  const at = <K extends keyof (typeof timeline)[number]>(key: K) =>
    timeline.map((point) => [point.t_secs, point[key] as number] as const);
  const targetTotal = report.target_ops_sec * report.nodes;
  const charts: Chart[] = [
    {
      title: "Throughput, all nodes",
      unit: "ops/s",
      series: [
        { name: "completed ops/s", color: "#2c7fb8", points: at("ops_sec") },
        {
          name: "target",
          color: "#999999",
          dashed: true,
          points: [
            [0, targetTotal],
            [report.load_secs, targetTotal],
          ],
        },
      ],
    },
    {
      title: "Latency from the scheduled time (worst node per bin)",
      unit: "ms",
      log: true,
      series: [
        { name: "p50", color: "#41ab5d", points: at("p50_ms") },
        { name: "p99", color: "#fd8d3c", points: at("p99_ms") },
        { name: "max", color: "#e31a1c", points: at("max_ms") },
      ],
    },
    {
      title: "CPU, all nodes (100 = one core)",
      unit: "%",
      series: [{ name: "cpu", color: "#756bb1", points: at("cpu_pct") }],
    },
    {
      title: "Resident memory, all nodes",
      unit: "MiB",
      series: [{ name: "rss", color: "#636363", points: at("rss_mb") }],
    },
  ];
  const latency = report.latency_ms;
  const figures = table(
    [
      ["operations", `${report.ops_total} in ${report.load_secs} s`],
      [
        "throughput",
        `${report.ops_sec_avg} ops/s (${report.ops_sec_avg_per_node} per node; target ${report.target_ops_sec} per node, ${report.rate_mode})`,
      ],
      [
        "latency (ms)",
        `p50 ${latency.p50} · p95 ${latency.p95} · p99 ${latency.p99} · p99.9 ${latency.p999} · max ${latency.max}`,
      ],
      ["errors", String(report.errors_total)],
      ["counters", `expected ${report.expected_counter}; observed ${report.observed_counters.join(", ")}`],
      ["converged", report.converged ? `yes, ${report.convergence_wait_secs} s after the load` : "no"],
      ["restarts", String(report.restarts_total)],
      [
        "reference",
        `${report.reference.name}: ${report.reference.ops_sec} ops/s (throughput / reference ${report.ratios.throughput_vs_reference})`,
      ],
      ...report.node_resources.map((node) => [
        `node ${node.node}`,
        `peak RSS ${node.peak_rss_mb} MiB, CPU ${node.cpu_secs} s`,
      ]),
    ],
    ["", ""],
  );
  const checks = table(
    report.checks.map((check) => [check.ok ? "pass" : "FAIL", check.name, check.detail]),
    ["", "check", "detail"],
  );
  const targets = table(
    report.targets.map((target) => [
      target.met ? "met" : "not met",
      target.name,
      target.required,
      target.measured,
    ]),
    ["", "target", "required", "measured"],
  );
  const events = table(
    report.events.map((event) => [String(event.t_secs), event.kind, event.node ?? "", event.detail ?? ""]),
    ["t (s)", "event", "node", "detail"],
  );
  const title = `gate ${report.scenario}${report.smoke ? " (smoke)" : ""}: ${report.passed ? "PASSED" : "FAILED"}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.passed { color: #1a7f37; } .failed { color: #c0392b; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
svg { display: block; margin: 10px 0; } .frame { fill: none; stroke: #bbb; } .grid { stroke: #eee; }
.tick, .legend { font-size: 11px; fill: #555; } .title { font-size: 13px; font-weight: 600; fill: #222; }
.event { stroke-width: 1.5; stroke-dasharray: 3 3; }
</style></head><body>
<h1 class="${report.passed ? "passed" : "failed"}">${escapeHtml(title)}</h1>
<p>${escapeHtml(`${report.started_at} · commit ${report.git_commit.slice(0, 12)}${report.git_dirty ? " (dirty)" : ""} · Node ${report.node_version} · ${report.environment.cpus} CPUs · ${report.nodes} node(s) · ${report.duration_secs} s load`)}</p>
${charts.map((chart) => renderChart(chart, xMax, report.events)).join("\n")}
<p>Vertical dashed lines are events (hover for details): ${Object.entries(EVENT_COLORS)
    .map(([kind, color]) => `<span style="color:${color}">${kind}</span>`)
    .join(" · ")}.</p>
<h2>Figures</h2>${figures}
<h2>Checks</h2>${checks}
<h2>Targets</h2>${targets}
<h2>Events</h2>${events}
</body></html>
`;
}
