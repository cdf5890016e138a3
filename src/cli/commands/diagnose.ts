import type { Command } from "commander";
import { describeError } from "../../errors/numax-error.ts";
import { EXIT_USAGE } from "../exit-codes.ts";
import { numaxVersion } from "../version.ts";

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

// `nx inspect`, `nx diff`, `nx oplog export`, `nx replay` (docs/guides/diagnosing-divergence.md).
// Declarations only.
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

  program
    .command("oplog")
    .description("the op-log of a datastore")
    .command("export")
    .argument("<file>", "the op-log file to write (never overwritten)")
    .requiredOption("--datastore-path <dir>", "the datastore (a node may be running on it)")
    .description("write a datastore's op-log (every op it holds, in the order it applied them) as one file")
    .action((file: string, options) =>
      diagnoseAction(async () =>
        (await commands()).runOplogExport(
          file,
          { ...options, numaxVersion: numaxVersion() },
          process.stdout,
          process.stderr,
        ),
      ),
    );

  program
    .command("replay")
    .argument("<oplog>", "an op-log file written by nx oplog export")
    .argument("<dir>", "the datastore to create (absent or an empty directory)")
    .description("apply an exported op-log to a new, empty store")
    .option(
      "--deterministic",
      "the replayed store's own identity and clock from a seed (docs/design/determinism.md)",
    )
    .option("--seed <n>", "the seed of --deterministic (0 to 2^64-1, default 0)")
    .action((oplog: string, dir: string, options: { deterministic?: boolean; seed?: string }) =>
      diagnoseAction(async () => {
        const [{ createDeterminism, parseSeed }, { runReplay }, { DiagnoseError }] = await Promise.all([
          import("../../node/determinism.ts"),
          commands(),
          import("../../diagnose/diagnose-error.ts"),
        ]);
        const seed = options.seed === undefined ? 0n : parseSeed(options.seed);
        if (seed === undefined) {
          throw new DiagnoseError(
            "DIAGNOSE_BAD_ARGUMENT",
            `--seed ${options.seed}: expected an integer from 0 to 2^64-1`,
          );
        }
        const determinism = options.deterministic === true ? createDeterminism(seed) : undefined;
        return runReplay(oplog, dir, { determinism }, process.stdout, process.stderr);
      }),
    );
}
