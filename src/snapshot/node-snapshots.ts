import { mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { makeDirectoryDurably } from "../fs/durable-files.ts";
import type { NodeId } from "../identity/node-id.ts";
import { STORE_FORMAT_VERSION } from "../store/store-format.ts";
import { RECORD_FORMAT_VERSION } from "../sync/replica/replica-layout.ts";
import { SnapshotError } from "./snapshot-error.ts";
import { readSnapshotFileInfo, type SnapshotHeader, sealSnapshotFile } from "./snapshot-file.ts";

/** A node's snapshots live in `<datastore>/snapshots/`, one export-format file each. */
const SNAPSHOTS_DIRECTORY_NAME = "snapshots";
const SNAPSHOT_FILE_EXTENSION = ".nxsnap";

/** One snapshot a node holds, as `GET /api/v1/snapshots` lists it. */
export interface SnapshotEntry {
  /** `YYYYMMDD-HHMMSS-mmm` (UTC) of its creation, `-N` added when two share a millisecond. */
  readonly id: string;
  /** The file on the node's disk (export format: copy it anywhere and `nx snapshot import` it). */
  readonly path: string;
  readonly bytes: number;
  readonly createdAt: string;
  readonly nodeId: NodeId | null;
}

const SNAPSHOT_ID_PATTERN = /^\d{8}-\d{6}-\d{3}(?:-\d{1,4})?$/;

function isSnapshotId(text: string): boolean {
  return SNAPSHOT_ID_PATTERN.test(text);
}

/** The id of a snapshot taken at `ms` (Unix ms). @example snapshotIdAt(0) // "19700101-000000-000" */
function snapshotIdAt(ms: number): string {
  const iso = new Date(ms).toISOString(); // 1970-01-01T00:00:00.000Z
  return `${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}-${iso.slice(20, 23)}`;
}

/** What a node's snapshots need of it. */
export interface SnapshotSource {
  readonly datastorePath: string;
  /** The node's identity, recorded in each snapshot's header. */
  nodeId(): NodeId | null;
  /** Writes a consistent, compacted copy of the store as `directory/data.mdb`. */
  copyStore(directory: string): Promise<void>;
  /** Unix ms, for the id and `createdAt`. */
  nowMs(): number;
  /** The Numax version writing the snapshots. */
  readonly numaxVersion: string;
}

/** The snapshots of a running node: `create` one at a time (ids never clash), `list` them. */
export interface NodeSnapshots {
  create(): Promise<SnapshotEntry>;
  list(): Promise<SnapshotEntry[]>;
}

export function nodeSnapshots(source: SnapshotSource): NodeSnapshots {
  const directory = join(source.datastorePath, SNAPSHOTS_DIRECTORY_NAME);
  let queue: Promise<unknown> = Promise.resolve();
  return {
    create() {
      const created = queue.then(() => createSnapshot(source, directory));
      queue = created.catch(() => {});
      return created;
    },
    list: () => listSnapshots(directory),
  };
}

async function createSnapshot(source: SnapshotSource, directory: string): Promise<SnapshotEntry> {
  // Durably: the snapshot's rename is synced in snapshots/, whose own entry a power cut could undo.
  await makeDirectoryDurably(directory, 0o700);
  const nowMs = source.nowMs();
  const taken = new Set((await readdir(directory)).map((name) => name.replace(SNAPSHOT_FILE_EXTENSION, "")));
  let id = snapshotIdAt(nowMs);
  for (let n = 2; taken.has(id); n++) id = `${snapshotIdAt(nowMs)}-${n}`;
  const header: Required<SnapshotHeader> = {
    nodeId: source.nodeId(),
    createdAt: new Date(nowMs).toISOString(),
    numaxVersion: source.numaxVersion,
    recordFormatVersion: RECORD_FORMAT_VERSION,
    storeFormatVersion: STORE_FORMAT_VERSION,
  };
  const path = join(directory, `${id}${SNAPSHOT_FILE_EXTENSION}`);
  const { bytes } = await writeStoreSnapshot(source.copyStore, header, path, directory);
  return { id, path, bytes, createdAt: header.createdAt, nodeId: header.nodeId };
}

/**
 * Copies a store with `copyStore` into a scratch directory under `scratchParent` (on the file
 * system of `file`) and seals the copy into snapshot `file`; the scratch directory is removed
 * whatever happens.
 */
export async function writeStoreSnapshot(
  copyStore: (directory: string) => Promise<void>,
  header: Required<SnapshotHeader>,
  file: string,
  scratchParent: string,
): Promise<{ bytes: number }> {
  const scratch = await mkdtemp(join(scratchParent, ".copy-"));
  try {
    await copyStore(scratch);
    return await sealSnapshotFile(join(scratch, "data.mdb"), header, file);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The snapshots in `directory`, oldest first; a damaged file is left out (its import says why). */
async function listSnapshots(directory: string): Promise<SnapshotEntry[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const entries: SnapshotEntry[] = [];
  for (const name of names.filter((n) => n.endsWith(SNAPSHOT_FILE_EXTENSION)).sort()) {
    const id = name.slice(0, -SNAPSHOT_FILE_EXTENSION.length);
    if (!isSnapshotId(id)) continue;
    const path = join(directory, name);
    try {
      const { header, fileBytes } = await readSnapshotFileInfo(path);
      entries.push({ id, path, bytes: fileBytes, createdAt: header.createdAt, nodeId: header.nodeId });
    } catch (error) {
      if (!(error instanceof SnapshotError)) throw error;
    }
  }
  return entries;
}
