import { describeKeyType } from "./config-template.ts";
import { CONFIG_KEYS, type ConfigKeyEntry } from "./schema.ts";
import { renderTomlValue } from "./toml-value.ts";

/** Markers around the generated part of docs/configuration.md. */
export const REFERENCE_BEGIN = "<!-- BEGIN GENERATED: config reference (scripts/generate-config-docs.ts) -->";
export const REFERENCE_END = "<!-- END GENERATED: config reference -->";

const cell = (text: string): string => text.replaceAll("|", "\\|");
const code = (text: string): string => `\`${cell(text)}\``;

function defaultCell(entry: ConfigKeyEntry): string {
  if (entry.default === undefined) return "unset";
  return code(renderTomlValue(entry.kind.toToml(entry.default)));
}

function flagCell(entry: ConfigKeyEntry): string {
  const { name, argument, repeatable } = entry.flag;
  const syntax = code(argument === undefined ? name : `${name} ${argument}`);
  return repeatable ? `${syntax} (repeatable)` : syntax;
}

/** The one reference table of every key: type, default, environment variable, flag, meaning. */
export function renderConfigReference(): string {
  const rows = CONFIG_KEYS.map((entry) =>
    [
      code(entry.key),
      cell(describeKeyType(entry)),
      defaultCell(entry),
      code(entry.env),
      flagCell(entry),
      cell(entry.doc),
    ].join(" | "),
  );
  return [
    "| key | type | default | environment | flag | meaning |",
    "|---|---|---|---|---|---|",
    ...rows.map((row) => `| ${row} |`),
  ].join("\n");
}

/** `document` with the text between the markers replaced by the current reference table. */
export function updateConfigReference(document: string): string {
  const begin = document.indexOf(REFERENCE_BEGIN);
  const end = document.indexOf(REFERENCE_END);
  if (begin < 0 || end < begin)
    throw new Error("docs/configuration.md lacks the generated-reference markers");
  return `${document.slice(0, begin + REFERENCE_BEGIN.length)}\n${renderConfigReference()}\n${document.slice(end)}`;
}
