import { dirname, resolve } from "node:path";
import { TICK_INTERVAL_MAX_MS, TICK_INTERVAL_MIN_MS } from "../events/tick-period.ts";
import type { RestartType } from "../kernel/supervisor-decide.ts";
import { fetchHostProblem } from "../net/fetch-host-list.ts";
import { type ModulePolicy, parsePolicy } from "../policy/module-policy.ts";
import { type ModuleQuotas, NO_QUOTAS, parseModuleQuotas } from "../policy/module-quotas.ts";
import { PolicyError } from "../policy/policy-error.ts";
import { readPolicyFile } from "../policy/policy-file.ts";
import type { StaticMount } from "../serve/static-files.ts";
import { isValidModuleId, MODULE_ID_LENGTH_MAX, moduleIdOf } from "../wasm/load-guest-module.ts";
import type { ConfigIssue } from "./config-error.ts";
import { closestMatch } from "./did-you-mean.ts";
import { MODULES_SECTION } from "./module-forms.ts";
import { collectStaticMounts } from "./serve-tables.ts";
import { isTable } from "./toml-value.ts";
import { durationKind } from "./value-kind.ts";

/**
 * Per-module settings of numax.toml, one table per module id (the `.wasm` file name without
 * its extension):
 *
 *   [modules.reactive_dashboard]
 *   tick = "200ms"     # on_tick period before the module calls tick_every (docs/design/event-model.md)
 *   http_fetch_hosts = ["api.example.com", "127.0.0.1:8080"]   # hosts http_fetch may reach (none by default)
 *   policy = "policies/reactive_dashboard.policy.toml"          # or inline: [modules.<id>.policy.capabilities]
 *   static = { "/app/*" = "../web" }   # the module's web files, served with its default routes (--serve)
 *   quotas = { ops_per_sec = 100 }     # narrows the policy's [quotas] (docs/design/policies.md#quotas)
 *   restart = "permanent"              # its supervisor's restart strategy (permanent | transient | temporary)
 *
 * or, in a file that lists the modules to run, the same keys in each `[[modules]]` entry, with
 * the entry's `path` (relative to the config file) and `id` (default: the file name):
 *
 *   [[modules]]
 *   path = "build/reactive_dashboard.wasm"
 *   tick = "200ms"
 *
 * They sit beside the flat key schema (schema.ts) because their tables are named by the user.
 */
export interface ModuleSettings {
  /** Tick period until the guest calls `tick_every`; undefined: no ticks until it does. */
  readonly tickMs: number | undefined;
  /** Hosts `http_fetch` may reach (src/net/fetch-host-list.ts); empty: none. */
  readonly httpFetchHosts: readonly string[];
  /** The module's policy (docs/design/policies.md), read from the file named or inline; undefined: none here. */
  readonly policy: ModulePolicy | undefined;
  /**
   * The module's own static directories, served with its default routes (`--serve`); each
   * directory as written, relative to the module file's directory (resolved at start).
   */
  readonly staticMounts: readonly StaticMount[];
  /**
   * How the module's supervisor restarts it, as the kernel's supervisors name it: `permanent`
   * (after any end), `transient` (after a failure), `temporary` (never); undefined: `temporary`
   * for a one-shot module, `transient` for a reactive one (src/node/guest-processes.ts).
   */
  readonly restart: RestartType | undefined;
  /** `quotas`: narrows the policy's `[quotas]` (the smaller of the two holds), never widens them. */
  readonly quotas: ModuleQuotas;
}

const tickKind = durationKind({ minMs: TICK_INTERVAL_MIN_MS, maxMs: TICK_INTERVAL_MAX_MS });
const STATIC_KEY = "static";
const RESTART_KEY = "restart";
const QUOTAS_KEY = "quotas";
const MODULE_KEYS = ["tick", "http_fetch_hosts", "policy", STATIC_KEY, RESTART_KEY, QUOTAS_KEY];
const RESTART_TYPES: readonly RestartType[] = ["permanent", "transient", "temporary"];

/** `policy = "FILE"` (relative to the config file) or the policy inline as a table. */
function modulePolicy(value: unknown, subject: string, origin: string): ModulePolicy {
  if (typeof value === "string") return readPolicyFile(resolve(dirname(origin), value));
  if (isTable(value)) return parsePolicy(value, `${origin} [${subject}]`);
  throw new PolicyError(
    "POLICY_INVALID",
    `${origin}: ${subject}: expected the path of a policy file or a table ([${subject}.capabilities])`,
  );
}

/** The problem with an `http_fetch_hosts` value, or undefined when it is a list of valid hosts. */
function fetchHostsProblem(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string")) {
    return `expected a list of hosts, for example ["api.example.com", "127.0.0.1:8080"]`;
  }
  for (const entry of value as string[]) {
    const problem = fetchHostProblem(entry);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** A module `[[modules]]` lists: `nx run` starts it as if its path were on the command line. */
export interface ListedModule {
  /** The `.wasm` file, resolved against the config file's directory. */
  readonly path: string;
  readonly moduleId: string;
}

type IssueSink = (kind: ConfigIssue["kind"], subject: string, message: string) => void;

/** Keys only an entry of `[[modules]]` has: the table form names the module by its table. */
const LISTED_KEYS = ["path", "id"];

/**
 * The one parser of a module's settings, for `[modules.<id>]` and for an entry of `[[modules]]`
 * (`extraKeys`: the entry's own keys, read by the caller). `subject` names the table in issues.
 */
function moduleSettingsOf(
  table: Readonly<Record<string, unknown>>,
  subject: string,
  origin: string,
  issue: IssueSink,
  extraKeys: readonly string[] = [],
): ModuleSettings {
  let tickMs: number | undefined;
  let httpFetchHosts: readonly string[] = [];
  let policy: ModulePolicy | undefined;
  let staticMounts: readonly StaticMount[] = [];
  let restart: RestartType | undefined;
  let quotas = NO_QUOTAS;
  for (const [name, value] of Object.entries(table)) {
    if (extraKeys.includes(name)) continue;
    if (name === QUOTAS_KEY) {
      try {
        quotas = parseModuleQuotas(value, `${origin} [${subject}]`);
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        issue(isTable(value) ? "invalid-value" : "wrong-type", `${subject}.${QUOTAS_KEY}`, error.message);
      }
      continue;
    }
    if (name === RESTART_KEY) {
      if (RESTART_TYPES.includes(value as RestartType)) restart = value as RestartType;
      else
        issue(
          typeof value === "string" ? "invalid-value" : "wrong-type",
          `${subject}.${RESTART_KEY}`,
          `expected one of ${RESTART_TYPES.map((type) => `"${type}"`).join(", ")} (restarted after any end, after a failure, never)`,
        );
      continue;
    }
    if (name === "policy") {
      try {
        policy = modulePolicy(value, `${subject}.policy`, origin);
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        // The policy's own line names its file and key; the subject says which table led there.
        issue(
          isTable(value) || typeof value === "string" ? "invalid-value" : "wrong-type",
          `${subject}.policy`,
          error.message,
        );
      }
      continue;
    }
    if (name === STATIC_KEY) {
      const at = `${subject}.${STATIC_KEY}`;
      staticMounts = collectStaticMounts(
        value,
        at,
        (message) => issue("invalid-value", at, message),
        (directory) => directory,
      );
      continue;
    }
    if (name === "http_fetch_hosts") {
      const problem = fetchHostsProblem(value);
      if (problem === undefined) httpFetchHosts = value as string[];
      else issue(Array.isArray(value) ? "invalid-value" : "wrong-type", `${subject}.${name}`, problem);
      continue;
    }
    if (name !== "tick") {
      const keys = [...extraKeys, ...MODULE_KEYS];
      const near = closestMatch(name, keys);
      issue(
        "unknown-key",
        `${subject}.${name}`,
        `unknown key; ${near === undefined ? `[${subject}] has ${keys.join(", ")}` : `did you mean ${near}?`}`,
      );
      continue;
    }
    const result = tickKind.fromToml(value);
    if (result.ok) tickMs = result.value;
    else issue(result.kind, `${subject}.tick`, result.message);
  }
  return { tickMs, httpFetchHosts, policy, staticMounts, restart, quotas };
}

/**
 * The entries of `[[modules]]`: each a module to run (`path`, `id` defaulting to the file name
 * without `.wasm`) with the keys of `[modules.<id>]`.
 */
function collectListedModules(
  entries: readonly unknown[],
  origin: string,
  issue: IssueSink,
  settings: Map<string, ModuleSettings>,
): ListedModule[] {
  const listed: ListedModule[] = [];
  entries.forEach((entry, index) => {
    const subject = `${MODULES_SECTION}[${index}]`;
    if (!isTable(entry)) {
      issue(
        "wrong-type",
        subject,
        `write each [[${MODULES_SECTION}]] entry as a table with path = "app.wasm"`,
      );
      return;
    }
    const { path, id } = entry;
    if (typeof path !== "string" || path === "") {
      issue(
        path === undefined ? "invalid-value" : "wrong-type",
        `${subject}.path`,
        `every [[${MODULES_SECTION}]] entry needs path = "<module>.wasm" (relative to the config file)`,
      );
      return;
    }
    if (id !== undefined && (typeof id !== "string" || !isValidModuleId(id))) {
      issue(
        "invalid-value",
        `${subject}.id`,
        `a module id is 1 to ${MODULE_ID_LENGTH_MAX} letters, digits and _ . - (starting with a letter or digit); leave it out for the file name (${moduleIdOf(path)})`,
      );
      return;
    }
    const moduleId = (id as string | undefined) ?? moduleIdOf(path);
    if (settings.has(moduleId)) {
      issue(
        "invalid-value",
        `${subject}.id`,
        `module id ${moduleId} is listed twice; give one of them another id = "..."`,
      );
      return;
    }
    settings.set(moduleId, moduleSettingsOf(entry, `${subject}`, origin, issue, LISTED_KEYS));
    listed.push({ path: resolve(dirname(origin), path), moduleId });
  });
  return listed;
}

/**
 * The module settings of a parsed file, and every problem with them: `[modules.<id>]` tables
 * (settings of modules named elsewhere), or a `[[modules]]` list (the modules to run, each with
 * its settings); a file has one form or the other, which TOML itself enforces.
 */
export function collectModuleSettings(
  section: unknown,
  origin: string,
): {
  settings: ReadonlyMap<string, ModuleSettings>;
  listed: readonly ListedModule[];
  issues: ConfigIssue[];
} {
  const settings = new Map<string, ModuleSettings>();
  const issues: ConfigIssue[] = [];
  const issue: IssueSink = (kind, subject, message) => {
    issues.push({ kind, subject, source: "file", via: origin, message });
  };
  if (Array.isArray(section)) {
    const listed = collectListedModules(section, origin, issue, settings);
    return { settings, listed, issues };
  }
  if (!isTable(section)) {
    issue(
      "wrong-type",
      `[${MODULES_SECTION}]`,
      `write one table per module, [${MODULES_SECTION}.<module id>], or list the modules to run as [[${MODULES_SECTION}]] entries`,
    );
    return { settings, listed: [], issues };
  }
  for (const [moduleId, table] of Object.entries(section)) {
    const subject = `${MODULES_SECTION}.${moduleId}`;
    if (!isTable(table)) {
      issue("wrong-type", subject, `write [${subject}] as a table of settings (tick = "200ms")`);
      continue;
    }
    settings.set(moduleId, moduleSettingsOf(table, subject, origin, issue));
  }
  return { settings, listed: [], issues };
}
