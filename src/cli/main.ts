import { describeError, NumaxError } from "../errors/numax-error.ts";
import { processStderr } from "../fs/stdio-writer.ts";
import type { StartupSignals } from "../node/run-modules.ts";
import { EXIT_RUN_FAILED, EXIT_USAGE } from "./exit-codes.ts";
import { parseRunArguments } from "./parse-run-arguments.ts";
import { runCommand } from "./run-command.ts";

/**
 * Runs the CLI and returns the process exit code; never throws. A plain `nx run` takes the fast
 * path (no commander, see parse-run-arguments.ts); everything else goes through the commander
 * program, loaded only then. run-command.ts is imported statically: the bundle of the run path
 * (build/cli/main.cjs, scripts/build-cli.ts) then runs its sources' top levels inline, not as
 * one wrapped function each (a smaller code cache: about 1 ms of every start).
 */
export async function main(argv: readonly string[], startupSignals?: StartupSignals): Promise<number> {
  try {
    const run = parseRunArguments(argv.slice(2));
    if (run !== undefined) return await runCommand(run, startupSignals);
    const { runProgram } = await import("./program.ts");
    return await runProgram(argv, startupSignals);
  } catch (error) {
    processStderr.write(`nx: error: ${describeError(error)}\n`);
    if (error instanceof NumaxError && error.commandExitCode !== undefined) return error.commandExitCode;
    if (error instanceof NumaxError && error.code.startsWith("USAGE")) return EXIT_USAGE;
    return EXIT_RUN_FAILED;
  }
}
