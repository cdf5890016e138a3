import type { ServeSettings } from "../serve/serve-settings.ts";
import { ConfigError, type ConfigIssue, type ConfigSource } from "./config-error.ts";
import { findContradictions, type ValueOrigin } from "./contradictions.ts";
import { collectFileValues } from "./file-values.ts";
import { MODULES_SECTION } from "./module-forms.ts";
import { collectModuleSettings, type ListedModule, type ModuleSettings } from "./module-settings.ts";
import type { NodeConfig } from "./node-config.ts";
import { CONFIG_KEYS, type ConfigKey, type ConfigKeyEntry, findConfigKey } from "./schema.ts";
import { collectServeSettings, SERVE_SECTION } from "./serve-tables.ts";
import { unknownEnvWarnings } from "./unknown-env-names.ts";
import type { KindResult } from "./value-kind.ts";

/**
 * A value given on the command line: a string for `--listen x`, a list for a repeatable flag,
 * `true` for a switch, a number if the caller already parsed one.
 */
export type ConfigFlagValue = string | number | boolean | readonly string[];

/** CLI values keyed by schema key (`{ "network.listen": "0.0.0.0:9000" }`); see cli-options.ts. */
export type ConfigFlags = Readonly<Partial<Record<ConfigKey, ConfigFlagValue | undefined>>>;

export type ConfigEnv = Readonly<Record<string, string | undefined>>;

export interface ResolvedConfig {
  readonly config: NodeConfig;
  /** Where the effective value of `key` came from. */
  readonly sourceOf: (key: ConfigKey) => ConfigSource;
  /** Accepted-but-noteworthy values (e.g. "bincode" read as "msgpack"), one line each. */
  readonly notes: readonly string[];
  /** `NX_*` variables that look like mistyped configuration variables, one line each (see unknown-env-names.ts). */
  readonly warnings: readonly string[];
  readonly configPath: string | undefined;
  /** `[modules.<module id>]` tables (or `[[modules]]` entries) of the file, by module id. */
  readonly moduleSettings: ReadonlyMap<string, ModuleSettings>;
  /** The modules `[[modules]]` lists, in file order: `nx run` starts them. */
  readonly listedModules: readonly ListedModule[];
  /** `[[serve]]` listeners of the file (docs/serving.md), in file order. */
  readonly serveSettings: readonly ServeSettings[];
}

export interface ConfigLayers {
  readonly flags?: ConfigFlags;
  readonly env?: ConfigEnv;
  /** A parsed numax.toml and its path. */
  readonly file?: { readonly path: string; readonly table: Readonly<Record<string, unknown>> };
  /** Problems met while reading the file (unreadable, syntax); they are reported with the rest. */
  readonly fileIssues?: readonly ConfigIssue[];
}

interface Effective {
  value: unknown;
  origin: ValueOrigin;
}

function flagText(value: ConfigFlagValue): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return value.join(",");
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    // for-in, not Object.values: no array of the values per object (the config has only own, enumerable keys).
    for (const key in value) deepFreeze(value[key]);
    Object.freeze(value);
  }
  return value;
}

/** The NodeConfig of the effective values, frozen: it is shared by every part of the node. */
function buildConfig(effective: ReadonlyMap<ConfigKey, Effective>): NodeConfig {
  const sections: Record<string, Record<string, unknown>> = {};
  for (const entry of CONFIG_KEYS) {
    sections[entry.section] ??= {};
    sections[entry.section][entry.field] = effective.get(entry.key)?.value;
  }
  return deepFreeze(sections) as unknown as NodeConfig;
}

/**
 * Merges defaults, file, environment and flags (each layer overriding the one before) and
 * validates the result. Pure: the file arrives parsed. Throws ConfigError listing every problem.
 */
export function resolveConfigLayers(layers: ConfigLayers): ResolvedConfig {
  const effective = new Map<ConfigKey, Effective>();
  for (const entry of CONFIG_KEYS)
    effective.set(entry.key, { value: entry.default, origin: { source: "default" } });
  const issues: ConfigIssue[] = [...(layers.fileIssues ?? [])];
  const notes: string[] = [];
  const badKeys = new Set<ConfigKey>();

  const apply = (entry: ConfigKeyEntry, origin: Required<ValueOrigin>, result: KindResult<unknown>): void => {
    if (result.ok) {
      effective.set(entry.key, { value: result.value, origin });
      if (result.note !== undefined) notes.push(`${result.note} (${origin.via})`);
      return;
    }
    badKeys.add(entry.key);
    issues.push({ kind: result.kind, subject: entry.key, ...origin, message: result.message });
  };

  let moduleSettings: ReadonlyMap<string, ModuleSettings> = new Map();
  let listedModules: readonly ListedModule[] = [];
  let serveSettings: readonly ServeSettings[] = [];
  if (layers.file !== undefined) {
    const { path, table } = layers.file;
    if (table[MODULES_SECTION] !== undefined) {
      const modules = collectModuleSettings(table[MODULES_SECTION], path);
      moduleSettings = modules.settings;
      listedModules = modules.listed;
      issues.push(...modules.issues);
    }
    if (table[SERVE_SECTION] !== undefined) {
      const serve = collectServeSettings(table[SERVE_SECTION], path);
      serveSettings = serve.settings;
      issues.push(...serve.issues);
    }
    for (const item of collectFileValues(table, path)) {
      if ("issue" in item) {
        issues.push(item.issue);
        continue;
      }
      const entry = findConfigKey(item.key)!;
      apply(entry, { source: "file", via: path }, entry.kind.fromToml(item.value));
    }
  }

  for (const entry of CONFIG_KEYS) {
    const text = layers.env?.[entry.env];
    // An empty variable counts as unset, as shells make `NX_X= nx run` the way to clear one.
    if (text === undefined || text === "") continue;
    apply(entry, { source: "env", via: entry.env }, entry.kind.fromText(text));
  }

  for (const [key, value] of Object.entries(layers.flags ?? {}) as [string, ConfigFlagValue | undefined][]) {
    if (value === undefined) continue;
    const entry = findConfigKey(key);
    if (entry === undefined) {
      issues.push({
        kind: "unknown-key",
        subject: key,
        source: "flag",
        message: "is not a configuration key",
      });
      continue;
    }
    apply(entry, { source: "flag", via: entry.flag.name }, entry.kind.fromText(flagText(value)));
  }

  const config = buildConfig(effective);
  issues.push(
    ...findContradictions(
      config,
      (key) => effective.get(key)!.origin,
      (key) => badKeys.has(key),
    ),
  );
  if (issues.length > 0) throw new ConfigError("invalid configuration", issues);

  return {
    config,
    // Asked of the map, not copied into a record of every key: a plain run asks for two, and the
    // record (fifty-odd keys added one by one) was 10 KB of the young generation it fills before
    // its first scavenge.
    sourceOf: (key) => effective.get(key)!.origin.source,
    notes,
    warnings: unknownEnvWarnings(layers.env ?? {}),
    configPath: layers.file?.path,
    moduleSettings,
    listedModules,
    serveSettings,
  };
}

export interface ResolveConfigOptions {
  /** Values from CLI flags, keyed by schema key. */
  readonly flags?: ConfigFlags;
  /** The environment to read `NX_*` variables from; pass `process.env`. */
  readonly env: ConfigEnv;
  /** numax.toml to read; none = defaults, environment and flags only. */
  readonly configPath?: string;
}

/**
 * The effective node configuration: CLI flag > `NX_*` environment > file > default.
 * Throws ConfigError (code `USAGE_CONFIG_INVALID`) naming every problem at once.
 *
 * @example
 * const { config, sourceOf } = await resolveConfig({ env: process.env, configPath: "numax.toml",
 *   flags: { "network.listen": "0.0.0.0:9000" } });
 * config.limits.reconnectInitialDelayMs; // 500
 * sourceOf("network.listen"); // "flag"
 */
export async function resolveConfig(options: ResolveConfigOptions): Promise<ResolvedConfig> {
  if (options.configPath === undefined)
    return resolveConfigLayers({ flags: options.flags, env: options.env });
  // smol-toml is only loaded when there is a file to read: `nx run` without one starts faster.
  const { readConfigFile } = await import("./config-file.ts");
  const read = await readConfigFile(options.configPath);
  return resolveConfigLayers({
    flags: options.flags,
    env: options.env,
    ...(read.ok ? { file: { path: options.configPath, table: read.table } } : { fileIssues: [read.issue] }),
  });
}
