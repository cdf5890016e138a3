import { Command, CommanderError } from "commander";
import type { StartupSignals } from "../node/run-modules.ts";
import { defineCertCommand } from "./commands/cert.ts";
import { defineConfigCommand } from "./commands/config.ts";
import { defineDevCommand } from "./commands/dev.ts";
import { defineDiagnoseCommands } from "./commands/diagnose.ts";
import { defineMigrateCommand } from "./commands/migrate.ts";
import { defineNewCommand } from "./commands/new.ts";
import { defineClientCommands } from "./commands/node-client.ts";
import { definePolicyCommand } from "./commands/policy.ts";
import { defineReleaseCommands } from "./commands/release.ts";
import { defineRunCommand } from "./commands/run.ts";
import { defineSnapshotCommand } from "./commands/snapshot.ts";
import { EXIT_OK, EXIT_USAGE } from "./exit-codes.ts";
import { numaxVersion } from "./version.ts";

/**
 * Builds the `nx` program. Command modules only declare flags here; each action imports its
 * implementation lazily so that `nx --help` starts fast.
 */
export function buildProgram(startupSignals?: StartupSignals): Command {
  const program = new Command("nx")
    .description(
      "Numax: run sandboxed WebAssembly guests next to an embedded store, in sync with other nodes.",
    )
    .version(numaxVersion(), "-V, --version", "print the version")
    // Taken by bin/nx.js before this program parses anything (every command has them, none sees
    // them): declared here for --help.
    .option(
      "--cpu-prof",
      "profile this command's main thread; written at exit (first flag: nx --cpu-prof run ...)",
    )
    .option("--cpu-prof-dir <dir>", "where --cpu-prof writes nx-<command>-<pid>.cpuprofile (right after it)")
    .exitOverride()
    // Commander's own errors (unknown flag or command, missing argument) follow the rule of every
    // nx failure: one line, `nx: error: ...`, saying where help is.
    .configureOutput({ outputError: (text, write) => write(`nx: ${text.trimEnd()} (see --help)\n`) });
  defineRunCommand(program, startupSignals);
  defineConfigCommand(program);
  defineCertCommand(program);
  defineNewCommand(program);
  defineDevCommand(program);
  defineClientCommands(program);
  definePolicyCommand(program);
  defineReleaseCommands(program);
  defineSnapshotCommand(program);
  defineDiagnoseCommands(program);
  defineMigrateCommand(program);
  return program;
}

/** Parses `argv` with commander and runs the command; returns the exit code, throws what the action threw. */
export async function runProgram(argv: readonly string[], startupSignals?: StartupSignals): Promise<number> {
  try {
    await buildProgram(startupSignals).parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT_OK;
  } catch (error) {
    // Commander already printed its message (or the help / version text).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    throw error;
  }
}
