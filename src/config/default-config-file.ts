import { statSync } from "node:fs";

/**
 * The file `nx run`, `nx config show --effective` and `nx config validate` read when no
 * `--config` is given, and the one `nx config init` writes: `numax.toml` in the working
 * directory, as `nx config init && nx run app.wasm` expects.
 */
export const DEFAULT_CONFIG_FILE = "numax.toml";

/** The config file to read: `configPath` when given, else ./numax.toml when it exists. */
export interface ConfigFileChoice {
  readonly path: string;
  /** True when the file was not named by `--config` but found in the working directory. */
  readonly implicit: boolean;
}

export function chooseConfigFile(configPath: string | undefined): ConfigFileChoice | undefined {
  if (configPath !== undefined) return { path: configPath, implicit: false };
  // Anything by that name counts (a directory too): reading it then reports what is wrong.
  return statSync(DEFAULT_CONFIG_FILE, { throwIfNoEntry: false }) === undefined
    ? undefined
    : { path: DEFAULT_CONFIG_FILE, implicit: true };
}
