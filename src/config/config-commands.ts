import { writeFile } from "node:fs/promises";
import { NumaxError } from "../errors/numax-error.ts";
import { ConfigError } from "./config-error.ts";
import { readConfigFile } from "./config-file.ts";
import { renderConfigTemplate } from "./config-template.ts";
import { chooseConfigFile, DEFAULT_CONFIG_FILE } from "./default-config-file.ts";
import {
  effectiveValues,
  renderEffectiveJson,
  renderEffectiveText,
  serveListenerValues,
} from "./effective-config-view.ts";
import {
  type ConfigEnv,
  type ConfigFlags,
  type ResolvedConfig,
  resolveConfig,
  resolveConfigLayers,
} from "./resolve.ts";

/** Where a command prints its result (process.stdout in the CLI). */
export interface CommandOutput {
  write(text: string): unknown;
}

/** Where `nx config init` writes: a file (`./numax.toml` by default), or stdout with `--stdout` or `-o -`. */
export interface InitOptions {
  readonly output?: string;
  readonly stdout?: boolean;
  readonly force?: boolean;
}

/** `nx config init [-o FILE|-] [--stdout] [--force]`: the commented template, to ./numax.toml, a file or stdout. */
export async function runConfigInit(options: InitOptions, out: CommandOutput): Promise<void> {
  const template = renderConfigTemplate();
  if (options.stdout === true || options.output === "-") {
    out.write(template);
    return;
  }
  const target = options.output ?? DEFAULT_CONFIG_FILE;
  try {
    // "wx" refuses an existing file atomically: no window between a check and the write.
    await writeFile(target, template, { flag: options.force ? "w" : "wx" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      throw new NumaxError(
        "USAGE_CONFIG_EXISTS",
        `${target} already exists; pass --force to overwrite it (or --stdout to print the template)`,
      );
    }
    const why =
      code === "ENOENT"
        ? "its directory does not exist"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : (code ?? String(error));
    throw new NumaxError("USAGE_CONFIG_WRITE", `cannot write ${target}: ${why}`, { cause: error });
  }
  out.write(
    options.output === undefined
      ? `wrote ${target}: nx run and nx config read it when run in this directory without --config\n`
      : `wrote ${target}\n`,
  );
}

/** Validates the file alone (defaults fill the rest; the environment is not consulted). */
async function resolveFileOnly(path: string): Promise<ResolvedConfig> {
  const read = await readConfigFile(path);
  if (!read.ok) throw new ConfigError(`cannot use ${path}`, [read.issue]);
  return resolveConfigLayers({ file: { path, table: read.table } });
}

/** The file a command reads: `--config FILE`, else ./numax.toml; a usage error when neither exists. */
function requireConfigFile(configPath: string | undefined): string {
  const choice = chooseConfigFile(configPath);
  if (choice === undefined) {
    throw new NumaxError(
      "USAGE_CONFIG_MISSING",
      `no ${DEFAULT_CONFIG_FILE} in the working directory: pass --config FILE (nx config init writes one)`,
    );
  }
  return choice.path;
}

/**
 * `nx config validate [--config FILE] [--json]`: "ok" or a ConfigError naming every problem.
 * With `--json`, one object on stdout either way (`ok`, `configPath`, `issues`, `notes`), and the
 * result says which (false when invalid: the CLI exits 2).
 */
export async function runConfigValidate(
  options: { config?: string; json?: boolean },
  out: CommandOutput,
): Promise<boolean> {
  const path = requireConfigFile(options.config);
  let resolved: ResolvedConfig;
  try {
    resolved = await resolveFileOnly(path);
  } catch (error) {
    if (!(options.json === true && error instanceof ConfigError)) throw error;
    out.write(`${JSON.stringify({ ok: false, configPath: path, issues: error.issues, notes: [] })}\n`);
    return false;
  }
  if (options.json === true) {
    out.write(`${JSON.stringify({ ok: true, configPath: path, issues: [], notes: resolved.notes })}\n`);
    return true;
  }
  out.write(`ok: ${path} is valid\n`);
  for (const note of resolved.notes) out.write(`note: ${note}\n`);
  return true;
}

export interface ShowOptions {
  readonly config?: string;
  /** Every key with flags, environment and defaults applied; otherwise only what the file sets. */
  readonly effective?: boolean;
  readonly json?: boolean;
  readonly flags: ConfigFlags;
  readonly env: ConfigEnv;
}

/**
 * `nx config show [--config FILE] [--effective] [--json]`; without `--config`, ./numax.toml when
 * it exists (as `nx run` reads it). Warnings about mistyped `NX_*` variables go to `err`.
 */
export async function runConfigShow(
  options: ShowOptions,
  out: CommandOutput,
  err: CommandOutput = { write: () => {} },
): Promise<void> {
  let resolved: ResolvedConfig;
  const flagsGiven = Object.values(options.flags).some((value) => value !== undefined);
  if (flagsGiven && !options.effective) {
    throw new NumaxError("USAGE_CONFIG_SHOW", "configuration flags only apply with --effective");
  }
  const configPath = chooseConfigFile(options.config)?.path;
  if (options.effective) {
    resolved = await resolveConfig({ flags: options.flags, env: options.env, configPath });
    for (const warning of resolved.warnings) err.write(`nx: warning: ${warning}\n`);
  } else if (configPath !== undefined) {
    resolved = await resolveFileOnly(configPath);
  } else {
    throw new NumaxError("USAGE_CONFIG_SHOW", "nothing to show: pass --config FILE, --effective, or both");
  }
  const rows = effectiveValues(resolved).filter((row) => options.effective || row.source === "file");
  const serveRows = serveListenerValues(resolved, options.effective === true);
  out.write(
    options.json
      ? renderEffectiveJson(rows, resolved.notes, resolved.configPath, serveRows)
      : renderEffectiveText(rows, resolved.notes, serveRows),
  );
}
