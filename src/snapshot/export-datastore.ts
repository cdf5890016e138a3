import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { NodeId } from "../identity/node-id.ts";
import { STORE_DIRECTORY_NAME } from "../store/datastore-layout.ts";
import { openDatastore } from "../store/open-datastore.ts";
import { STORE_FORMAT_VERSION } from "../store/store-format.ts";
import { storedNodeIdOf } from "../sync/replica/node-identity.ts";
import { NODE_ID_KEY, RECORD_FORMAT_VERSION } from "../sync/replica/replica-layout.ts";
import { writeStoreSnapshot } from "./node-snapshots.ts";
import { SnapshotError } from "./snapshot-error.ts";
import { assertWritableOutput } from "./snapshot-file.ts";

/**
 * `nx snapshot export FILE --datastore-path DIR`: a snapshot of a datastore no node has open
 * (openLmdbBackend refuses one in use, STORE_LOCKED: export through the running node instead).
 */
export async function exportDatastore(
  datastorePath: string,
  file: string,
  options: { numaxVersion: string; nowMs: number },
): Promise<{ bytes: number; nodeId: NodeId | null }> {
  const path = resolve(datastorePath);
  if (!existsSync(join(path, STORE_DIRECTORY_NAME, "data.mdb"))) {
    throw new SnapshotError(
      "SNAPSHOT_SOURCE_EMPTY",
      `${path} holds no store (no ${STORE_DIRECTORY_NAME}/data.mdb): name the datastore directory a node ran with`,
    );
  }
  const output = resolve(file);
  await assertWritableOutput(output);
  const { backend } = await openDatastore({ path });
  try {
    const nodeId = storedNodeIdOf(backend.get(NODE_ID_KEY));
    const header = {
      nodeId,
      createdAt: new Date(options.nowMs).toISOString(),
      numaxVersion: options.numaxVersion,
      recordFormatVersion: RECORD_FORMAT_VERSION,
      storeFormatVersion: STORE_FORMAT_VERSION,
    };
    const { bytes } = await writeStoreSnapshot(
      (directory) => backend.copyCompacted(directory),
      header,
      output,
      dirname(output),
    );
    return { bytes, nodeId };
  } finally {
    await backend.close();
  }
}
