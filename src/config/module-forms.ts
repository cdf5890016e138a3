/**
 * The section of numax.toml for modules, in one of two forms: `[modules.<id>]` tables (settings
 * of modules named on the command line) or a `[[modules]]` list (the modules to run, each with
 * its settings). module-settings.ts reads both; this file only tells a file that mixes them.
 */
export const MODULES_SECTION = "modules";

const LIST_HEADER = new RegExp(`^[ \\t]*\\[\\[[ \\t]*${MODULES_SECTION}[ \\t]*\\]\\]`, "m");
const TABLE_HEADER = new RegExp(`^[ \\t]*\\[[ \\t]*${MODULES_SECTION}[ \\t]*[.\\]]`, "m");

/**
 * The one line for a numax.toml that uses both module forms, `[[modules]]` and
 * `[modules.<id>]`, or undefined. Checked on the text: TOML reads the mix as a redefinition
 * error, or as a table inside the last `[[modules]]` entry, neither of which says what is wrong.
 */
export function mixedModuleFormsProblem(text: string): string | undefined {
  if (!LIST_HEADER.test(text) || !TABLE_HEADER.test(text)) return undefined;
  return `a file lists its modules as [[${MODULES_SECTION}]] or sets [${MODULES_SECTION}.<id>] tables, not both: move each [${MODULES_SECTION}.<id>] table's keys into the [[${MODULES_SECTION}]] entry of that module`;
}
