import type { GuestEnvironment } from "./guest-environment.ts";
import type { HostCallPolicy } from "./host-call-policy.ts";

/**
 * Capability names reported by `host_capabilities`, one per group of `nx` functions the guest
 * can use successfully:
 * - `db`: db_* (the guest has a store)
 * - `crdt`: crdt_* and `net`: net_node_id / net_peers (the node runs with sync)
 * - `log`, `time`, `random`, `crypto` (hash_*), `env` (env_get, module_id), `event` (event_emit): always
 * Names from `GuestEnvironment.capabilities` follow (for example `wasi`), deduplicated. Under a
 * policy, `db`, `crdt`, `net`, `time`, `random` and `env` appear only when it grants some of them.
 */
export const ALWAYS_AVAILABLE_CAPABILITIES = ["log", "time", "random", "crypto", "env", "event"] as const;

/** A capability name the output format can carry: printable ASCII without spaces or newlines. */
function isCapabilityName(name: string): boolean {
  return /^[\x21-\x7e]{1,64}$/.test(name);
}

type PolicyName = Parameters<HostCallPolicy["holds"]>[0];

/** Names a module's policy may withhold (src/wasm/abi/host-call-policy.ts `holds`). */
const POLICY_NAMES: ReadonlySet<string> = new Set<PolicyName>(["db", "crdt", "net", "time", "random", "env"]);

export function hostCapabilities(env: GuestEnvironment): string[] {
  const available: string[] = [];
  if (env.store !== undefined) available.push("db");
  if (env.crdt !== undefined) available.push("crdt", "net");
  available.push(...ALWAYS_AVAILABLE_CAPABILITIES);
  const policy = env.policy;
  // A name the policy grants nothing of would be a lie: every call behind it is denied.
  const names =
    policy === undefined
      ? available
      : available.filter((name) => !POLICY_NAMES.has(name) || policy.holds(name as PolicyName));
  for (const extra of env.capabilities) {
    // db, crdt and net follow the environment: a grant without the store or sync would be a lie.
    if (extra === "db" || extra === "crdt" || extra === "net") continue;
    if (isCapabilityName(extra) && !names.includes(extra)) names.push(extra);
  }
  return names;
}
