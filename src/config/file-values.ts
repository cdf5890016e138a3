import type { ConfigIssue } from "./config-error.ts";
import { closestMatch } from "./did-you-mean.ts";
import { MODULES_SECTION } from "./module-forms.ts";
import type { ConfigSection } from "./node-config.ts";
import { CONFIG_KEYS, CONFIG_SECTIONS, type ConfigKey } from "./schema.ts";
import { SERVE_SECTION } from "./serve-tables.ts";
import { isTable } from "./toml-value.ts";

/** In file order: a raw value for a known key, or a problem with the file's shape. */
export type FileItem = { readonly key: ConfigKey; readonly value: unknown } | { readonly issue: ConfigIssue };

const SECTION_NAMES = Object.keys(CONFIG_SECTIONS) as ConfigSection[];

function keysOf(section: string): string[] {
  return CONFIG_KEYS.filter((entry) => entry.section === section).map((entry) => entry.name);
}

/** Sections that hold a key of this name, exactly or nearly: where a misplaced key belongs. */
function sectionsWithKey(name: string): { section: string; name: string }[] {
  const exact = CONFIG_KEYS.filter((entry) => entry.name === name);
  if (exact.length > 0) return exact.map((entry) => ({ section: entry.section, name: entry.name }));
  const near = closestMatch(
    name,
    CONFIG_KEYS.map((entry) => entry.name),
  );
  return near === undefined ? [] : sectionsWithKey(near);
}

function placesHint(places: { section: string; name: string }[]): string {
  if (places.length === 0) return "";
  return `; did you mean ${places.map((place) => `[${place.section}] ${place.name}`).join(" or ")}?`;
}

/**
 * Maps the tables of a parsed numax.toml to schema keys, reporting unknown sections and keys
 * with the closest known name. `origin` (the file's path) is recorded on each issue.
 */
export function collectFileValues(table: Readonly<Record<string, unknown>>, origin: string): FileItem[] {
  const items: FileItem[] = [];
  const issue = (kind: ConfigIssue["kind"], subject: string, message: string): void => {
    items.push({ issue: { kind, subject, source: "file", via: origin, message } });
  };
  for (const [sectionName, sectionValue] of Object.entries(table)) {
    // Tables named by the user, read by module-settings.ts and serve-tables.ts.
    if (sectionName === MODULES_SECTION || sectionName === SERVE_SECTION) continue;
    if (!isTable(sectionValue)) {
      if (Array.isArray(sectionValue) && SECTION_NAMES.includes(sectionName as ConfigSection)) {
        issue(
          "wrong-type",
          `[${sectionName}]`,
          `write [${sectionName}] once, as a table, not [[${sectionName}]]`,
        );
        continue;
      }
      issue(
        "unknown-key",
        sectionName,
        `keys belong inside a section${placesHint(sectionsWithKey(sectionName))}`,
      );
      continue;
    }
    if (!SECTION_NAMES.includes(sectionName as ConfigSection)) {
      const near = closestMatch(sectionName, SECTION_NAMES);
      const hint =
        near === undefined
          ? `; sections are ${[...SECTION_NAMES, MODULES_SECTION].map((s) => `[${s}]`).join(", ")}, [[${SERVE_SECTION}]]`
          : `; did you mean [${near}]?`;
      issue("unknown-section", `[${sectionName}]`, `unknown section${hint}`);
      continue;
    }
    const known = keysOf(sectionName);
    for (const [name, value] of Object.entries(sectionValue)) {
      if (known.includes(name)) {
        items.push({ key: `${sectionName}.${name}` as ConfigKey, value });
        continue;
      }
      const near = closestMatch(name, known);
      const elsewhere = placesHint(sectionsWithKey(name).filter((place) => place.section !== sectionName));
      const hint =
        near !== undefined
          ? `; did you mean ${near}?`
          : elsewhere !== ""
            ? elsewhere
            : `; [${sectionName}] has ${known.join(", ")}`;
      issue("unknown-key", `${sectionName}.${name}`, `unknown key${hint}`);
    }
  }
  return items;
}
