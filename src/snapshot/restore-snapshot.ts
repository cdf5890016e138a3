import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { makeDirectoryDurably, renameDurably, syncDirectory } from "../fs/durable-files.ts";
import type { NodeId } from "../identity/node-id.ts";
import { newDatastoreProblem, STORE_DIRECTORY_NAME } from "../store/datastore-layout.ts";
import { openLmdbEnvironment } from "../store/lmdb-environment.ts";
import { STORE_FORMAT_VERSION } from "../store/store-format.ts";
import { NODE_ID_KEY } from "../sync/replica/replica-layout.ts";
import { SnapshotError } from "./snapshot-error.ts";
import { extractSnapshotBody, readSnapshotFileInfo, type SnapshotHeader } from "./snapshot-file.ts";

export interface RestoreOptions {
  /** The datastore to create: absent or an empty directory. */
  readonly datastorePath: string;
  /**
   * The identity of the node that will open the datastore (its certificate's, `--tls-cert`),
   * when known: a snapshot of another node is refused unless `newIdentity`.
   */
  readonly nodeId?: NodeId;
  /**
   * Start a new node from another node's data (`--new-identity`): the snapshot's identity is
   * left out, so the node uses its certificate's or makes a fresh one, and carries on the other
   * node's ops as a peer's.
   */
  readonly newIdentity?: boolean;
  /**
   * Keep the snapshot's identity although nothing checks it (`--same-identity`): the restore of
   * a node's own backup, without `nodeId`. Without `nodeId`, one of `sameIdentity` and
   * `newIdentity` must be given for a snapshot that carries an identity.
   */
  readonly sameIdentity?: boolean;
}

export interface RestoreResult {
  readonly header: SnapshotHeader;
  readonly datastorePath: string;
  /** The identity the restored datastore carries (null: the node gets its certificate's or a fresh one). */
  readonly nodeId: NodeId | null;
  readonly bodyBytes: number;
}

/**
 * Whether the restored store keeps the snapshot's identity. Two nodes must never share one:
 * each numbers its own ops, and peers drop an op whose (node, number) they have seen. So a
 * snapshot's identity is kept only when the certificate given is that node's or the caller
 * said so (`sameIdentity`); never by default, since a copy of a running node is a clone.
 */
function restoredIdentity(
  header: SnapshotHeader,
  options: Pick<RestoreOptions, "nodeId" | "newIdentity" | "sameIdentity">,
  file: string,
): NodeId | null {
  if (options.newIdentity === true && options.sameIdentity === true) {
    throw new SnapshotError(
      "SNAPSHOT_IDENTITY_UNCHOSEN",
      "--same-identity and --new-identity exclude each other: give one",
    );
  }
  if (options.newIdentity === true) return null;
  if (options.nodeId !== undefined && header.nodeId !== null && header.nodeId !== options.nodeId) {
    throw new SnapshotError(
      "SNAPSHOT_IDENTITY_MISMATCH",
      `${file} was taken on node ${header.nodeId}, but the certificate given is node ${options.nodeId}'s: pass --new-identity to start node ${options.nodeId} from that node's data`,
    );
  }
  if (options.nodeId === undefined && header.nodeId !== null && options.sameIdentity !== true) {
    throw new SnapshotError(
      "SNAPSHOT_IDENTITY_UNCHOSEN",
      `${file} was taken on node ${header.nodeId} and nothing checks which node will open the datastore: pass --new-identity to start a new node from its data, --same-identity to restore node ${header.nodeId} itself (never beside a running copy of it), or --tls-cert with the certificate of the node that will open it`,
    );
  }
  return header.nodeId;
}

/**
 * Refuses a snapshot of a store newer than this build reads (format 2 headers say which), before
 * anything is written: restored, it would only be refused when a node opened it
 * (STORE_FORMAT_NEWER).
 */
function assertReadableStore(header: SnapshotHeader, file: string): void {
  const format = header.storeFormatVersion;
  if (format !== undefined && format > STORE_FORMAT_VERSION) {
    throw new SnapshotError(
      "SNAPSHOT_STORE_FORMAT_NEWER",
      `${file} holds a store of format ${format}, written by Numax ${header.numaxVersion}; this build reads store formats up to ${STORE_FORMAT_VERSION}: restore it with that version or newer`,
    );
  }
}

/** Refuses a datastore path holding anything: a restore never overwrites a store. */
async function assertEmptyTarget(path: string): Promise<void> {
  const problem = await newDatastoreProblem(path);
  if (problem !== undefined) {
    throw new SnapshotError(
      "SNAPSHOT_TARGET_NOT_EMPTY",
      `datastore ${path} ${problem}: restore into a new or empty directory (a restore never overwrites a store)`,
    );
  }
}

/**
 * Restores snapshot `file` into a new datastore: checks the file's prefix and the identity,
 * copies the body into `store-restoring/` (no dot: lmdb-js takes a path with an extension for a file) while checking the checksum, then renames that to
 * `store/` and fsyncs the datastore directory, so a datastore has a store only once the whole
 * snapshot is in it and checked, and keeps it through a power cut once this returns (the
 * directories it made and store-restoring/'s entries are fsynced before the rename).
 */
export async function restoreSnapshot(file: string, options: RestoreOptions): Promise<RestoreResult> {
  const { header } = await readSnapshotFileInfo(file);
  assertReadableStore(header, file);
  const nodeId = restoredIdentity(header, options, file);
  const datastorePath = resolve(options.datastorePath);
  await assertEmptyTarget(datastorePath);
  const restoring = join(datastorePath, `${STORE_DIRECTORY_NAME}-restoring`);
  await makeDirectoryDurably(restoring, 0o700);
  try {
    const info = await extractSnapshotBody(file, join(restoring, "data.mdb"));
    if (nodeId === null && header.nodeId !== null) await forgetIdentity(restoring);
    // data.mdb's entry is store-restoring/'s: durable before the directory is renamed into place.
    await syncDirectory(restoring);
    await renameDurably(restoring, join(datastorePath, STORE_DIRECTORY_NAME));
    return { header, datastorePath, nodeId, bodyBytes: info.bodyBytes };
  } catch (error) {
    await rm(restoring, { recursive: true, force: true });
    throw error;
  }
}

async function forgetIdentity(storePath: string): Promise<void> {
  const db = openLmdbEnvironment(storePath);
  try {
    await db.remove(NODE_ID_KEY);
  } finally {
    await db.close();
  }
}
