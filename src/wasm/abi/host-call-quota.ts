import { ERR_BUFFER_TOO_SMALL } from "./abi-codes.ts";

/** Quotas a host function or the process host checks (docs/design/policies.md#quotas), by their policy names. */
export type QuotaName =
  | "cpu_ms_per_run"
  | "memory_max_mb"
  | "ops_per_sec"
  | "bytes_written_per_sec"
  | "requests_per_sec"
  | "connections_max"
  | "processes_max"
  | "mailbox_max";

/** The host functions `ops_per_sec` meters: every `crdt_*` call that makes an op. */
export const CRDT_OP_CALLS: ReadonlySet<string> = new Set([
  "crdt_gcounter_inc",
  "crdt_pncounter_inc",
  "crdt_pncounter_dec",
  "crdt_lww_set",
  "crdt_lww_map_set",
  "crdt_lww_map_remove",
  "crdt_orset_add",
  "crdt_orset_remove",
  "crdt_rga_insert",
  "crdt_rga_delete",
]);

/**
 * Whether a metered call's answer means it did something (and so used its quota's units): a
 * success, or -2, which a metered call answers only after its work is done (`crdt_rga_insert`:
 * the element exists, only its id did not fit `out_id_cap`). Every other error code did nothing.
 */
export function meteredCallActed(result: number): boolean {
  return result >= 0 || result === ERR_BUFFER_TOO_SMALL;
}

/** The quota a guest failure of this kind is the hit of (a run stopped at its CPU budget or memory cap), if any. */
export function hardQuotaOf(failureKind: string): QuotaName | undefined {
  if (failureKind === "cpu_budget") return "cpu_ms_per_run";
  if (failureKind === "memory_cap") return "memory_max_mb";
  return undefined;
}

/**
 * What a module has used, counted by its host calls (for `numax_module_*` and `/v1/modules`):
 * plain fields, so a count costs one increment.
 */
export class GuestUsage {
  /** CRDT ops made ({@link CRDT_OP_CALLS} that acted, {@link meteredCallActed}). */
  ops = 0;
  /** Store bytes written: key and value of each `db_set`, key of each `db_delete` that succeeded. */
  bytesWritten = 0;
  /** Times a quota throttled, refused or stopped the module, by quota. */
  readonly quotaHits = new Map<QuotaName, number>();

  countHit(quota: QuotaName): void {
    this.quotaHits.set(quota, (this.quotaHits.get(quota) ?? 0) + 1);
  }
}

/**
 * How a rate quota meters one host function, from each call's arguments. A call that answers an
 * error code that says it did nothing (bad arguments, a denied or reserved key; see
 * {@link meteredCallActed}) gets its units back, so only calls that did something use the quota.
 */
export interface RateAdmission {
  /** The ms the call must wait before it runs (0: at once), or undefined when it is refused (-9). */
  take(args: readonly unknown[]): number | undefined;
  /** Gives back what {@link take} took, for a call that did nothing ({@link meteredCallActed}). */
  refund(args: readonly unknown[]): void;
}

/**
 * One module's quotas as its guests and processes meet them (src/policy/quota-gate.ts builds
 * it). Absent from a guest's environment: no quota of its own, nothing is metered.
 *
 * @example
 * const admission = quota.admission("crdt_gcounter_inc");
 * const waitMs = admission?.take(args); // 0: at once; > 0: wait first; undefined: answer ERR_RATE_LIMITED
 * if (!meteredCallActed(result)) admission?.refund(args); // it did nothing: the units come back
 */
export interface HostCallQuota {
  /** For a host function a rate quota meters, how; undefined for a function no quota meters. */
  admission(name: string): RateAdmission | undefined;
  /** `cpu_ms_per_run`: the module's own CPU budget of a run; undefined: the node's. */
  readonly cpuMsPerRun: number | undefined;
  /** `processes_max`: its live processes at most; undefined: only the node's bound. */
  readonly processesMax: number | undefined;
  /** `mailbox_max`: the mailbox bound of each of its processes; undefined: the kernel's. */
  readonly mailboxMax: number | undefined;
  /**
   * An HTTP request (or WebSocket) to one of its handlers, under `requests_per_sec` and
   * `connections_max`: how to say it ended when admitted, or undefined when refused (serving
   * answers 429; the hit is counted and logged). Never waits: a client can retry.
   */
  admitRequest(): (() => void) | undefined;
  /** A hard quota stopped the module (a refused spawn, a CPU budget, the memory cap): counted and logged. */
  hit(quota: QuotaName, detail: string): void;
}
