import type { ConvergenceView } from "../node/convergence.ts";
import { CRDT_FAMILY_NAMES } from "../node/crdt-values.ts";
import type { PeerView, RuntimeIntrospection } from "../node/node-introspection.ts";
import { type OpFlowQuery, opFlowQueryOf } from "../node/op-ring.ts";
import { type Html, html } from "./html.ts";

/** Rows the op flow shows: the newest matching ops of the ring. */
export const DASHBOARD_OP_ROWS = 100;

/** Keys the CRDT explorer shows per page (each with its value, read when rendered). */
export const DASHBOARD_KEY_ROWS = 50;

/** One view of the dashboard: its path, its title, and the live part rendered from the introspection. */
export interface DashboardView {
  readonly name: string;
  readonly title: string;
  /** Controls above the live part (filters); rendered once per page load. */
  controls?(query: URLSearchParams): Html;
  /** The live part: the page shows it, and its event stream sends it again whenever it changes. */
  render(introspection: RuntimeIntrospection, query: URLSearchParams): Html;
}

const NO_SYNC = html`<p><mark>This node does not sync</mark> (start it with <code>--listen host:port</code>).</p>`;

const vectorTable = (vector: Readonly<Record<string, number>> | null): Html =>
  vector === null
    ? html`<span>none reported</span>`
    : html`<table class="vector"><tbody>${Object.entries(vector)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(
          ([origin, seq]) =>
            html`<tr><td><code>${origin}</code></td><td data-origin="${origin}">${seq}</td></tr>`,
        )}</tbody></table>`;

const orDash = (value: unknown): string => (value === null || value === undefined ? "–" : String(value));

/** This node and its direct links as a star: the node in the middle, its peers around it. */
function topology(self: string, peers: readonly PeerView[]): Html {
  const size = 320;
  const center = size / 2;
  const radius = 120;
  const placed = peers.map((peer, index) => {
    const angle = (2 * Math.PI * index) / Math.max(peers.length, 1) - Math.PI / 2;
    return { peer, x: center + radius * Math.cos(angle), y: center + radius * Math.sin(angle) };
  });
  const label = (text: string) => text.slice(0, 8);
  return html`<svg class="topology" viewBox="0 0 ${size} ${size}" width="${size}" height="${size}" role="img" aria-label="links of this node">
${placed.map(
  ({ peer, x, y }) =>
    html`<line x1="${center}" y1="${center}" x2="${x.toFixed(1)}" y2="${y.toFixed(1)}" class="link ${peer.state}"/>`,
)}
<circle cx="${center}" cy="${center}" r="22" class="node self"/><text x="${center}" y="${center + 40}" text-anchor="middle">${label(self)}</text>
${placed.map(
  ({ peer, x, y }) =>
    html`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="16" class="node ${peer.health}"/><text x="${x.toFixed(1)}" y="${(y + 32).toFixed(1)}" text-anchor="middle">${label(peer.nodeId ?? peer.address)}</text>`,
)}
</svg>`;
}

const cluster: DashboardView = {
  name: "cluster",
  title: "Cluster",
  render(introspection) {
    const node = introspection.node();
    const peers = introspection.peers();
    return html`<div class="grid">
<article><header>This node</header>
<dl id="node">
<dt>NodeId</dt><dd data-field="nodeId"><code>${orDash(node.nodeId)}</code></dd>
<dt>Version</dt><dd data-field="version">${node.version}</dd>
<dt>Uptime (ms)</dt><dd data-field="uptimeMs">${node.uptimeMs}</dd>
<dt>Sync listen</dt><dd data-field="sync">${orDash(node.listen.sync)}</dd>
<dt>Op-log entries</dt><dd data-field="opLogEntries">${orDash(node.opLogEntries)}</dd>
<dt>Store size (bytes)</dt><dd data-field="storeSizeBytes">${orDash(node.storeSizeBytes)}</dd>
</dl></article>
<article><header>Topology (this node's links)</header>${topology(node.nodeId ?? "this node", peers ?? [])}</article>
</div>
${
  peers === undefined
    ? NO_SYNC
    : html`<table id="peers"><thead><tr><th>Address</th><th>NodeId</th><th>State</th><th>Health</th><th>Direction</th><th>RTT (ms)</th><th>Since</th></tr></thead><tbody>
${peers.map(
  (peer) => html`<tr data-address="${peer.address}">
<td data-field="address">${peer.address}</td><td data-field="nodeId"><code>${orDash(peer.nodeId)}</code></td>
<td data-field="state" class="state ${peer.state}">${peer.state}</td><td data-field="health" class="health ${peer.health}">${peer.health}</td>
<td data-field="direction">${peer.direction}</td><td data-field="rttMs">${orDash(peer.rttMs)}</td><td data-field="since">${peer.since}</td></tr>`,
)}</tbody></table>`
}`;
  },
};

const crdt: DashboardView = {
  name: "crdt",
  title: "CRDT explorer",
  controls(query) {
    return html`<form method="get" action="/crdt" class="filters" role="search">
<input name="prefix" placeholder="key prefix" value="${query.get("prefix") ?? ""}" aria-label="key prefix">
<button type="submit">Filter</button></form>`;
  },
  render(introspection, query) {
    const prefix = query.get("prefix") ?? "";
    const page = introspection.keys({
      prefix,
      limit: DASHBOARD_KEY_ROWS,
      cursor: query.get("cursor") ?? undefined,
    });
    if (page === undefined) return NO_SYNC;
    const next = new URLSearchParams({ prefix, cursor: page.nextCursor ?? "" });
    return html`<table id="keys"><thead><tr><th>Key</th><th>Family</th><th>Value</th><th>Last change</th><th>Author</th></tr></thead><tbody>
${page.keys.map(({ key, family }) => {
  const view = introspection.key(key, family);
  return html`<tr><td data-field="key">${key}</td><td data-field="family">${family}</td>
<td data-field="value"><code>${view === undefined ? "–" : JSON.stringify(view.value)}</code></td>
<td data-field="lastChangeAt">${orDash(view?.lastChangeAt)}</td><td data-field="lastWriter"><code>${orDash(view?.lastWriter)}</code></td></tr>`;
})}</tbody></table>
${page.nextCursor === null ? "" : html`<p><a href="/crdt?${next.toString()}">Next ${DASHBOARD_KEY_ROWS} keys</a></p>`}
<p><small>Last change and author: the latest op this node applied to the key since it started (none for a key loaded from the store and not changed since).</small></p>`;
  },
};

const ops: DashboardView = {
  name: "ops",
  title: "Op flow",
  controls(query) {
    const value = (name: string) => query.get(name) ?? "";
    return html`<form method="get" action="/ops" class="filters" role="search">
<input name="key" placeholder="key prefix" value="${value("key")}" aria-label="key prefix">
<input name="peer" placeholder="peer NodeId (prefix)" value="${value("peer")}" aria-label="peer">
<select name="family" aria-label="family"><option value="">any family</option>${CRDT_FAMILY_NAMES.map(
      (family) => html`<option${value("family") === family ? html` selected` : ""}>${family}</option>`,
    )}</select>
<button type="submit">Filter</button></form>`;
  },
  render(introspection, query) {
    const parsed = opFlowQueryOf(query);
    if (typeof parsed === "string") return html`<p><mark>${parsed}</mark></p>`;
    const flow = introspection.recentOps({ ...parsed, limit: DASHBOARD_OP_ROWS } satisfies OpFlowQuery);
    if (flow === undefined) return NO_SYNC;
    return html`<p>Newest first; ${flow.ops.length} shown; ${flow.lastSeq} ops seen since the node started.</p>
<table id="ops"><thead><tr><th>#</th><th>At</th><th>Dir</th><th>Peer</th><th>Origin</th><th>Family</th><th>Key</th><th>Op</th></tr></thead><tbody>
${flow.ops.toReversed().map(
  (
    op,
  ) => html`<tr data-seq="${op.seq}"><td>${op.seq}</td><td>${op.at}</td><td data-field="direction">${op.direction}</td>
<td><code>${orDash(op.peer)}</code></td><td data-field="origin"><code>${op.origin}</code></td><td data-field="family">${op.family}</td>
<td data-field="key">${op.key}</td><td data-field="type">${op.type}</td></tr>`,
)}</tbody></table>`;
  },
};

function convergenceBody(view: ConvergenceView): Html {
  return html`${
    view.suspectedDivergence
      ? html`<p id="divergence"><mark>Suspected divergence</mark>: a peer's state differs from this node's and it has not reported for over ${view.suspectAfterMs} ms.</p>`
      : html`<p id="divergence">No divergence suspected.</p>`
  }
<div class="grid"><article><header>This node <code>${view.nodeId}</code></header>${vectorTable(view.versionVector)}</article></div>
<table id="convergence"><thead><tr><th>Peer</th><th>Address</th><th>State</th><th>Version vector (latest report)</th><th>Report age (ms)</th><th>Lacks (ops)</th><th>Ahead (ops)</th><th>Suspected</th></tr></thead><tbody>
${view.peers.map(
  (peer) => html`<tr data-node-id="${peer.nodeId}" class="${peer.suspectedDivergence ? "suspected" : ""}">
<td><code>${peer.nodeId}</code></td><td>${orDash(peer.address)}</td><td data-field="state">${orDash(peer.state)}</td>
<td>${vectorTable(peer.versionVector)}</td><td data-field="reportAgeMs">${orDash(peer.reportAgeMs)}</td>
<td data-field="missingOps">${orDash(peer.missingOps)}</td><td data-field="extraOps">${orDash(peer.extraOps)}</td>
<td data-field="suspectedDivergence">${peer.suspectedDivergence ? html`<mark>yes</mark>` : "no"}</td></tr>`,
)}</tbody></table>
<p><small>Peers report their version vector when they connect and every ${view.antiEntropyIntervalMs} ms (limits.anti_entropy_interval).</small></p>`;
}

const convergence: DashboardView = {
  name: "convergence",
  title: "Convergence",
  render(introspection) {
    const view = introspection.convergence();
    return view === undefined ? NO_SYNC : convergenceBody(view);
  },
};

/** Bars of ops per second over the window: in above the axis, out below. */
function perSecondChart(perSecond: readonly { opsIn: number; opsOut: number }[]): Html {
  const width = 600;
  const half = 60;
  const peak = Math.max(1, ...perSecond.map((second) => Math.max(second.opsIn, second.opsOut)));
  const bar = width / perSecond.length;
  return html`<svg class="chart" viewBox="0 0 ${width} ${half * 2}" width="100%" height="${half * 2}" role="img" aria-label="ops per second, the last minute">
${perSecond.map((second, index) => {
  const up = (second.opsIn / peak) * half;
  const down = (second.opsOut / peak) * half;
  return html`<rect class="in" x="${(index * bar).toFixed(1)}" y="${(half - up).toFixed(1)}" width="${(bar - 1).toFixed(1)}" height="${up.toFixed(1)}"/><rect class="out" x="${(index * bar).toFixed(1)}" y="${half}" width="${(bar - 1).toFixed(1)}" height="${down.toFixed(1)}"/>`;
})}
<line x1="0" y1="${half}" x2="${width}" y2="${half}" class="axis"/></svg>`;
}

const throughput: DashboardView = {
  name: "throughput",
  title: "Throughput",
  render(introspection) {
    const view = introspection.throughput();
    if (view === undefined) return NO_SYNC;
    const { propagationMs: latency } = view;
    const errors = Object.entries(view.errors);
    return html`<div class="grid">
<article><header>Ops per second (last ${view.rateSeconds} s)</header><dl>
<dt>In (from peers)</dt><dd data-field="opsInPerSecond">${view.opsInPerSecond}</dd>
<dt>Out (made here)</dt><dd data-field="opsOutPerSecond">${view.opsOutPerSecond}</dd></dl></article>
<article><header>Propagation latency, ms (last ${view.windowSeconds} s, ${latency.samples} ops)</header><dl>
<dt>p50</dt><dd data-field="p50">${orDash(latency.p50)}</dd><dt>p95</dt><dd data-field="p95">${orDash(latency.p95)}</dd>
<dt>p99</dt><dd data-field="p99">${orDash(latency.p99)}</dd><dt>max</dt><dd data-field="max">${orDash(latency.max)}</dd></dl></article>
<article><header>Errors (last ${view.windowSeconds} s)</header>${
      errors.length === 0
        ? html`<p data-field="errors">none</p>`
        : html`<dl data-field="errors">${errors.map(([kind, count]) => html`<dt>${kind}</dt><dd>${count}</dd>`)}</dl>`
    }</article></div>
<figure>${perSecondChart(view.perSecond)}<figcaption>Ops per second over the last ${view.windowSeconds} s: in above the line, out below.</figcaption></figure>`;
  },
};

const modules: DashboardView = {
  name: "modules",
  title: "Modules",
  render(introspection) {
    const { quotas } = introspection.node();
    const processes = introspection.processes();
    return html`<table id="modules"><thead><tr><th>Module</th><th>State</th><th>Reactive</th><th>Queued</th><th>Processes</th><th>CPU (ms)</th><th>Memory (bytes)</th><th>Host calls</th><th>Reloads</th><th>Code</th></tr></thead><tbody>
${introspection.modules().map(
  (
    module,
  ) => html`<tr data-module="${module.id}"><td data-field="id">${module.id}</td><td data-field="state">${module.state}</td>
<td>${module.reactive ? "yes" : "no"}</td><td data-field="queuedEvents">${module.queuedEvents}</td><td data-field="processes">${module.processes}</td>
<td data-field="cpuMs">${module.cpuMs}</td><td data-field="memoryBytes">${module.memoryBytes}</td><td data-field="hostCalls">${module.hostCalls}</td>
<td data-field="reloads">${module.reloads}</td><td><code title="${module.hash}">${module.hash.slice(0, 12)}</code></td></tr>`,
)}</tbody></table>
<article><header>Quotas</header><dl id="quotas">
<dt>CPU per run (ms)</dt><dd data-field="cpuMsPerRun">${quotas.cpuMsPerRun ?? "none"}</dd>
<dt>Memory per guest (MiB)</dt><dd data-field="memoryMaxMb">${quotas.memoryMaxMb}</dd>
<dt>Guest CPU since start (ms)</dt><dd data-field="guestCpuMs">${quotas.guestCpuMs}</dd>
<dt>Guest memory now (bytes)</dt><dd data-field="guestMemoryBytes">${quotas.guestMemoryBytes}</dd></dl></article>
<h3>Processes</h3>
<table id="processes"><thead><tr><th>Pid</th><th>Name</th><th>Label</th><th>Module</th><th>Status</th><th>Mailbox</th><th>Reductions</th><th>Memory (bytes)</th><th>Links</th><th>Monitors</th></tr></thead><tbody>
${processes.map(
  (
    process,
  ) => html`<tr data-pid="${process.pid}"><td data-field="pid">${process.pid}</td><td>${orDash(process.name)}</td><td>${process.label}</td>
<td data-field="module">${orDash(process.module)}</td><td data-field="status">${process.status}</td><td data-field="mailboxLength">${process.mailboxLength}</td>
<td>${process.reductions}</td><td>${process.memoryBytes}</td><td>${process.links.join(" ")}</td><td>${process.monitors.join(" ")}</td></tr>`,
)}</tbody></table>`;
  },
};

/** The views in the order the navigation lists them. */
export const DASHBOARD_VIEWS: readonly DashboardView[] = [
  cluster,
  crdt,
  ops,
  convergence,
  throughput,
  modules,
];

/** A whole page: the navigation, the view's controls and its live part, which its event stream refreshes. */
export function dashboardPage(view: DashboardView, body: Html, query: URLSearchParams): Html {
  const search = query.toString();
  const stream = `/events/${view.name}${search === "" ? "" : `?${search}`}`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>
<title>${view.title} · Numax dashboard</title>
<link rel="stylesheet" href="/assets/pico.classless.min.css"><link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/htmx.min.js"></script><script src="/assets/sse.min.js"></script></head>
<body><header><nav><ul><li><strong>Numax</strong></li></ul><ul>${DASHBOARD_VIEWS.map(
    (other) =>
      html`<li><a href="/${other.name}"${other === view ? html` aria-current="page"` : ""}>${other.title}</a></li>`,
  )}<li><form method="post" action="/logout"><button type="submit" class="secondary">Log out</button></form></li></ul></nav></header>
<main><h2>${view.title}</h2>${view.controls?.(query) ?? ""}
<section id="live" hx-ext="sse" sse-connect="${stream}" sse-swap="view">${body}</section></main></body></html>`;
}

/** The login form; `problem`: why the last attempt failed. */
export function loginPage(problem: string | undefined): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Numax dashboard</title><link rel="stylesheet" href="/assets/pico.classless.min.css"></head>
<body><main><h2>Numax dashboard</h2>
<form method="post" action="/login"><label>Management token (admin or read-only)
<input type="password" name="token" autocomplete="current-password" required autofocus></label>
${problem === undefined ? "" : html`<p role="alert"><mark>${problem}</mark></p>`}
<button type="submit">Log in</button></form>
<p><small>The tokens are in the node's datastore: <code>management.token</code> and <code>management-read.token</code>. The dashboard only reads.</small></p>
</main></body></html>`;
}

/** The dashboard's own few rules on top of Pico (served as /assets/dashboard.css: the pages carry no inline style). */
export const DASHBOARD_CSS = `
.topology .link { stroke: #888; stroke-width: 2; }
.topology .link.connected { stroke: #2a9d4b; }
.topology .link.backoff { stroke: #c0392b; stroke-dasharray: 4 4; }
.topology .link.connecting, .topology .link.configured { stroke: #d4a017; stroke-dasharray: 2 4; }
.topology .node { fill: #2a9d4b; }
.topology .node.self { fill: #1d70b8; }
.topology .node.suspect { fill: #d4a017; }
.topology .node.dead { fill: #c0392b; }
.topology text { font-size: 12px; fill: currentColor; }
.chart .in { fill: #1d70b8; } .chart .out { fill: #2a9d4b; } .chart .axis { stroke: #888; }
tr.suspected td { background: rgba(192, 57, 43, 0.15); }
table.vector { margin: 0; } table.vector td { padding: 0 0.5rem; font-size: 0.8em; }
form.filters { display: flex; gap: 0.5rem; } form.filters > * { margin: 0; }
td code { font-size: 0.75em; }
`;
