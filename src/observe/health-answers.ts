/**
 * Named readiness checks, each true when passing. The node reports the ones that apply:
 * `storeOpen`, `hydrated`, and `syncListening` only when sync is on.
 */
export type ReadinessChecks = Readonly<Record<string, boolean>>;

/** An HTTP answer as data: the status and the JSON body. */
export interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** `/health`: the process runs. The observability endpoint and the management API answer the same. */
export function healthAnswer(): JsonAnswer {
  return { status: 200, body: { status: "ok" } };
}

/** `/ready`: 200 when every check passes, else 503 naming the failed ones. */
export function readinessAnswer(checks: ReadinessChecks): JsonAnswer {
  const failed = Object.keys(checks).filter((name) => !checks[name]);
  return failed.length === 0
    ? { status: 200, body: { status: "ready", checks } }
    : { status: 503, body: { status: "not_ready", failed, checks } };
}
