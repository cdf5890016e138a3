import { dirname, resolve } from "node:path";
import { TICK_INTERVAL_MAX_MS, TICK_INTERVAL_MIN_MS } from "../events/tick-period.ts";
import { fetchHostProblem } from "../net/fetch-host-list.ts";
import { type ModulePolicy, parsePolicy } from "../policy/module-policy.ts";
import { type ModuleQuotas, NO_QUOTAS, parseModuleQuotas } from "../policy/module-quotas.ts";
import { PolicyError } from "../policy/policy-error.ts";
import { readPolicyFile } from "../policy/policy-file.ts";
import type { StaticMount } from "../serve/static-files.ts";
import type { ConfigIssue } from "./config-error.ts";
import { closestMatch } from "./did-you-mean.ts";
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
 *
 * They sit beside the flat key schema (schema.ts) because their tables are named by the user.
 */
export const MODULES_SECTION = "modules";

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
  /** `quotas`: narrows the policy's `[quotas]` (the smaller of the two holds), never widens them. */
  readonly quotas: ModuleQuotas;
}

const tickKind = durationKind({ minMs: TICK_INTERVAL_MIN_MS, maxMs: TICK_INTERVAL_MAX_MS });
const STATIC_KEY = "static";
const QUOTAS_KEY = "quotas";
const MODULE_KEYS = ["tick", "http_fetch_hosts", "policy", STATIC_KEY, QUOTAS_KEY];

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

/** The `[modules.<id>]` tables of a parsed file, and every problem with them. */
export function collectModuleSettings(
  section: unknown,
  origin: string,
): { settings: ReadonlyMap<string, ModuleSettings>; issues: ConfigIssue[] } {
  const settings = new Map<string, ModuleSettings>();
  const issues: ConfigIssue[] = [];
  const issue = (kind: ConfigIssue["kind"], subject: string, message: string): void => {
    issues.push({ kind, subject, source: "file", via: origin, message });
  };
  if (!isTable(section)) {
    issue(
      "wrong-type",
      `[${MODULES_SECTION}]`,
      `write one table per module: [${MODULES_SECTION}.<module id>]`,
    );
    return { settings, issues };
  }
  for (const [moduleId, table] of Object.entries(section)) {
    const subject = `${MODULES_SECTION}.${moduleId}`;
    if (!isTable(table)) {
      issue("wrong-type", subject, `write [${subject}] as a table of settings (tick = "200ms")`);
      continue;
    }
    let tickMs: number | undefined;
    let httpFetchHosts: readonly string[] = [];
    let policy: ModulePolicy | undefined;
    let staticMounts: readonly StaticMount[] = [];
    let quotas = NO_QUOTAS;
    for (const [name, value] of Object.entries(table)) {
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
      if (name === QUOTAS_KEY) {
        try {
          quotas = parseModuleQuotas(value, `${origin} [${subject}]`);
        } catch (error) {
          if (!(error instanceof PolicyError)) throw error;
          issue(isTable(value) ? "invalid-value" : "wrong-type", `${subject}.${QUOTAS_KEY}`, error.message);
        }
        continue;
      }
      if (name === "http_fetch_hosts") {
        const problem = fetchHostsProblem(value);
        if (problem === undefined) httpFetchHosts = value as string[];
        else issue(Array.isArray(value) ? "invalid-value" : "wrong-type", `${subject}.${name}`, problem);
        continue;
      }
      if (name !== "tick") {
        const near = closestMatch(name, MODULE_KEYS);
        issue(
          "unknown-key",
          `${subject}.${name}`,
          `unknown key; ${near === undefined ? `[${subject}] has ${MODULE_KEYS.join(", ")}` : `did you mean ${near}?`}`,
        );
        continue;
      }
      const result = tickKind.fromToml(value);
      if (result.ok) tickMs = result.value;
      else issue(result.kind, `${subject}.tick`, result.message);
    }
    settings.set(moduleId, { tickMs, httpFetchHosts, policy, staticMounts, quotas });
  }
  return { settings, issues };
}
