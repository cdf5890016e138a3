import type { ConfigFlags, ConfigFlagValue } from "../config/resolve.ts";
import { CONFIG_KEYS, type ConfigKey } from "../config/schema.ts";
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

interface DeclaredOptions {
  /** By long name, without the dashes. */
  readonly long: ReadonlyMap<string, DeclaredOption>;
  /** Options with a one-letter name (`-v`), by that letter; none takes a value. */
  readonly short: ReadonlyMap<string, DeclaredOption>;
}

let declaredOptions: DeclaredOptions | undefined;

function declared(): DeclaredOptions {
  if (declaredOptions !== undefined) return declaredOptions;
  const long = new Map<string, DeclaredOption>([
    [CONFIG_PATH_LONG_NAME, { long: CONFIG_PATH_LONG_NAME, takesValue: true, multiple: false }],
  ]);
  const short = new Map<string, DeclaredOption>();
  for (const flag of RUN_ONLY_FLAGS) {
    const parts = flagParts(flag.flags);
    const option = {
      long: parts.long,
      takesValue: parts.takesValue,
      multiple: flag.kind === "count" || flag.kind === "list",
    };
    long.set(parts.long, option);
    // A one-letter option taking a value (`-p 9000`, `-p9000`) would need more reading than this.
    if (parts.short !== undefined && !parts.takesValue) short.set(parts.short, option);
  }
  for (const entry of CONFIG_KEYS) {
    const name = entry.flag.name.slice(2);
    long.set(name, {
      long: name,
      takesValue: entry.flag.argument !== undefined,
      multiple: entry.flag.repeatable === true,
    });
  }
  declaredOptions = { long, short };
  return declaredOptions;
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
  const { long, short } = declared();
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
      const option = long.get(equals < 0 ? arg.slice(2) : arg.slice(2, equals));
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
        const option = short.get(letter);
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
