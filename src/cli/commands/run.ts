import { type Command, Option } from "commander";
import { addConfigOptions } from "../../config/cli-options.ts";

/** `nx run` options beyond the configuration keys (those are declared from the config schema). */
export interface RunOnlyOptions {
  readonly verbose: number;
  readonly shutdownTimeout: string;
  readonly waitBeforeRun?: string;
  readonly settleFor?: string;
  readonly json?: boolean;
  readonly printGcounter?: string[];
  readonly printPncounter?: string[];
  readonly printLwwRegister?: string[];
  readonly printLwwMap?: string[];
  readonly printOrset?: string[];
  readonly printRga?: string[];
}

const countVerbose = (_value: string, previous: number): number => previous + 1;
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const PRINT_FLAGS = [
  ["gcounter", "a GCounter, as `KEY = 12`"],
  ["pncounter", "a PNCounter, as `KEY = -3`"],
  ["lww-register", "an LWW-Register, as `KEY = value` or `KEY = <unset>`"],
  ["lww-map", "an LWW-Map, as `KEY = {field=value, other=value}`"],
  ["orset", "an ORSet, as `KEY = [a, b]` (sorted)"],
  ["rga", "an RGA sequence, as `KEY = [v1, v2]`"],
] as const;

// Declarations only: the node (store, sync, wasm runtime) is imported when the action runs.
export function defineRunCommand(program: Command): void {
  const command = program
    .command("run")
    .description(
      "run WebAssembly guest modules (their exported run function) on a node; with --listen the node syncs CRDTs with its peers and, without --settle-for, keeps serving until SIGINT/SIGTERM",
    )
    .argument("<modules...>", "guest .wasm files; several run side by side as supervised processes, output prefixed by module")
    .addOption(
      new Option("-v, --verbose", "raise the log level one step (repeatable)")
        .argParser(countVerbose)
        .default(0),
    )
    .option("--shutdown-timeout <duration>", "longest graceful shutdown (e.g. 10s)", "30s")
    .option(
      "--wait-before-run <duration>",
      "with sync: wait up to this long for the configured peers before running",
    )
    .option("--settle-for <duration>", "with sync: keep syncing this long after the modules ran, then exit")
    .option("--json", "print the --print-* values as one JSON object on stdout");
  for (const [family, what] of PRINT_FLAGS) {
    command.addOption(
      new Option(
        `--print-${family} <key>`,
        `print ${what} when the node stops (repeatable; needs sync)`,
      ).argParser(collect),
    );
  }
  addConfigOptions(command);
  command.action(async (modules: string[], _options: unknown, self: Command) => {
    const { runModulesCommand } = await import("../../node/run-modules-command.ts");
    process.exitCode = await runModulesCommand(modules, self.opts());
  });
}
