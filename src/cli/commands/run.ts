import { type Command, Option } from "commander";

/** Options of `nx run` as commander parses them (strings: the config layer validates them). */
export interface RunCommandOptions {
  readonly datastorePath?: string;
  readonly config?: string;
  readonly logLevel?: string;
  readonly logFormat?: string;
  readonly verbose: number;
  readonly shutdownTimeout: string;
  readonly cpuMsPerRun?: string;
  readonly memoryMaxMb?: string;
}

const countVerbose = (_value: string, previous: number): number => previous + 1;

// Declarations only: the runner (store, wasm runtime) is imported when the action runs.
export function defineRunCommand(program: Command): void {
  program
    .command("run")
    .description("run WebAssembly guest modules (their exported run function) against the local store")
    .argument("<modules...>", "guest .wasm files; several run one after the other, output prefixed by module")
    .option(
      "--datastore-path <dir>",
      "directory for persistent data (default ./nx-data) [env NX_DATASTORE_PATH]",
    )
    .option("--config <file>", "TOML configuration file (`nx config init` writes one)")
    .option("--log-level <level>", "trace, debug, info, warn or error (default info) [env NX_LOG_LEVEL]")
    .option("--log-format <format>", "text or json (default text) [env NX_LOG_FORMAT]")
    .addOption(
      new Option("-v, --verbose", "raise the log level one step (repeatable)")
        .argParser(countVerbose)
        .default(0),
    )
    .option("--shutdown-timeout <duration>", "longest graceful shutdown after a signal (e.g. 10s)", "30s")
    .option(
      "--cpu-ms-per-run <ms>",
      "CPU budget of each guest run in ms (default: none) [env NX_CPU_MS_PER_RUN]",
    )
    .option(
      "--memory-max-mb <mb>",
      "cap on each guest's linear memory in MiB (default 256) [env NX_MEMORY_MAX_MB]",
    )
    .action(async (modules: string[], options: RunCommandOptions) => {
      const { runModulesCommand } = await import("../../node/run-modules-command.ts");
      process.exitCode = await runModulesCommand(modules, options);
    });
}
