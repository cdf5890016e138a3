import type { Command } from "commander";
import { describeError } from "../../errors/numax-error.ts";
import { EXIT_USAGE } from "../exit-codes.ts";

// `nx migrate --datastore-path DIR` (docs/design/compatibility.md#store-format). Declaration only.
export function defineMigrateCommand(program: Command): void {
  program
    .command("migrate")
    .description(
      "bring a stopped node's datastore to this version's store format (a copy of it is kept first)",
    )
    .requiredOption("--datastore-path <dir>", "the datastore (no node may have it open)")
    .addHelpText(
      "after",
      "\nExit codes: 0 migrated or already current, 2 bad input (no store there, in use, written by a newer Numax).",
    )
    .action(async (options: { datastorePath: string }) => {
      const [{ migrateDatastore }, { StoreError }] = await Promise.all([
        import("../../store/migrate-datastore.ts"),
        import("../../store/store-error.ts"),
      ]);
      try {
        await migrateDatastore(options.datastorePath, process.stdout);
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        process.stderr.write(`nx: error: ${describeError(error)}\n`);
        process.exitCode = EXIT_USAGE;
      }
    });
}
