import type { Command } from "commander";
import { describeError } from "../../errors/numax-error.ts";
import { EXIT_USAGE } from "../exit-codes.ts";

/**
 * Runs a diagnosis action and sets its exit code; a DiagnoseError (no store, unreadable file)
 * or a StoreError is one line and exit 2.
 */
async function diagnoseAction(action: () => Promise<number>): Promise<void> {
  const [{ DiagnoseError }, { StoreError }] = await Promise.all([
    import("../../diagnose/diagnose-error.ts"),
    import("../../store/store-error.ts"),
  ]);
  try {
    process.exitCode = await action();
  } catch (error) {
    if (!(error instanceof DiagnoseError || error instanceof StoreError)) throw error;
    process.stderr.write(`nx: error: ${describeError(error)}\n`);
    process.exitCode = EXIT_USAGE;
  }
}

const commands = () => import("../../diagnose/diagnose-commands.ts");

// `nx inspect`, `nx diff` (docs/guides/diagnosing-divergence.md). Declarations only.
export function defineDiagnoseCommands(program: Command): void {
  program
    .command("inspect")
    .argument("<key>", "the CRDT's key")
    .description(
      "one key's CRDTs in a datastore: family, value, last writer, tombstones, every cell of the state",
    )
    .requiredOption("--datastore-path <dir>", "the datastore (a node may be running on it)")
    .option("--family <family>", "only this family (gcounter, pncounter, lww-register, lww-map, orset, rga)")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExit codes: 0 found, 1 no CRDT under the key, 2 bad input (no store there).")
    .action((key: string, options) =>
      diagnoseAction(async () => (await commands()).runInspect(key, options, process.stdout, process.stderr)),
    );

  program
    .command("diff")
    .argument("<dir-a>", "a datastore")
    .argument("<dir-b>", "another datastore")
    .description("the keys whose replicated state differs between two datastores, and how")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExit codes: 0 the replicated state is the same, 1 it differs (the keys are listed), 2 bad input.",
    )
    .action((dirA: string, dirB: string, options) =>
      diagnoseAction(async () => (await commands()).runDiff(dirA, dirB, options, process.stdout)),
    );
}
