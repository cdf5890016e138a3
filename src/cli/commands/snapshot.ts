import type { Command } from "commander";
import { describeError } from "../../errors/numax-error.ts";
import { EXIT_USAGE } from "../exit-codes.ts";
import { numaxVersion } from "../version.ts";
import { withConnection } from "./node-client.ts";

/**
 * Runs a snapshot action: a SnapshotError (bad file, damaged bytes, occupied target) or a
 * StoreError of the datastore named (in use, not a store) is one line and exit 2.
 */
async function snapshotAction(action: () => Promise<void>): Promise<void> {
  const [{ SnapshotError }, { StoreError }] = await Promise.all([
    import("../../snapshot/snapshot-error.ts"),
    import("../../store/store-error.ts"),
  ]);
  try {
    await action();
  } catch (error) {
    if (!(error instanceof SnapshotError || error instanceof StoreError)) throw error;
    process.stderr.write(`nx: error: ${describeError(error)}\n`);
    process.exitCode = EXIT_USAGE;
  }
}

const commands = () => import("../../snapshot/snapshot-commands.ts");

const RESTORE_HELP = `
The datastore must be new or empty. --tls-cert names the certificate the node will run with: a
snapshot taken on another node is refused unless --new-identity (a new node starting from a
peer's data, which then syncs only the ops made after the snapshot). Without --tls-cert nothing
checks the identity, so choose: --new-identity, or --same-identity to restore the node the
snapshot was taken on (its own backup; two running nodes with one identity lose each other's ops).`;

function withRestoreFlags(command: Command): Command {
  return command
    .requiredOption("--datastore-path <dir>", "the new datastore (absent or an empty directory)")
    .option("--tls-cert <file>", "the certificate of the node that will open the datastore")
    .option("--new-identity", "start a new node from another node's snapshot")
    .option("--same-identity", "keep the snapshot's identity: restore the node it was taken on")
    .addHelpText("after", RESTORE_HELP);
}

// `nx snapshot ...` (docs/cli.md "Snapshots", docs/design/snapshots.md). Declarations only.
export function defineSnapshotCommand(program: Command): void {
  const snapshot = program
    .command("snapshot")
    .description("take, list, export and restore consistent copies of a node's store");

  withConnection(
    snapshot
      .command("create")
      .description("have the running node take a snapshot (kept in <datastore>/snapshots/)"),
  ).action((options) =>
    snapshotAction(async () => (await commands()).runSnapshotCreate(options, process.stdout)),
  );

  withConnection(snapshot.command("list").description("the running node's snapshots, oldest first")).action(
    (options) => snapshotAction(async () => (await commands()).runSnapshotList(options, process.stdout)),
  );

  withConnection(
    withRestoreFlags(
      snapshot
        .command("restore")
        .argument("<id>", "the snapshot's id (nx snapshot list)")
        .description("restore one of the running node's snapshots into a new datastore"),
    ),
  ).action((id: string, options) =>
    snapshotAction(async () => (await commands()).runSnapshotRestore(id, options, process.stdout)),
  );

  withConnection(
    snapshot
      .command("export")
      .argument("<file>", "the snapshot file to write (never overwritten)")
      .option("--datastore-path <dir>", "export this datastore offline (no node may have it open)")
      .description(
        "write a snapshot as one portable file: of the running node, or offline of --datastore-path",
      ),
  ).action((file: string, options) =>
    snapshotAction(async () =>
      (await commands()).runSnapshotExport(
        file,
        { ...options, numaxVersion: numaxVersion() },
        process.stdout,
      ),
    ),
  );

  withRestoreFlags(
    snapshot
      .command("import")
      .argument("<file>", "a snapshot file written by nx snapshot export")
      .option("--json", "print the result as JSON")
      .description("restore a snapshot file into a new datastore (offline)"),
  ).action((file: string, options) =>
    snapshotAction(async () => (await commands()).runSnapshotImport(file, options, process.stdout)),
  );
}
