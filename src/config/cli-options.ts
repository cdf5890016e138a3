import { type Command, Option } from "commander";
import type { ConfigFlags, ConfigFlagValue } from "./resolve.ts";
import { CONFIG_KEYS, type ConfigKey, type ConfigKeyEntry } from "./schema.ts";
import { renderTomlValue } from "./toml-value.ts";

/**
 * The CLI side of the schema: every key's flag, declared on a commander command from the schema
 * (so `nx run` and `nx config show` can never drift from the file format), and the way back
 * from commander's parsed options to `ConfigFlags` keyed by schema key.
 */

/** The flag that sets each key, e.g. `"network.peers" → "--peer"`. */
export const CONFIG_FLAG_NAMES: Readonly<Record<ConfigKey, string>> = Object.fromEntries(
  CONFIG_KEYS.map((entry) => [entry.key, entry.flag.name]),
) as Record<ConfigKey, string>;

/** The option naming the config file. */
export const CONFIG_PATH_FLAG = "--config <file>";

function flagSyntax(entry: ConfigKeyEntry): string {
  return entry.flag.argument === undefined ? entry.flag.name : `${entry.flag.name} ${entry.flag.argument}`;
}

function helpText(entry: ConfigKeyEntry): string {
  const facts = [`env ${entry.env}`];
  if (entry.flag.switchValue !== undefined && entry.kind.typeName !== "boolean") {
    facts.unshift(`${entry.key} = ${JSON.stringify(entry.flag.switchValue)}`);
  } else if (entry.default !== undefined && !(Array.isArray(entry.default) && entry.default.length === 0)) {
    facts.push(`default ${renderTomlValue(entry.kind.toToml(entry.default))}`);
  }
  const repeat = entry.flag.repeatable ? " Repeatable." : "";
  return `${entry.flag.help ?? entry.doc}${repeat} [${facts.join(", ")}]`;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function optionOf(entry: ConfigKeyEntry): Option {
  const option = new Option(flagSyntax(entry), helpText(entry));
  if (entry.flag.repeatable) option.argParser(collect);
  return option;
}

/**
 * Declares `--config <file>` and one flag per configuration key on `command`. No commander
 * defaults are set: an absent flag must stay absent so that env, file and defaults apply.
 */
export function addConfigOptions(command: Command): Command {
  command.addOption(new Option(CONFIG_PATH_FLAG, "TOML configuration file (`nx config init` writes one)"));
  for (const entry of CONFIG_KEYS) command.addOption(optionOf(entry));
  return command;
}

/** Reads the options `addConfigOptions` declared back out of commander's `command.opts()`. */
export function configFlagsFromOptions(options: Readonly<Record<string, unknown>>): {
  flags: ConfigFlags;
  configPath: string | undefined;
} {
  const flags: Partial<Record<ConfigKey, ConfigFlagValue>> = {};
  for (const entry of CONFIG_KEYS) {
    const value = options[optionOf(entry).attributeName()];
    if (value === undefined) continue;
    flags[entry.key] =
      value === true && entry.flag.switchValue !== undefined
        ? entry.flag.switchValue
        : (value as ConfigFlagValue);
  }
  const configPath = options[new Option(CONFIG_PATH_FLAG).attributeName()];
  return { flags, configPath: typeof configPath === "string" ? configPath : undefined };
}
