import type { Command } from "commander";
import { addConfigOptions, configFlagsFromOptions } from "../../config/cli-options.ts";
import { EXIT_OK, EXIT_USAGE } from "../exit-codes.ts";

// `nx config init|validate|show`. Declarations only: each action imports its implementation
// lazily, so that the TOML parser and the rest stay unloaded for every other command.
export function defineConfigCommand(program: Command): void {
  const config = program
    .command("config")
    .description("create, validate and inspect numax.toml")
    .addHelpText(
      "after",
      "\nPrecedence of every setting: CLI flag > NX_* environment variable > numax.toml > default.\nWithout --config, ./numax.toml is read when it exists.\nReference: docs/configuration.md",
    );

  config
    .command("init")
    .description("write a commented numax.toml with every key at its default (to ./numax.toml unless told)")
    .option("-o, --output <file>", "write to this file instead of ./numax.toml (`-` for stdout)")
    .option("--stdout", "print the template instead of writing a file")
    .option("--force", "overwrite the output file if it exists")
    .action(async (options: { output?: string; stdout?: boolean; force?: boolean }) => {
      const { runConfigInit } = await import("../../config/config-commands.ts");
      await runConfigInit(options, process.stdout);
    });

  config
    .command("validate")
    .description("check a config file without running anything; lists every problem")
    .option("--config <file>", "the file to check (default: ./numax.toml)")
    .option("--json", "print the result as one JSON object (exit code 2 when invalid)")
    .action(async (options: { config?: string; json?: boolean }) => {
      const { runConfigValidate } = await import("../../config/config-commands.ts");
      process.exitCode = (await runConfigValidate(options, process.stdout)) ? EXIT_OK : EXIT_USAGE;
    });

  const show = config
    .command("show")
    .description("print the values a file sets, or with --effective every effective value and its source")
    .option("--effective", "every key, with flags, NX_* variables, the file and defaults applied")
    .option("--json", "print JSON instead of a table");
  addConfigOptions(show).action(async (options: Record<string, unknown>) => {
    const { runConfigShow } = await import("../../config/config-commands.ts");
    const { flags, configPath } = configFlagsFromOptions(options);
    await runConfigShow(
      {
        flags,
        env: process.env,
        effective: options.effective === true,
        json: options.json === true,
        ...(configPath === undefined ? {} : { config: configPath }),
      },
      process.stdout,
      process.stderr,
    );
  });
}
