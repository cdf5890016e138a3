import { type Command, Option } from "commander";
import { addConfigOptions, configFlagsFromOptions } from "../../config/cli-options.ts";
import type { StartupSignals } from "../../node/run-modules.ts";
import { RUN_ONLY_FLAGS, type RunFlag, type RunInvocation, type RunOnlyOptions } from "../run-flags.ts";

const countOccurrence = (_value: string, previous: number): number => previous + 1;
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function optionOf(flag: RunFlag): Option {
  const option = new Option(flag.flags, flag.description);
  if (flag.kind === "count") option.argParser(countOccurrence);
  if (flag.kind === "list") option.argParser(collect);
  if (flag.defaultValue !== undefined) option.default(flag.defaultValue);
  return option;
}

/** What commander parsed, in the shape both `nx run` parsers produce. */
export function runInvocationOf(
  modules: readonly string[],
  opts: Readonly<Record<string, unknown>>,
): RunInvocation {
  const options: Record<string, unknown> = {};
  for (const flag of RUN_ONLY_FLAGS) {
    const value = opts[optionOf(flag).attributeName()];
    if (value !== undefined) options[flag.key] = value;
  }
  return { modules, ...configFlagsFromOptions(opts), options: options as unknown as RunOnlyOptions };
}

// Declarations only: the node (store, sync, wasm runtime) is imported when the action runs.
// A plain `nx run` does not come here at all (see ../parse-run-arguments.ts); help, errors and
// unusual command lines do.
export function defineRunCommand(program: Command, startupSignals?: StartupSignals): void {
  const command = program
    .command("run")
    .description(
      "run WebAssembly guest modules (their exported run function) on a node; with --listen the node syncs CRDTs with its peers and, without --settle-for, keeps serving until SIGINT/SIGTERM",
    )
    .argument(
      "[modules...]",
      "guest .wasm files (after the ones numax.toml lists as [[modules]]); several run side by side as supervised processes, output prefixed by module",
    );
  for (const flag of RUN_ONLY_FLAGS) command.addOption(optionOf(flag));
  addConfigOptions(command);
  command.action(async (modules: string[], _options: unknown, self: Command) => {
    const { runCommand } = await import("../run-command.ts");
    process.exitCode = await runCommand(runInvocationOf(modules, self.opts()), startupSignals);
  });
}
