import type { GuestEnvironment } from "./guest-environment.ts";

/**
 * Capability names reported by `host_capabilities`, one per group of `nx` functions the guest
 * can use successfully:
 * - `db`: db_* (the guest has a store)
 * - `crdt`: crdt_* and `net`: net_node_id / net_peers (the node runs with sync)
 * - `log`, `time`, `random`, `crypto` (hash_*), `env` (env_get, module_id), `event` (event_emit): always
 * Names from `GuestEnvironment.capabilities` follow (for example `wasi`), deduplicated.
 */
export const ALWAYS_AVAILABLE_CAPABILITIES = ["log", "time", "random", "crypto", "env", "event"] as const;

/** A capability name the output format can carry: printable ASCII without spaces or newlines. */
function isCapabilityName(name: string): boolean {
  return /^[\x21-\x7e]{1,64}$/.test(name);
}

export function hostCapabilities(env: GuestEnvironment): string[] {
  const names: string[] = [];
  if (env.store !== undefined) names.push("db");
  if (env.crdt !== undefined) names.push("crdt", "net");
  names.push(...ALWAYS_AVAILABLE_CAPABILITIES);
  for (const extra of env.capabilities) {
    // db, crdt and net follow the environment: a grant without the store or sync would be a lie.
    if (extra === "db" || extra === "crdt" || extra === "net") continue;
    if (isCapabilityName(extra) && !names.includes(extra)) names.push(extra);
  }
  return names;
}
