import type { Command } from "commander";
import { addConfigOptions } from "../../config/cli-options.ts";
import { RUN_ONLY_FLAGS } from "../run-flags.ts";
import { optionOf, runInvocationOf } from "./run.ts";

/** `nx dev [PATH]`: declaration only; the builder, watcher and node load when it runs. */
export function defineDevCommand(program: Command): void {
  const command = program
    .command("dev")
    .description(
      "build a guest project (nx new), run it on a local node, and on every change of its sources rebuild it and hot-reload it; build errors show without stopping the node",
    )
    .argument("[path]", "the project's directory", ".");
  for (const flag of RUN_ONLY_FLAGS) command.addOption(optionOf(flag));
  addConfigOptions(command);
  command.action(async (path: string, _options: unknown, self: Command) => {
    const { devCommand } = await import("../dev-command.ts");
    const { configPath, flags, options } = runInvocationOf([], self.opts());
    process.exitCode = await devCommand(path, { configPath, flags, options });
  });
}
