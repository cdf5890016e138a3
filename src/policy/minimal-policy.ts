import { POLICY_CRDT_FAMILIES } from "../wasm/abi/host-call-policy.ts";

/** An import of a module: `nx`.`db_get`, `wasi_snapshot_preview1`.`clock_time_get`. */
export interface ImportName {
  readonly module: string;
  readonly name: string;
}

const READS = ["db_get", "db_exists", "db_scan", "db_scan_after", "db_keys", "db_keys_after"];
const WRITES = ["db_set", "db_delete"];
/** `crdt_<prefix>_*` imports by family; `lww_map` before `lww`, which it starts with. */
const CRDT_PREFIXES: readonly (readonly [string, (typeof POLICY_CRDT_FAMILIES)[number]])[] = [
  ["crdt_gcounter_", "gcounter"],
  ["crdt_pncounter_", "pncounter"],
  ["crdt_lww_map_", "lww-map"],
  ["crdt_lww_", "lww-register"],
  ["crdt_orset_", "orset"],
  ["crdt_rga_", "rga"],
];

/**
 * The minimal policy of a module as TOML text (docs/design/policies.md#namespaces): what its
 * imports show it uses, limited to its namespace (`*`, relative) for keys and to `<id>/*` for
 * topics; `time` and
 * `random` when it imports them; the capabilities that reach outside the node (environment,
 * peers, serving, outbound HTTP, spawning) only as comments to fill in.
 *
 * @example
 * minimalPolicy("kv", [{ module: "nx", name: "db_get" }]);
 * // [capabilities]\ndb.read = ["*"]\n...
 */
export function minimalPolicy(
  moduleId: string,
  imports: readonly ImportName[],
  exports: readonly string[],
): string {
  const names = new Set(imports.map((entry) => `${entry.module}.${entry.name}`));
  const nx = (name: string): boolean => names.has(`nx.${name}`);
  const wasi = (name: string): boolean => names.has(`wasi_snapshot_preview1.${name}`);
  // Key globs are relative to the module's namespace; topics are not namespaced, so its own
  // topics are the ones that start with its id.
  const namespace = JSON.stringify(["*"]);
  const topics = JSON.stringify([`${moduleId}/*`]);
  const lines = [
    `# Policy of module ${moduleId} (docs/design/policies.md), written by \`nx policy init\` from its imports.`,
    `# It grants the module its own keys (its namespace: stored as "${moduleId}/<key>") and topics`,
    `# starting with "${moduleId}/", and nothing outside them: add a shared glob ("/shared/*") for`,
    "# every key it shares with other modules.",
    "[capabilities]",
  ];
  if (READS.some(nx)) lines.push(`db.read = ${namespace}`);
  if (WRITES.some(nx)) lines.push(`db.write = ${namespace}`);
  const families = new Set(
    imports.flatMap((entry) =>
      entry.module === "nx"
        ? (CRDT_PREFIXES.find(([prefix]) => entry.name.startsWith(prefix))?.[1] ?? [])
        : [],
    ),
  );
  for (const family of POLICY_CRDT_FAMILIES) {
    if (families.has(family)) lines.push(`crdt.${family} = ${namespace}`);
  }
  if (nx("msg_publish")) lines.push(`messages.publish = ${topics}`);
  if (nx("msg_subscribe")) lines.push(`messages.subscribe = ${topics}`);
  if (nx("time_now") || nx("time_monotonic") || wasi("clock_time_get")) lines.push("time = true");
  if (nx("random_bytes") || wasi("random_get")) lines.push("random = true");
  const outside: string[] = [];
  if (nx("env_get") || wasi("environ_get"))
    outside.push(`# env = ["NX_EXAMPLE"]          # environment names env_get may read`);
  if (nx("net_peers") || nx("net_node_id"))
    outside.push("# net.peers = true               # net_node_id, net_peers");
  if (exports.includes("routes") || nx("req_method") || nx("resp_write")) {
    outside.push("# network.serve = true           # HTTP routes may name its handlers");
  }
  if (nx("http_fetch")) outside.push(`# http.fetch = ["api.example.com"]  # hosts http_fetch may reach`);
  if (nx("proc_spawn"))
    outside.push(`# processes.spawn = "sandboxed"  # highest profile proc_spawn may ask for`);
  if (outside.length > 0)
    lines.push("# It imports calls that reach outside its namespace; grant what it needs:", ...outside);
  return `${lines.join("\n")}\n`;
}
