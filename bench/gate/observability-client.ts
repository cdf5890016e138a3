/**
 * What the runner asks a node over its observability endpoint (--observability-listen): a
 * GCounter's value from `/v1/crdt/gcounter/<key>` (JSON, the value as a decimal string), an
 * LWW-Map's field count, the
 * Prometheus text of `/metrics`. Every request is bounded by a timeout; a node that does not
 * answer gives undefined, not an exception.
 */

const REQUEST_TIMEOUT_MS = 2_000;
/** A map of a distinct-key run holds every field written: megabytes of JSON. */
const MAP_REQUEST_TIMEOUT_MS = 30_000;

export async function readGCounter(port: number, key: string): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/crdt/gcounter/${encodeURIComponent(key)}`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { value?: unknown };
    return typeof body.value === "string" && /^\d+$/.test(body.value) ? Number(body.value) : undefined;
  } catch {
    return undefined;
  }
}

export async function readMetricsText(port: number): Promise<string | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}

/** The parts of `/v1/node` the gates read: the node's id and its version vector (ops seen per origin). */
export interface NodeSyncView {
  readonly nodeId: string;
  readonly versionVector: Readonly<Record<string, number>>;
  /** The node's own counters of its replica and sync engine (ops sent, duplicates received, ...). */
  readonly stats: Readonly<Record<string, unknown>>;
}

export async function readNodeSyncView(port: number): Promise<NodeSyncView | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/node`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as {
      nodeId?: unknown;
      sync?: { versionVector?: unknown; replica?: unknown; engine?: unknown };
    };
    if (typeof body.nodeId !== "string" || typeof body.sync?.versionVector !== "object") return undefined;
    return {
      nodeId: body.nodeId,
      versionVector: body.sync.versionVector as Record<string, number>,
      stats: { replica: body.sync.replica ?? null, engine: body.sync.engine ?? null },
    };
  } catch {
    return undefined;
  }
}

/** How many fields an LWW-Map has on the node (`/v1/crdt/lww-map/<key>`; undefined: no answer). */
export async function readLwwMapSize(port: number, key: string): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/crdt/lww-map/${encodeURIComponent(key)}`, {
      signal: AbortSignal.timeout(MAP_REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { entries?: unknown };
    return typeof body.entries === "object" && body.entries !== null
      ? Object.keys(body.entries).length
      : undefined;
  } catch {
    return undefined;
  }
}
