import type { KeysPage } from "../node/key-page.ts";
import type { KeyView, ModuleView, NodeView, PeerView, ProcessView } from "../node/node-introspection.ts";
import { renderColumns } from "../text/text-columns.ts";

export type { KeysPage, KeyView, ModuleView, NodeView, PeerView, ProcessView };

/**
 * The client commands' text for people, from the management API's JSON (docs/api/openapi.yaml).
 * Pure: each takes what the API answered and returns the lines `nx` prints; `--json` prints the
 * answer itself instead.
 */

export function renderStatus(
  node: NodeView,
  modules: readonly ModuleView[],
  peers: readonly PeerView[],
): string {
  const connected = peers.filter((peer) => peer.state === "connected").length;
  const rows: string[][] = [
    ["node", node.nodeId ?? "(no sync: no NodeId)"],
    ["version", node.version],
    ["uptime", formatDuration(node.uptimeMs)],
    ["datastore", node.datastorePath],
    ["store", node.storeSizeBytes === null ? "-" : formatBytes(node.storeSizeBytes)],
    ["op log", node.opLogEntries === null ? "-" : `${node.opLogEntries} entries`],
    ["memory", `${formatBytes(node.memory.rssBytes)} rss, ${formatBytes(node.memory.heapUsedBytes)} heap`],
    ["cpu", `${formatDuration(node.cpu.userMs)} user, ${formatDuration(node.cpu.systemMs)} system`],
    ["sync", node.listen.sync ?? "off"],
    ["serving", node.listen.serve.length === 0 ? "off" : node.listen.serve.join(", ")],
    ["peers", `${connected} connected of ${peers.length}`],
    [
      "modules",
      modules.length === 0 ? "none" : modules.map((module) => `${module.id} (${module.state})`).join(", "),
    ],
  ];
  return renderColumns(rows);
}

/** Observer-style: one process a line, busiest (most reductions) first. */
export function renderProcesses(processes: readonly ProcessView[]): string {
  if (processes.length === 0) return "(no processes)\n";
  const sorted = [...processes].sort((a, b) => b.reductions - a.reductions);
  return renderColumns([
    ["PID", "NAME", "MODULE", "STATUS", "MAILBOX", "REDUCTIONS", "MEMORY", "LINKS"],
    ...sorted.map((process) => [
      process.pid,
      process.name ?? process.label,
      process.module ?? "-",
      process.status,
      String(process.mailboxLength),
      String(process.reductions),
      formatBytes(process.memoryBytes),
      String(process.links.length),
    ]),
  ]);
}

export function renderPeers(peers: readonly PeerView[]): string {
  if (peers.length === 0) return "(no peers)\n";
  return renderColumns([
    ["ADDRESS", "NODE", "STATE", "DIRECTION", "RTT", "SINCE"],
    ...peers.map((peer) => [
      peer.address,
      peer.nodeId === null ? "-" : shortNodeId(peer.nodeId),
      peer.state,
      peer.direction,
      peer.rttMs === null ? "-" : `${peer.rttMs.toFixed(1)} ms`,
      peer.since ?? "-",
    ]),
  ]);
}

export function renderKeys(list: KeysPage): string {
  if (list.keys.length === 0) return "(no keys)\n";
  const table = renderColumns([["KEY", "FAMILY"], ...list.keys.map(({ key, family }) => [key, family])]);
  return list.nextCursor === null ? table : `${table}(more: --cursor ${list.nextCursor}, or --all)\n`;
}

export function renderKey(view: KeyView): string {
  return renderColumns([
    ["key", view.key],
    ["family", view.family],
    ["value", JSON.stringify(view.value)],
    ["last writer", view.lastWriter ?? "-"],
    ["last change", view.lastChangeAt ?? "-"],
  ]);
}

/** The first 12 hex digits, as `nx` prints NodeIds in tables. */
function shortNodeId(nodeId: string): string {
  return nodeId.length > 12 ? `${nodeId.slice(0, 12)}…` : nodeId;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h${String(minutes % 60).padStart(2, "0")}m`;
}
