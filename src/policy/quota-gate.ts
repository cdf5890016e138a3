import type { Logger } from "../observe/logger.ts";
import {
  CRDT_OP_CALLS,
  type GuestUsage,
  type HostCallQuota,
  type QuotaName,
  type RateAdmission,
} from "../wasm/abi/host-call-quota.ts";
import type { ModuleQuotas } from "./module-quotas.ts";
import { TokenBucket } from "./token-bucket.ts";

/**
 * Longest a rate quota makes one host call wait, in ms; a call that would wait longer answers
 * ERR_RATE_LIMITED (-9) and does nothing. Long enough that a guest writing steadily at its quota
 * never sees -9, short enough that a guest is never parked unseen for long.
 */
export const QUOTA_WAIT_MS_MAX = 2_000;
/** Quota lines one module writes at most per quota and window; the hits beyond are counted. */
export const QUOTA_LOG_WINDOW_MS = 10_000;

/**
 * The quota lines of one module: one warning per quota per {@link QUOTA_LOG_WINDOW_MS} (a
 * flooding guest hits its quota thousands of times a second); the next line says how many hits
 * were not logged. Every hit is counted in `usage`.
 */
class QuotaLog {
  readonly #lastLineMs = new Map<QuotaName, number>();
  readonly #unlogged = new Map<QuotaName, number>();

  readonly #moduleId: string;
  readonly #usage: GuestUsage;
  readonly #logger: Logger;
  readonly #nowMs: () => number;

  constructor(moduleId: string, usage: GuestUsage, logger: Logger, nowMs: () => number) {
    this.#moduleId = moduleId;
    this.#usage = usage;
    this.#logger = logger;
    this.#nowMs = nowMs;
  }

  hit(quota: QuotaName, detail: string): void {
    this.#usage.countHit(quota);
    const now = this.#nowMs();
    const last = this.#lastLineMs.get(quota);
    if (last !== undefined && now - last < QUOTA_LOG_WINDOW_MS) {
      this.#unlogged.set(quota, (this.#unlogged.get(quota) ?? 0) + 1);
      return;
    }
    this.#lastLineMs.set(quota, now);
    const unlogged = this.#unlogged.get(quota) ?? 0;
    this.#unlogged.delete(quota);
    const suffix = unlogged === 0 ? "" : ` (${unlogged} more hits of this quota not logged)`;
    this.#logger.warn(`module ${this.#moduleId} reached its quota ${quota}: ${detail}${suffix}`, {
      module: this.#moduleId,
      quota,
      ...(unlogged === 0 ? {} : { unlogged }),
    });
  }
}

/**
 * Module `moduleId`'s quotas as its host calls and processes meet them
 * (docs/design/policies.md#quotas): `ops_per_sec` and `bytes_written_per_sec` as token buckets
 * whose calls wait (up to {@link QUOTA_WAIT_MS_MAX}, else -9); the hard quotas are read by the
 * process host, which reports their hits here. Every hit is counted in `usage` and logged
 * (rate-limited). `nowMs` is the node's monotonic clock.
 */
export function createQuotaGate(
  moduleId: string,
  quotas: ModuleQuotas,
  usage: GuestUsage,
  logger: Logger,
  nowMs: () => number,
): HostCallQuota {
  const log = new QuotaLog(moduleId, usage, logger, nowMs);
  /**
   * A bucket of `ratePerSec` units, and how it meters a host function whose calls are
   * `unitsOf(args)` units each: how long each waits (each hit logged), and the refund of one that
   * did nothing. The functions metered by one quota share its bucket.
   */
  const bucketOf = (quota: QuotaName, ratePerSec: number, unit: string) => {
    const bucket = new TokenBucket(ratePerSec, nowMs());
    return (unitsOf: (args: readonly unknown[]) => number): RateAdmission => ({
      take(args) {
        const units = unitsOf(args);
        const waitMs = bucket.take(units, nowMs(), QUOTA_WAIT_MS_MAX);
        if (waitMs === undefined) {
          log.hit(
            quota,
            `${ratePerSec} ${unit}/s; a call of ${units} ${unit} would wait over ${QUOTA_WAIT_MS_MAX} ms and answers -9`,
          );
        } else if (waitMs > 0) {
          log.hit(quota, `${ratePerSec} ${unit}/s; its calls wait`);
        }
        return waitMs;
      },
      refund: (args) => bucket.refund(unitsOf(args)),
    });
  };
  const opCall =
    quotas.opsPerSec === undefined ? undefined : bucketOf("ops_per_sec", quotas.opsPerSec, "ops")(() => 1);
  const bytes =
    quotas.bytesWrittenPerSec === undefined
      ? undefined
      : bucketOf("bytes_written_per_sec", quotas.bytesWrittenPerSec, "bytes");
  // db_set(key_ptr, key_len, val_ptr, val_len) and db_delete(key_ptr, key_len): lengths as u32.
  const setCall = bytes?.((args) => ((args[1] as number) >>> 0) + ((args[3] as number) >>> 0));
  const deleteCall = bytes?.((args) => (args[1] as number) >>> 0);
  const requests =
    quotas.requestsPerSec === undefined ? undefined : new TokenBucket(quotas.requestsPerSec, nowMs());
  let connections = 0;
  return {
    admitRequest() {
      const { connectionsMax, requestsPerSec } = quotas;
      if (connectionsMax !== undefined && connections >= connectionsMax) {
        log.hit("connections_max", `${connectionsMax} requests at once; serving answers 429`);
        return undefined;
      }
      if (requests !== undefined && requests.take(1, nowMs(), 0) !== 0) {
        log.hit("requests_per_sec", `${requestsPerSec} requests/s; serving answers 429`);
        return undefined;
      }
      connections++;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        connections--;
      };
    },
    admission(name) {
      if (CRDT_OP_CALLS.has(name)) return opCall;
      if (name === "db_set") return setCall;
      if (name === "db_delete") return deleteCall;
      return undefined;
    },
    cpuMsPerRun: quotas.cpuMsPerRun,
    processesMax: quotas.processesMax,
    mailboxMax: quotas.mailboxMax,
    hit: (quota, detail) => log.hit(quota, detail),
  };
}
