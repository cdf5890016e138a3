import type { ConfigFlags, ConfigFlagValue } from "../config/resolve.ts";
import { CONFIG_KEYS, type ConfigKey } from "../config/schema.ts";
import { flagParts, RUN_ONLY_FLAGS, type RunInvocation, type RunOnlyOptions } from "./run-flags.ts";

/**
 * The fast path of `nx run`: a plain command line (`nx run a.wasm --datastore-path d ...`) is
 * read with node:util's parseArgs from the same declarations commander uses (RUN_ONLY_FLAGS and
 * the config schema), so that a tiny run does not load commander (a fifth of its start-up).
 *
 * It accepts only what it can read exactly as commander does and answers `undefined` for
 * anything else: help, an unknown or malformed flag, a missing module, `--`, a value starting
 * with `-`. Commander then parses the command line and prints its usual help or
 * `nx: error:` line, so errors have one wording, not two.
 */

/** The long name of `--config <file>` (cli-options.ts declares it for commander; a test keeps them equal). */
export const CONFIG_PATH_LONG_NAME = "config";

interface ParseArgsOption {
  readonly type: "string" | "boolean";
  readonly multiple: boolean;
  readonly short?: string;
}

let declaredOptions: Record<string, ParseArgsOption> | undefined;

function parseArgsOptions(): Record<string, ParseArgsOption> {
  if (declaredOptions !== undefined) return declaredOptions;
  const options: Record<string, ParseArgsOption> = {
    [CONFIG_PATH_LONG_NAME]: { type: "string", multiple: false },
  };
  for (const flag of RUN_ONLY_FLAGS) {
    const { short, long, takesValue } = flagParts(flag.flags);
    options[long] = {
      type: takesValue ? "string" : "boolean",
      multiple: flag.kind === "count" || flag.kind === "list",
      ...(short === undefined ? {} : { short }),
    };
  }
  for (const entry of CONFIG_KEYS) {
    options[entry.flag.name.slice(2)] = {
      type: entry.flag.argument === undefined ? "boolean" : "string",
      multiple: entry.flag.repeatable === true,
    };
  }
  declaredOptions = options;
  return options;
}

type ParsedValue = string | boolean | (string | boolean)[] | undefined;

/** The invocation `args` (the command line after `nx`) describes, or undefined to let commander parse it. */
export function parseRunArguments(args: readonly string[]): RunInvocation | undefined {
  if (args[0] !== "run") return undefined;
  let parsed: { values: Record<string, ParsedValue>; positionals: string[]; tokens: { kind: string }[] };
  try {
    // getBuiltinModule, not an import: an ESM import of node:util costs milliseconds of start-up.
    parsed = process.getBuiltinModule("node:util").parseArgs({
      args: args.slice(1),
      options: parseArgsOptions(),
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch {
    return undefined;
  }
  const { values, positionals, tokens } = parsed;
  if (
    positionals.length === 0 ||
    positionals.some((positional) => positional.startsWith("-")) ||
    tokens.some((token) => token.kind === "option-terminator")
  ) {
    return undefined;
  }

  const options: Record<string, unknown> = {};
  for (const flag of RUN_ONLY_FLAGS) {
    const value = values[flagParts(flag.flags).long];
    if (value === undefined) {
      if (flag.defaultValue !== undefined) options[flag.key] = flag.defaultValue;
    } else if (flag.kind === "count") {
      options[flag.key] = (value as boolean[]).length + ((flag.defaultValue as number | undefined) ?? 0);
    } else {
      options[flag.key] = value;
    }
  }
  const flags: Partial<Record<ConfigKey, ConfigFlagValue>> = {};
  for (const entry of CONFIG_KEYS) {
    const value = values[entry.flag.name.slice(2)];
    if (value === undefined) continue;
    // A switch standing for one value (`--debug-protocol` = json) sets that value.
    flags[entry.key] =
      value === true && entry.flag.switchValue !== undefined
        ? entry.flag.switchValue
        : (value as ConfigFlagValue);
  }
  const configPath = values[CONFIG_PATH_LONG_NAME];
  return {
    modules: positionals,
    configPath: typeof configPath === "string" ? configPath : undefined,
    flags: flags as ConfigFlags,
    options: options as unknown as RunOnlyOptions,
  };
}
