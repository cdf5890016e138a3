import { TICK_INTERVAL_MAX_MS, TICK_INTERVAL_MIN_MS } from "../events/tick-period.ts";
import type { ConfigIssue } from "./config-error.ts";
import { closestMatch } from "./did-you-mean.ts";
import { isTable } from "./toml-value.ts";
import { durationKind } from "./value-kind.ts";

/**
 * Per-module settings of numax.toml, one table per module id (the `.wasm` file name without
 * its extension):
 *
 *   [modules.reactive_dashboard]
 *   tick = "200ms"     # on_tick period before the module calls tick_every (docs/design/event-model.md)
 *
 * They sit beside the flat key schema (schema.ts) because their tables are named by the user.
 */
export const MODULES_SECTION = "modules";

export interface ModuleSettings {
  /** Tick period until the guest calls `tick_every`; undefined: no ticks until it does. */
  readonly tickMs: number | undefined;
}

const tickKind = durationKind({ minMs: TICK_INTERVAL_MIN_MS, maxMs: TICK_INTERVAL_MAX_MS });
const MODULE_KEYS = ["tick"];

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
    for (const [name, value] of Object.entries(table)) {
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
    settings.set(moduleId, { tickMs });
  }
  return { settings, issues };
}
