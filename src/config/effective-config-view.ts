import { renderColumns } from "../text/text-columns.ts";
import type { ConfigSource } from "./config-error.ts";
import type { NodeConfig } from "./node-config.ts";
import type { ResolvedConfig } from "./resolve.ts";
import { CONFIG_KEYS, type ConfigKey, type ConfigKeyEntry } from "./schema.ts";
import { SERVE_SECTION, serveTableValues } from "./serve-tables.ts";
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
    const source = resolved.sourceOf(entry.key);
    const via = viaOf(entry, source, resolved.configPath);
    return {
      key: entry.key,
      value: effectiveValueOf(resolved.config, entry),
      source,
      ...(via === undefined ? {} : { via }),
    };
  });
}

/** One row of a `[[serve]]` listener in `nx config show`: its number (from 1) and key. */
export interface ServeListenerValue {
  readonly listener: number;
  readonly key: string;
  readonly value: TomlWritable | undefined;
  readonly source: "file" | "default";
  readonly via?: string;
}

/**
 * The `[[serve]]` listeners of the file, key by key (docs/serving.md); with `effective`, the
 * keys their tables leave out too, at their defaults.
 */
export function serveListenerValues(resolved: ResolvedConfig, effective: boolean): ServeListenerValue[] {
  return resolved.serveSettings.flatMap((settings, index) =>
    serveTableValues(settings)
      .filter((entry) => effective || entry.set)
      .map((entry) => ({
        listener: index + 1,
        key: entry.key,
        value: entry.value,
        ...(entry.set
          ? { source: "file" as const, via: resolved.configPath }
          : { source: "default" as const }),
      })),
  );
}

/** Aligned text: `key  value  origin`, one line per row (a listener's keys as `serve[1].listen`), then the notes. */
export function renderEffectiveText(
  keyRows: readonly EffectiveValue[],
  notes: readonly string[],
  serveRows: readonly ServeListenerValue[] = [],
): string {
  const rows = [
    ...keyRows,
    ...serveRows.map((row) => ({ ...row, key: `${SERVE_SECTION}[${row.listener}].${row.key}` })),
  ];
  if (rows.length === 0) return "(no keys set)\n";
  const cells = rows.map((row) => [
    row.key,
    row.value === undefined ? "(unset)" : renderTomlValue(row.value),
    row.via === undefined ? row.source : `${row.source} ${row.via}`,
  ]);
  return renderColumns(cells) + notes.map((note) => `note: ${note}\n`).join("");
}

/**
 * `{ "configPath", "values": { key: { value, source, via } }, "serve": [{ key: { value, source,
 * via } }], "notes" }`: `serve` has one object per `[[serve]]` listener; unset values are null.
 */
export function renderEffectiveJson(
  rows: readonly EffectiveValue[],
  notes: readonly string[],
  configPath: string | undefined,
  serveRows: readonly ServeListenerValue[] = [],
): string {
  const shown = (row: EffectiveValue | ServeListenerValue) => ({
    value: row.value ?? null,
    source: row.source,
    via: row.via ?? null,
  });
  const values = Object.fromEntries(rows.map((row) => [row.key, shown(row)]));
  const serve: Record<string, ReturnType<typeof shown>>[] = [];
  for (const row of serveRows) {
    serve[row.listener - 1] ??= {};
    serve[row.listener - 1]![row.key] = shown(row);
  }
  return `${JSON.stringify({ configPath: configPath ?? null, values, serve, notes }, null, 2)}\n`;
}
