import { renderColumns } from "../text/text-columns.ts";
import type { ConfigSource } from "./config-error.ts";
import type { NodeConfig } from "./node-config.ts";
import type { ResolvedConfig } from "./resolve.ts";
import { CONFIG_KEYS, type ConfigKey, type ConfigKeyEntry } from "./schema.ts";
import { renderTomlValue } from "./toml-value.ts";
import type { TomlWritable } from "./value-kind.ts";

/** One row of `nx config show`: a key, its value as TOML would write it, and where it came from. */
export interface EffectiveValue {
  readonly key: ConfigKey;
  /** `undefined` when the key is unset (its feature is off). */
  readonly value: TomlWritable | undefined;
  readonly source: ConfigSource;
  /** The file, variable or flag the value came from; absent for defaults. */
  readonly via?: string;
}

function effectiveValueOf(config: NodeConfig, entry: ConfigKeyEntry): TomlWritable | undefined {
  const section = config[entry.section] as unknown as Record<string, unknown>;
  const value = section[entry.field];
  return value === undefined ? undefined : entry.kind.toToml(value);
}

function viaOf(
  entry: ConfigKeyEntry,
  source: ConfigSource,
  configPath: string | undefined,
): string | undefined {
  if (source === "env") return entry.env;
  if (source === "flag") return entry.flag.name;
  if (source === "file") return configPath;
  return undefined;
}

/** Every key's effective value and origin, in schema order. */
export function effectiveValues(resolved: ResolvedConfig): EffectiveValue[] {
  return CONFIG_KEYS.map((entry) => {
    const source = resolved.sources[entry.key];
    const via = viaOf(entry, source, resolved.configPath);
    return {
      key: entry.key,
      value: effectiveValueOf(resolved.config, entry),
      source,
      ...(via === undefined ? {} : { via }),
    };
  });
}

/** Aligned text: `key  value  origin`, one line per row, then the notes. */
export function renderEffectiveText(rows: readonly EffectiveValue[], notes: readonly string[]): string {
  if (rows.length === 0) return "(no keys set)\n";
  const cells = rows.map((row) => [
    row.key,
    row.value === undefined ? "(unset)" : renderTomlValue(row.value),
    row.via === undefined ? row.source : `${row.source} ${row.via}`,
  ]);
  return renderColumns(cells) + notes.map((note) => `note: ${note}\n`).join("");
}

/** `{ "configPath", "values": { key: { value, source, via } }, "notes" }`; unset values are null. */
export function renderEffectiveJson(
  rows: readonly EffectiveValue[],
  notes: readonly string[],
  configPath: string | undefined,
): string {
  const values = Object.fromEntries(
    rows.map((row) => [row.key, { value: row.value ?? null, source: row.source, via: row.via ?? null }]),
  );
  return `${JSON.stringify({ configPath: configPath ?? null, values, notes }, null, 2)}\n`;
}
