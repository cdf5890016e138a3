import type { ConfigFlags, ConfigFlagValue } from "../config/resolve.ts";
import { CONFIG_KEYS, type ConfigKey, type ConfigKeyEntry } from "../config/schema.ts";
import { flagParts, RUN_ONLY_FLAGS, type RunInvocation, type RunOnlyOptions } from "./run-flags.ts";

/**
 * The fast path of `nx run`: a plain command line (`nx run a.wasm --datastore-path d ...`) is
 * read from the same declarations commander uses (RUN_ONLY_FLAGS and the config schema), so that
 * a tiny run does not load commander (a fifth of its start-up). It is read here rather than by
 * node:util's parseArgs, whose modules load and compile at every start (0.7 ms of CPU).
 *
 * It accepts only what it can read exactly as commander does and answers `undefined` for
 * anything else: help, an unknown or malformed flag, a missing module, `--`, a value starting
 * with `-`. Commander then parses the command line and prints its usual help or
 * `nx: error:` line, so errors have one wording, not two.
 */

/** The long name of `--config <file>` (cli-options.ts declares it for commander; a test keeps them equal). */
export const CONFIG_PATH_LONG_NAME = "config";

interface DeclaredOption {
  readonly long: string;
  readonly takesValue: boolean;
  readonly multiple: boolean;
}

const CONFIG_PATH_OPTION: DeclaredOption = { long: CONFIG_PATH_LONG_NAME, takesValue: true, multiple: false };

/** RUN_ONLY_FLAGS as options, with their one-letter names (`-v`). */
let runOnlyOptions: readonly (DeclaredOption & { readonly short?: string })[] | undefined;

function runOnly(): readonly (DeclaredOption & { readonly short?: string })[] {
  runOnlyOptions ??= RUN_ONLY_FLAGS.map((flag) => {
    const parts = flagParts(flag.flags);
    return {
      long: parts.long,
      short: parts.short,
      takesValue: parts.takesValue,
      multiple: flag.kind === "count" || flag.kind === "list",
    };
  });
  return runOnlyOptions;
}

/**
 * The declared option named `--<name>`, or undefined. Looked up in the declarations for each
 * option of the command line (a few), not gathered into a table of all ~70 at every start.
 */
function longOption(name: string): DeclaredOption | undefined {
  if (name === CONFIG_PATH_LONG_NAME) return CONFIG_PATH_OPTION;
  const runOption = runOnly().find((option) => option.long === name);
  if (runOption !== undefined) return runOption;
  const entry = configKeyOfFlag(name);
  if (entry === undefined) return undefined;
  return {
    long: name,
    takesValue: entry.flag.argument !== undefined,
    multiple: entry.flag.repeatable === true,
  };
}

/** True when `flag` (`--listen`) is `--<name>`, without making that string. */
function isFlagNamed(flag: string, name: string): boolean {
  return flag.length === name.length + 2 && flag.startsWith("--") && flag.endsWith(name);
}

/** The configuration key set by the flag `--<name>`, or undefined. */
function configKeyOfFlag(name: string): ConfigKeyEntry | undefined {
  return CONFIG_KEYS.find(({ flag }) => isFlagNamed(flag.name, name));
}

/**
 * The declared option named `-<letter>`, or undefined. A one-letter option taking a value
 * (`-p 9000`, `-p9000`) would need more reading than this: only switches.
 */
function shortOption(letter: string): DeclaredOption | undefined {
  return runOnly().find((option) => option.short === letter && !option.takesValue);
}

type ParsedValue = string | boolean | (string | boolean)[] | undefined;

/**
 * The options and modules of `args` (after `run`), as commander reads them, or undefined for
 * anything this does not read: an option not declared, a value missing or starting with `-`
 * (`--seed -1`), a value given to a switch (`--json=yes`), `--`, a lone `-`, a short option other
 * than the declared switches (`-vv` is `-v -v`). A repeated option keeps its last value, or all
 * of them when it may be repeated; a switch is `true`.
 */
function readArgs(
  args: readonly string[],
): { values: Record<string, ParsedValue>; positionals: string[] } | undefined {
  const values: Record<string, ParsedValue> = Object.create(null);
  const positionals: string[] = [];
  const store = (option: DeclaredOption, value: string | boolean) => {
    const stored = values[option.long];
    if (!option.multiple) values[option.long] = value;
    else if (Array.isArray(stored)) stored.push(value);
    else values[option.long] = [value];
  };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (!arg.startsWith("-")) {
      positionals.push(arg);
    } else if (arg.startsWith("--")) {
      const equals = arg.indexOf("=");
      const option = longOption(equals < 0 ? arg.slice(2) : arg.slice(2, equals));
      if (option === undefined) return undefined;
      if (!option.takesValue) {
        if (equals >= 0) return undefined;
        store(option, true);
      } else if (equals >= 0) {
        store(option, arg.slice(equals + 1));
      } else {
        const value = args[++index];
        if (value === undefined || value.startsWith("-")) return undefined;
        store(option, value);
      }
    } else {
      if (arg.length === 1) return undefined;
      for (const letter of arg.slice(1)) {
        const option = shortOption(letter);
        if (option === undefined) return undefined;
        store(option, true);
      }
    }
  }
  return { values, positionals };
}

/** The invocation `args` (the command line after `nx`) describes, or undefined to let commander parse it. */
export function parseRunArguments(args: readonly string[]): RunInvocation | undefined {
  if (args[0] !== "run") return undefined;
  const parsed = readArgs(args.slice(1));
  if (parsed === undefined || parsed.positionals.length === 0) return undefined;
  const { values, positionals } = parsed;

  const options: Record<string, unknown> = {};
  RUN_ONLY_FLAGS.forEach((flag, index) => {
    const value = values[runOnly()[index]!.long];
    if (value === undefined) {
      if (flag.defaultValue !== undefined) options[flag.key] = flag.defaultValue;
    } else if (flag.kind === "count") {
      options[flag.key] = (value as boolean[]).length + ((flag.defaultValue as number | undefined) ?? 0);
    } else {
      options[flag.key] = value;
    }
  });
  const flags: Partial<Record<ConfigKey, ConfigFlagValue>> = {};
  // In the schema's order, as commander gives them (the configuration's problems are listed in it).
  const given = Object.keys(values);
  for (const entry of CONFIG_KEYS) {
    const name = given.find((name) => isFlagNamed(entry.flag.name, name));
    if (name === undefined) continue;
    const value = values[name];
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
