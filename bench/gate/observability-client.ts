/**
 * What the runner asks a node over its observability endpoint (--observability-listen): a
 * GCounter's value from `/v1/crdt/gcounter/<key>` (JSON, the value as a decimal string) and the
 * Prometheus text of `/metrics`. Every request is bounded by a timeout; a node that does not
 * answer gives undefined, not an exception.
 */

const REQUEST_TIMEOUT_MS = 2_000;

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
