import { Command, CommanderError } from "commander";
import { defineCertCommand } from "../../../src/cli/commands/cert.ts";
import { describeError, NumaxError } from "../../../src/errors/numax-error.ts";

// Runs `nx cert …` in a real process exactly as src/cli/main.ts handles errors, so the CLI tests
// do not depend on the command being registered in the program yet.
const program = new Command("nx")
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });
defineCertCommand(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`nx: error: ${describeError(error)}\n`);
    process.exitCode = error instanceof NumaxError && error.code.startsWith("USAGE") ? 2 : 1;
  }
}
