import { writeFile } from "node:fs/promises";
import { NumaxError } from "../errors/numax-error.ts";
import { ConfigError } from "./config-error.ts";
import { readConfigFile } from "./config-file.ts";
import { renderConfigTemplate } from "./config-template.ts";
import { effectiveValues, renderEffectiveJson, renderEffectiveText } from "./effective-config-view.ts";
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

/** `nx config init [--output FILE] [--force]`: the commented template, to stdout or a new file. */
export async function runConfigInit(
  options: { output?: string; force?: boolean },
  out: CommandOutput,
): Promise<void> {
  const template = renderConfigTemplate();
  if (options.output === undefined) {
    out.write(template);
    return;
  }
  try {
    // "wx" refuses an existing file atomically: no window between a check and the write.
    await writeFile(options.output, template, { flag: options.force ? "w" : "wx" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      throw new NumaxError(
        "USAGE_CONFIG_EXISTS",
        `${options.output} already exists; pass --force to overwrite it`,
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
    throw new NumaxError("USAGE_CONFIG_WRITE", `cannot write ${options.output}: ${why}`, { cause: error });
  }
  out.write(`wrote ${options.output}\n`);
}

/** Validates the file alone (defaults fill the rest; the environment is not consulted). */
async function resolveFileOnly(path: string): Promise<ResolvedConfig> {
  const read = await readConfigFile(path);
  if (!read.ok) throw new ConfigError(`cannot use ${path}`, [read.issue]);
  return resolveConfigLayers({ file: { path, table: read.table } });
}

/** `nx config validate --config FILE`: "ok" or a ConfigError naming every problem. */
export async function runConfigValidate(options: { config: string }, out: CommandOutput): Promise<void> {
  const resolved = await resolveFileOnly(options.config);
  out.write(`ok: ${options.config} is valid\n`);
  for (const note of resolved.notes) out.write(`note: ${note}\n`);
}

export interface ShowOptions {
  readonly config?: string;
  /** Every key with flags, environment and defaults applied; otherwise only what the file sets. */
  readonly effective?: boolean;
  readonly json?: boolean;
  readonly flags: ConfigFlags;
  readonly env: ConfigEnv;
}

/** `nx config show [--config FILE] [--effective] [--json]`. */
export async function runConfigShow(options: ShowOptions, out: CommandOutput): Promise<void> {
  let resolved: ResolvedConfig;
  const flagsGiven = Object.values(options.flags).some((value) => value !== undefined);
  if (flagsGiven && !options.effective) {
    throw new NumaxError("USAGE_CONFIG_SHOW", "configuration flags only apply with --effective");
  }
  if (options.effective) {
    resolved = await resolveConfig({ flags: options.flags, env: options.env, configPath: options.config });
  } else if (options.config !== undefined) {
    resolved = await resolveFileOnly(options.config);
  } else {
    throw new NumaxError("USAGE_CONFIG_SHOW", "nothing to show: pass --config FILE, --effective, or both");
  }
  const rows = effectiveValues(resolved).filter((row) => options.effective || row.source === "file");
  out.write(
    options.json
      ? renderEffectiveJson(rows, resolved.notes, resolved.configPath)
      : renderEffectiveText(rows, resolved.notes),
  );
}
