import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { STORE_DIRECTORY_NAME } from "./datastore-layout.ts";
import { openDatastore } from "./open-datastore.ts";
import { StoreError } from "./store-error.ts";

/**
 * `nx migrate --datastore-path DIR`: brings a stopped node's store to this build's format offline
 * (what `nx run` would do when it opens it) and says what it did in one line. A directory without
 * a store is refused rather than made into a new one.
 */
export async function migrateDatastore(path: string, out: { write(text: string): unknown }): Promise<void> {
  const datastorePath = resolve(path);
  if (!existsSync(join(datastorePath, STORE_DIRECTORY_NAME, "data.mdb"))) {
    throw new StoreError(
      "STORE_OPEN_FAILED",
      `${datastorePath} holds no store (no ${STORE_DIRECTORY_NAME}/data.mdb): name the datastore directory of a node`,
    );
  }
  const { backend, format } = await openDatastore({ path: datastorePath });
  const { from, to, backupPath } = format;
  await backend.close();
  out.write(
    backupPath === undefined
      ? `datastore ${backend.datastorePath}: store format ${to}, nothing to migrate\n`
      : `datastore ${backend.datastorePath}: migrated from store format ${from} to ${to} (the store as it was: ${backupPath})\n`,
  );
}
