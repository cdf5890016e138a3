import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { childPath } from "../fs/child-path.ts";
import { createDirectories, creationFailureReason } from "../fs/create-directories.ts";
import { StoreError } from "./store-error.ts";

/**
 * A datastore is a directory. The LMDB environment lives in its `store/` subdirectory, so other
 * parts of the node can keep their files beside it (the compiled-module cache, for one).
 */
export const STORE_DIRECTORY_NAME = "store";

export interface DatastoreLayout {
  /** The datastore directory, absolute and with symlinks resolved. */
  readonly datastorePath: string;
  /** The LMDB environment directory inside it (`data.mdb`, `lock.mdb`). */
  readonly storePath: string;
}

/**
 * Why `path` cannot receive a new datastore (a restore, a replay: neither overwrites nor merges
 * into a store), in words that follow the path; undefined when it is absent or an empty
 * directory.
 *
 * @example
 * const problem = await newDatastoreProblem(path); // "is not empty (store, notes.txt)"
 */
export async function newDatastoreProblem(path: string): Promise<string | undefined> {
  let names: string[];
  try {
    if (!(await stat(path)).isDirectory()) return "is a file";
    names = await readdir(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    return `cannot be read (${code ?? String(error)})`;
  }
  if (names.length === 0) return undefined;
  return `is not empty (${names.slice(0, 3).join(", ")}${names.length > 3 ? ", ..." : ""})`;
}

/**
 * LMDB's meta page magic (`MDB_MAGIC`, little-endian), found right after the first page's header:
 * 16 bytes in LMDB 0.9, 24 in the LMDB 1.0 format that lmdb-js ships.
 */
const LMDB_MAGIC = 0xbeefc0de;
const LMDB_MAGIC_OFFSETS = [24, 16];
const HEADER_BYTES = 28;

/**
 * Creates the datastore directory and its `store/` subdirectory when missing, and checks that
 * an existing `data.mdb` is an LMDB file: LMDB trusts its file and crashes the whole process on
 * a foreign one, so this check is what turns that into an error.
 *
 * The file-system calls are synchronous: they run once, at start, before anything else could
 * use the event loop, and each asynchronous one would cost a round trip through the thread pool
 * (together a few milliseconds of every `nx run`).
 */
export async function prepareDatastore(path: string): Promise<DatastoreLayout> {
  const requested = resolve(path);
  assertDirectoryOrAbsent(requested);
  const storePath = childPath(requested, STORE_DIRECTORY_NAME);
  assertDirectoryOrAbsent(storePath);
  try {
    createDirectories(storePath);
  } catch (error) {
    throw storeErrorFromFs(error, requested, "create");
  }
  // The native realpath(3): the JavaScript one walks the path again with node:path, which
  // helps make its normalizeString hot at every start (src/fs/child-path.ts).
  const datastorePath = realpathSync.native(requested);
  const realStorePath = childPath(datastorePath, STORE_DIRECTORY_NAME);
  // An existing datastore the node may not write (read-only mount, another owner) fails here,
  // before the module cache or LMDB touch it, each of which would say so in words of its own.
  try {
    accessSync(storePath, constants.W_OK);
  } catch (error) {
    throw storeErrorFromFs(error, realStorePath, "open");
  }
  assertLmdbDataFile(childPath(realStorePath, "data.mdb"));
  return { datastorePath, storePath: realStorePath };
}

function assertDirectoryOrAbsent(path: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw storeErrorFromFs(error, path, "open");
  }
  if (!isDirectory) {
    throw new StoreError(
      "STORE_PATH_NOT_DIRECTORY",
      `datastore path ${path} is a file, not a directory: pass a directory (it is created when missing)`,
    );
  }
}

function assertLmdbDataFile(dataFile: string): void {
  let header: Buffer;
  let size: number;
  try {
    const fd = openSync(dataFile, "r");
    try {
      size = fstatSync(fd).size;
      header = Buffer.alloc(HEADER_BYTES);
      readSync(fd, header, 0, header.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw storeErrorFromFs(error, dataFile, "open");
  }
  // An empty file is what a crash during creation leaves; LMDB initialises it.
  if (size === 0) return;
  if (
    size < HEADER_BYTES ||
    !LMDB_MAGIC_OFFSETS.some((offset) => header.readUInt32LE(offset) === LMDB_MAGIC)
  ) {
    throw new StoreError(
      "STORE_CORRUPT",
      `${dataFile} is not an LMDB data file: restore the datastore from a backup or point --datastore-path elsewhere`,
    );
  }
}

/** One clear line for a failed file-system call on the datastore. */
function storeErrorFromFs(error: unknown, path: string, action: "create" | "open"): StoreError {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOTDIR":
    case "EEXIST":
      return new StoreError(
        "STORE_PATH_NOT_DIRECTORY",
        `cannot ${action} datastore ${path}: a part of the path is a file, not a directory`,
        { cause: error },
      );
    case "EACCES":
    case "EPERM":
      return new StoreError(
        "STORE_PERMISSION_DENIED",
        `cannot ${action} datastore ${path}: permission denied (${action === "open" ? "the node needs to write there: " : ""}check the directory's owner and mode)`,
        { cause: error },
      );
    case "EROFS":
      return new StoreError(
        "STORE_PERMISSION_DENIED",
        `cannot ${action} datastore ${path}: the file system is read-only (choose a writable directory)`,
        { cause: error },
      );
    case "ENOSPC":
      return new StoreError(
        "STORE_DISK_FULL",
        `cannot ${action} datastore ${path}: no space left on device`,
        {
          cause: error,
        },
      );
    case "ENOENT":
      return new StoreError(
        "STORE_PERMISSION_DENIED",
        `cannot ${action} datastore ${path}: ${creationFailureReason(error)} (choose a directory on a disk, e.g. ./nx-data)`,
        { cause: error },
      );
    default:
      return new StoreError(
        "STORE_OPEN_FAILED",
        `cannot ${action} datastore ${path}: ${(error as Error).message ?? String(error)}`,
        { cause: error },
      );
  }
}
