import type { ConfigSection } from "./node-config.ts";
import { CONFIG_KEYS, CONFIG_SECTIONS, type ConfigKeyEntry } from "./schema.ts";
import { renderTomlValue } from "./toml-value.ts";

/** "integer 1..3600 (seconds)", "duration 1ms..1h", "one of text | json": a key's type as the docs show it. */
export function describeKeyType(entry: ConfigKeyEntry): string {
  const { typeName } = entry.kind;
  const constraint = entry.kind.constraint();
  const unit = entry.unit === undefined ? "" : ` (${entry.unit})`;
  if (constraint === "") return `${typeName}${unit}`;
  return typeName === "string" ? `one of ${constraint}` : `${typeName} ${constraint}${unit}`;
}

function renderKey(entry: ConfigKeyEntry): string[] {
  const facts = [describeKeyType(entry), `env ${entry.env}`, `flag ${entry.flag.name}`];
  const lines = [`# ${entry.doc}`, `# ${facts.join(" · ")}`];
  if (entry.default !== undefined) {
    lines.push(`${entry.name} = ${renderTomlValue(entry.kind.toToml(entry.default))}`);
  } else {
    // Unset by default: show a realistic value, commented out, so the line can be switched on.
    const example = entry.example === undefined ? "" : renderTomlValue(entry.kind.toToml(entry.example));
    lines.push(`# ${entry.name} = ${example}`);
  }
  return lines;
}

/**
 * The commented numax.toml `nx config init` writes: every section and key of the schema, each
 * at its default (keys that are off by default are commented out, with an example value).
 * Parsing it yields exactly the defaults.
 */
export function renderConfigTemplate(): string {
  const lines = [
    "# numax.toml: configuration of one Numax node, written by `nx config init`.",
    "# Every key is listed at its default; keys that are off by default are commented out.",
    "# Precedence: CLI flag > NX_* environment variable > this file > default.",
    "# Check it with `nx config validate --config numax.toml`;",
    "# see the effective values with `nx config show --config numax.toml --effective`.",
  ];
  for (const [section, about] of Object.entries(CONFIG_SECTIONS) as [ConfigSection, string][]) {
    lines.push("", `[${section}]`, `# ${about}`);
    for (const entry of CONFIG_KEYS.filter((candidate) => candidate.section === section)) {
      lines.push("", ...renderKey(entry));
    }
  }
  return `${lines.join("\n")}\n`;
}
