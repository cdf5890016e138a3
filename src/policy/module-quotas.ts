import { closestMatch } from "../config/did-you-mean.ts";
import { isTable } from "../config/toml-value.ts";
import { PolicyError } from "./policy-error.ts";

/**
 * A module's resource quotas (docs/design/policies.md#quotas): the `[quotas]` table of its policy,
 * narrowed by `[modules.<id>] quotas` of numax.toml. An absent field is no quota of the module's
 * own: the node-wide setting (`limits.cpu_ms_per_run`, `limits.memory_max_mb`) or no limit.
 *
 * @example
 * // [quotas] ops_per_sec = 100
 * const quotas: ModuleQuotas = { opsPerSec: 100 };
 */
export interface ModuleQuotas {
  /** CPU budget of one run (one callback call of a reactive module) in ms; a policy's narrows `limits.cpu_ms_per_run`. */
  readonly cpuMsPerRun?: number;
  /** Linear memory cap of each of its guests in MiB; a policy's narrows `limits.memory_max_mb`. */
  readonly memoryMaxMb?: number;
  /** CRDT operations per second (token bucket): its `crdt_*` writes wait beyond it. */
  readonly opsPerSec?: number;
  /** Store bytes written per second (key and value of `db_set`, key of `db_delete`): its writes wait beyond it. */
  readonly bytesWrittenPerSec?: number;
  /** HTTP requests per second its handlers answer; beyond, serving answers 429. */
  readonly requestsPerSec?: number;
  /** HTTP requests its handlers serve at once; beyond, serving answers 429. */
  readonly connectionsMax?: number;
  /** Its live WebAssembly processes; a `proc_spawn` beyond answers -3, as the node's own process bound does. */
  readonly processesMax?: number;
  /** User messages each of its processes' mailboxes holds; further ones are dropped (counted). */
  readonly mailboxMax?: number;
}

export type QuotaField = keyof ModuleQuotas;

/** Every quota: its TOML name and the largest value it takes (the smallest is 1). */
export const QUOTA_KEYS: Readonly<Record<QuotaField, { readonly name: string; readonly max: number }>> = {
  cpuMsPerRun: { name: "cpu_ms_per_run", max: 86_400_000 },
  memoryMaxMb: { name: "memory_max_mb", max: 4096 },
  opsPerSec: { name: "ops_per_sec", max: 1_000_000_000 },
  bytesWrittenPerSec: { name: "bytes_written_per_sec", max: 1_000_000_000_000 },
  requestsPerSec: { name: "requests_per_sec", max: 1_000_000_000 },
  connectionsMax: { name: "connections_max", max: 1_000_000 },
  processesMax: { name: "processes_max", max: 1_000_000 },
  mailboxMax: { name: "mailbox_max", max: 1_000_000_000 },
};

/** The TOML names of the quotas, in the order docs/design/policies.md lists them. */
export const QUOTA_NAMES: readonly string[] = Object.values(QUOTA_KEYS).map((key) => key.name);

const FIELD_BY_NAME = new Map(
  (Object.entries(QUOTA_KEYS) as [QuotaField, { name: string }][]).map(([field, { name }]) => [name, field]),
);

/** No quota of the module's own. */
export const NO_QUOTAS: ModuleQuotas = Object.freeze({});

/**
 * Reads a `[quotas]` table (of a policy, or `[modules.<id>] quotas` of numax.toml): integers of
 * 1 to the quota's maximum. Throws a {@link PolicyError} (`POLICY_INVALID`) whose message is one
 * line naming `origin`, the key and the fix.
 *
 * @example
 * parseModuleQuotas({ ops_per_sec: 100n, memory_max_mb: 16n }, "kv.policy.toml");
 */
export function parseModuleQuotas(table: unknown, origin: string): ModuleQuotas {
  if (!isTable(table)) {
    throw new PolicyError(
      "POLICY_INVALID",
      `${origin}: write the quotas as a table, for example { ops_per_sec = 100 }`,
    );
  }
  const quotas: Partial<Record<QuotaField, number>> = {};
  for (const [name, value] of Object.entries(table)) {
    const field = FIELD_BY_NAME.get(name);
    if (field === undefined) {
      const near = closestMatch(name, QUOTA_NAMES);
      throw new PolicyError(
        "POLICY_INVALID",
        `${origin}: quotas.${name}: unknown quota; ${near === undefined ? `the quotas are ${QUOTA_NAMES.join(", ")}` : `did you mean ${near}?`}`,
      );
    }
    const { max } = QUOTA_KEYS[field];
    if (typeof value !== "bigint" || value < 1n || value > BigInt(max)) {
      throw new PolicyError(
        "POLICY_INVALID",
        `${origin}: quotas.${name}: expected an integer from 1 to ${max}, got ${typeof value === "bigint" ? value : (JSON.stringify(value) ?? String(value))}`,
      );
    }
    quotas[field] = Number(value);
  }
  return quotas;
}

/**
 * The quotas in force when the policy says `policy` and numax.toml's `[modules.<id>] quotas`
 * says `configured`: the smaller of the two where both are set. The operator's table narrows a
 * policy and never widens it (as `http_fetch_hosts` narrows `http.fetch`).
 */
export function narrowQuotas(policy: ModuleQuotas, configured: ModuleQuotas): ModuleQuotas {
  const narrowed: Partial<Record<QuotaField, number>> = { ...policy };
  for (const [field, value] of Object.entries(configured) as [QuotaField, number][]) {
    const held = narrowed[field];
    narrowed[field] = held === undefined ? value : Math.min(held, value);
  }
  return narrowed;
}

/** The node-wide limits a module's own `cpu_ms_per_run` and `memory_max_mb` apply in place of (`limits.*`). */
export interface NodeLimits {
  /** `limits.cpu_ms_per_run`; undefined: no CPU budget. */
  readonly cpuMsPerRun: number | undefined;
  readonly memoryMaxMb: number;
}

/**
 * The quotas module code runs under: its policy's (none for a trusted module), narrowed by
 * `[modules.<id>] quotas`. The operator sets the ceiling of `cpu_ms_per_run` and
 * `memory_max_mb`: `[modules.<id>] quotas` when it names them, else the node's `limits`; a
 * policy only narrows it, so a module's own policy cannot give it more CPU or memory than the
 * node allows.
 */
export function quotasInForce(
  policy: { readonly quotas: ModuleQuotas } | undefined,
  configured: ModuleQuotas | undefined,
  node: NodeLimits,
): ModuleQuotas {
  const quotas: Partial<Record<QuotaField, number>> = narrowQuotas(
    policy?.quotas ?? NO_QUOTAS,
    configured ?? NO_QUOTAS,
  );
  for (const field of ["cpuMsPerRun", "memoryMaxMb"] as const) {
    const held = quotas[field];
    const ceiling = node[field];
    if (configured?.[field] === undefined && held !== undefined && ceiling !== undefined && held > ceiling) {
      quotas[field] = ceiling;
    }
  }
  return quotas;
}
