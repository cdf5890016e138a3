/**
 * The CRDT families as policies name them (`crdt.lww-map`), and as `--print-*` and `/v1/crdt/`
 * do (src/node/crdt-values.ts's CRDT_FAMILY_NAMES is this list).
 */
export const POLICY_CRDT_FAMILIES = [
  "gcounter",
  "pncounter",
  "lww-register",
  "lww-map",
  "orset",
  "rga",
] as const;
export type PolicyCrdtFamily = (typeof POLICY_CRDT_FAMILIES)[number];

/** Capabilities whose value is a list of globs over store keys, CRDT keys, topics or names. */
export const GLOB_CAPABILITIES = [
  "db.read",
  "db.write",
  ...POLICY_CRDT_FAMILIES.map((family) => `crdt.${family}` as const),
  "messages.publish",
  "messages.subscribe",
  "env",
] as const;
export type GlobCapability = (typeof GLOB_CAPABILITIES)[number];

/** Capabilities whose globs name store or CRDT keys: relative to the module's namespace. */
export function isKeyCapability(capability: GlobCapability): boolean {
  return capability.startsWith("db.") || capability.startsWith("crdt.");
}

/** Capabilities a host call checks that are granted or not. */
export const SWITCH_CAPABILITIES = ["net.peers", "time", "random"] as const;
export type SwitchCapability = (typeof SWITCH_CAPABILITIES)[number];

/**
 * What a module's policy lets its host calls reach (docs/design/policies.md). The host functions
 * ask before they touch anything; on `false` they answer the call's denied code, and the policy
 * has already written the audit line (rate-limited) naming module, call and subject.
 * A guest without a policy (`GuestEnvironment.policy` absent) is trusted: nothing is asked.
 *
 * @example
 * if (env.policy?.allowsKey("db_get", "db.read", key) === false) return ERR_INTERNAL;
 */
export interface HostCallPolicy {
  /**
   * One store key (bytes), CRDT key (text, or bytes when namespaced), topic or environment name.
   * `inNamespace`: the subject is a key the module's namespace built behind its prefix (a store
   * or CRDT key longer than the guest's, KeyNamespace): the check need not compare the prefix.
   */
  allowsKey(
    call: string,
    capability: GlobCapability,
    subject: Uint8Array | string,
    inNamespace?: boolean,
  ): boolean;
  /** Every subject starting with `prefix`: a store listing, a subscription pattern ending in `*`. */
  allowsPrefix(call: string, capability: GlobCapability, prefix: Uint8Array | string): boolean;
  allowsSwitch(call: string, capability: SwitchCapability): boolean;
  /** A `proc_spawn` asking for `profile`; an invalid profile passes here (the spawn refuses it). */
  allowsSpawn(call: string, profile: string): boolean;
  /**
   * Audits a call refused because it reaches another module's code or processes, which no policy
   * grants (docs/design/policies.md#processes): `proc_spawn` of another module's code
   * (`processes.spawn`), `proc_send`, `proc_link` or `proc_monitor` to a process that does not
   * run the module's code (`processes`). `subject` names the module or pid.
   */
  deniedOtherModule(call: string, rule: "processes.spawn" | "processes", subject: string): void;
  /** Whether a listing of names (WASI `environ_get`) shows `name`; never audited. */
  showsEnv(name: string): boolean;
  /**
   * Whether the policy grants anything of a `host_capabilities` name: `db` (db.read or
   * db.write), `crdt` (any family), `net` (net.peers), `time`, `random`, `env`; never audited.
   */
  holds(name: "db" | "crdt" | "net" | "time" | "random" | "env"): boolean;
}

/**
 * Whether `call` may receive the messages of `pattern` (`msg_subscribe`, `sse_forward`,
 * `ws_forward`): a pattern ending in `*` takes every topic with that prefix, so one glob of
 * `messages.subscribe` must cover them all; a topic must match one. No policy: allowed.
 */
export function allowsSubscription(
  policy: HostCallPolicy | undefined,
  call: string,
  pattern: string,
): boolean {
  if (policy === undefined) return true;
  return pattern.endsWith("*")
    ? policy.allowsPrefix(call, "messages.subscribe", pattern.slice(0, -1))
    : policy.allowsKey(call, "messages.subscribe", pattern);
}
