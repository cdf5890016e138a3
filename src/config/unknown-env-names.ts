import { closestMatch, editDistance } from "./did-you-mean.ts";
import { CONFIG_ENV_NAMES } from "./schema.ts";

/**
 * One warning per `NX_*` variable that looks like a mistyped configuration variable
 * (`NX_LISTN`): the node would silently run without the setting the user meant.
 *
 * Other `NX_*` names are left alone: `NX_*` and `NUMAX_*` variables are also the guests'
 * environment (docs/host-api.md), so `NX_NAME` for a guest is not a mistake. A name counts as a
 * typo when did-you-mean finds a configuration variable close to it, or when it is one cut short
 * at a word (`NX_DATASTORE` for `NX_DATASTORE_PATH`).
 *
 * @example unknownEnvWarnings({ NX_LISTN: "0.0.0.0:9000" })
 * // ["NX_LISTN is not a configuration variable; did you mean NX_LISTEN? (the node ignores it; guests still see it)"]
 */
export function unknownEnvWarnings(env: Readonly<Record<string, string | undefined>>): string[] {
  const warnings: string[] = [];
  // Sorted after the filter: the whole environment is not worth a sort at every start.
  const candidates = Object.keys(env).filter((name) => name.startsWith("NX_") && !CONFIG_ENV_NAMES.has(name));
  for (const name of candidates.sort()) {
    const suggestion = closestMatch(name, CONFIG_ENV_NAMES) ?? shortestExtension(name);
    if (suggestion === undefined) continue;
    warnings.push(
      `${name} is not a configuration variable; did you mean ${suggestion}? (the node ignores it; guests still see it)`,
    );
  }
  return warnings;
}

/** The configuration variable that `name` is a word-prefix of, the least edits away. */
function shortestExtension(name: string): string | undefined {
  const extensions = [...CONFIG_ENV_NAMES].filter((known) => known.startsWith(`${name}_`));
  extensions.sort((a, b) => editDistance(name, a) - editDistance(name, b));
  return extensions[0];
}
