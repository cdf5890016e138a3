import { closestMatch } from "../config/did-you-mean.ts";
import { isTable } from "../config/toml-value.ts";
import { fetchHostProblem } from "../net/fetch-host-list.ts";
import {
  GLOB_CAPABILITIES,
  type GlobCapability,
  isKeyCapability,
  SWITCH_CAPABILITIES,
  type SwitchCapability,
} from "../wasm/abi/host-call-policy.ts";
import { parseProfile } from "../wasm/process/capability-profile.ts";
import { type ModuleQuotas, NO_QUOTAS, parseModuleQuotas } from "./module-quotas.ts";
import { PolicyError } from "./policy-error.ts";
import { absoluteGlob, compileGlob, type Glob, globProblem } from "./policy-glob.ts";

/** Most globs (hosts, for `http.fetch`) one capability may list; a longer list is a design smell, not a policy. */
export const POLICY_GLOBS_MAX = 256;

/** Capabilities of a policy that no host call checks: the node checks them at start. */
export const NODE_SWITCHES = ["network.serve"] as const;
type NodeSwitch = (typeof NODE_SWITCHES)[number];

const SWITCHES = [...SWITCH_CAPABILITIES, ...NODE_SWITCHES];

/** Every capability name a policy may hold, as docs/design/policies.md lists them. */
export const CAPABILITY_NAMES: readonly string[] = [
  ...GLOB_CAPABILITIES,
  ...SWITCH_CAPABILITIES,
  ...NODE_SWITCHES,
  "http.fetch",
  "processes.spawn",
];

/** The tables of a policy. */
const POLICY_TABLES = ["capabilities", "quotas"];

/**
 * One module's policy (docs/design/policies.md): what its host calls may reach. What it does not
 * list is denied.
 */
export interface ModulePolicy {
  /** Where it was read: a file path, or `numax.toml [modules.<id>.policy]`. */
  readonly origin: string;
  readonly globs: ReadonlyMap<GlobCapability, readonly Glob[]>;
  readonly switches: ReadonlySet<SwitchCapability | NodeSwitch>;
  /** `http.fetch`: hosts in the syntax of `http_fetch_hosts`. */
  readonly httpFetchHosts: readonly string[];
  /** `processes.spawn`: the highest profile a `proc_spawn` may ask for; undefined: no spawns. */
  readonly spawnProfile: string | undefined;
  /** `[quotas]`: the module's resource quotas (module-quotas.ts). */
  readonly quotas: ModuleQuotas;
  /** The file it was parsed from, as read (what a signature covers); undefined: inline in numax.toml. */
  readonly file?: { readonly path: string; readonly bytes: Uint8Array };
}

/** `db.read = [...]` is TOML for `{ db: { read: [...] } }`: the dotted names of every leaf. */
function flatten(table: Record<string, unknown>, prefix: string, into: Map<string, unknown>): void {
  for (const [name, value] of Object.entries(table)) {
    const dotted = prefix === "" ? name : `${prefix}.${name}`;
    if (isTable(value)) flatten(value, dotted, into);
    else into.set(dotted, value);
  }
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((entry) => typeof entry === "string") ? value : undefined;
}

/**
 * Reads a parsed policy (the TOML of a `NAME.policy.toml`, or the table inline in numax.toml).
 * Throws a {@link PolicyError} whose message is one line naming `origin`, the key and the fix.
 *
 * @example
 * parsePolicy({ capabilities: { db: { read: ["kv/*"] }, time: true } }, "kv.policy.toml");
 */
export function parsePolicy(table: Readonly<Record<string, unknown>>, origin: string): ModulePolicy {
  const refuse = (key: string, message: string): never => {
    throw new PolicyError("POLICY_INVALID", `${origin}: ${key}: ${message}`);
  };
  for (const [name, value] of Object.entries(table)) {
    if (!POLICY_TABLES.includes(name)) {
      refuse(name, `unknown table; a policy has [capabilities] and [quotas]`);
    }
    if (!isTable(value)) refuse(name, `write [${name}] as a table`);
  }
  const quotas = table.quotas === undefined ? NO_QUOTAS : parseModuleQuotas(table.quotas, origin);
  const entries = new Map<string, unknown>();
  flatten((table.capabilities as Record<string, unknown> | undefined) ?? {}, "", entries);

  const globs = new Map<GlobCapability, Glob[]>();
  const switches = new Set<SwitchCapability | NodeSwitch>();
  let httpFetchHosts: string[] = [];
  let spawnProfile: string | undefined;
  for (const [name, value] of entries) {
    const key = `capabilities.${name}`;
    if ((GLOB_CAPABILITIES as readonly string[]).includes(name)) {
      const list = stringList(value) ?? refuse(key, `expected a list of globs, for example ["kv/*"]`);
      if (list.length > POLICY_GLOBS_MAX) refuse(key, `${list.length} globs, at most ${POLICY_GLOBS_MAX}`);
      for (const source of list) {
        // A shared key glob is checked without its mark: "/" alone names no key.
        const problem = globProblem(
          isKeyCapability(name as GlobCapability) ? absoluteGlob(source, "") : source,
        );
        if (problem !== undefined) refuse(key, problem);
      }
      globs.set(name as GlobCapability, list.map(compileGlob));
    } else if ((SWITCHES as readonly string[]).includes(name)) {
      if (typeof value !== "boolean") refuse(key, "expected true or false");
      if (value) switches.add(name as SwitchCapability | NodeSwitch);
    } else if (name === "http.fetch") {
      const list =
        stringList(value) ?? refuse(key, `expected a list of hosts, for example ["api.example.com"]`);
      if (list.length > POLICY_GLOBS_MAX) refuse(key, `${list.length} hosts, at most ${POLICY_GLOBS_MAX}`);
      for (const host of list) {
        const problem = fetchHostProblem(host);
        if (problem !== undefined) refuse(key, problem);
      }
      httpFetchHosts = list;
    } else if (name === "processes.spawn") {
      if (typeof value !== "string") refuse(key, `expected a profile, for example "sandboxed" or "storage"`);
      try {
        parseProfile(value as string);
      } catch (error) {
        refuse(key, (error as Error).message);
      }
      spawnProfile = value as string;
    } else {
      const near = closestMatch(name, CAPABILITY_NAMES);
      refuse(
        key,
        near === undefined
          ? `unknown capability; the capabilities are ${CAPABILITY_NAMES.join(", ")}`
          : `unknown capability; did you mean ${near}?`,
      );
    }
  }
  return { origin, globs, switches, httpFetchHosts, spawnProfile, quotas };
}

/**
 * The hosts a module's `http_fetch` may reach: with a policy, its `http.fetch`, narrowed by
 * `[modules.<id>] http_fetch_hosts` when that is set (the operator's list never widens a
 * policy); without one (trusted), `http_fetch_hosts` as before policies.
 */
export function fetchHostsOf(
  policy: ModulePolicy | undefined,
  configured: readonly string[],
): readonly string[] {
  if (policy === undefined) return configured;
  if (configured.length === 0) return policy.httpFetchHosts;
  const narrowed = new Set(configured.map((host) => host.toLowerCase()));
  return policy.httpFetchHosts.filter((host) => narrowed.has(host.toLowerCase()));
}

/** Why HTTP routes may not name the module's handlers, or undefined when they may. */
export function serveRefusal(policy: ModulePolicy | undefined): string | undefined {
  if (policy === undefined || policy.switches.has("network.serve")) return undefined;
  return `its policy ${policy.origin} does not grant network.serve (add network.serve = true to its [capabilities])`;
}
