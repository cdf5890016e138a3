import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * `mkdir -p`, one level at a time, throwing the first level's own error (an `ErrnoException`).
 *
 * Node's `mkdirSync(path, { recursive: true })` (and its async form) cannot be used for paths a
 * user types: where the file system answers ENOENT for a directory whose parent exists (procfs:
 * `/proc/numax-data`), it retries the parent and the child forever, and on a read-only mount it
 * reports ENOENT instead of EROFS. Here such a level fails with its own ENOENT or EROFS.
 *
 * `mode` applies to the directories created (minus the umask), as with mkdir(2). A file where a
 * directory belongs fails with EEXIST, as in `mkdir -p`.
 */
export function createDirectories(path: string, mode?: number): void {
  const missing: string[] = [];
  let current = resolve(path);
  let stats = statSync(current, { throwIfNoEntry: false });
  while (stats === undefined) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
    stats = statSync(current, { throwIfNoEntry: false });
  }
  // The nearest existing level must be a directory, as mkdir -p requires.
  if (stats?.isDirectory() === false) {
    throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${current}'`), { code: "EEXIST" });
  }
  for (const directory of missing.reverse()) {
    try {
      mkdirSync(directory, { mode });
    } catch (error) {
      // Created meanwhile by someone else: as good as created here.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/** Why {@link createDirectories} failed, in words for a one-line error (the errno name as a last resort). */
export function creationFailureReason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  switch (code) {
    case "ENOENT":
      // A mkdir whose parent exists answers ENOENT only on a file system that takes no new directories.
      return "this file system does not allow creating directories";
    case "ENOTDIR":
    case "EEXIST":
      return "a part of the path is a file, not a directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "no space left on device";
    default:
      return message ?? String(error);
  }
}
