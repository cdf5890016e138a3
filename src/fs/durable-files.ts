import { constants } from "node:fs";
import { copyFile, mkdir, open, rename } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/**
 * fsync of a directory: what makes an entry added to it (a rename, a new file) survive a power
 * cut. The entry's file having been synced is not enough: until the directory is synced a power
 * cut can undo the entry (ext4's default journalling usually keeps it; other file systems and
 * mount options do not promise it).
 */
export async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** rename(2), then an fsync of the directory `to` is in: a file synced and then renamed into place is durable in place only after this. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDirectory(dirname(to));
}

/**
 * Copies `from` to `to` (a new file: refused if it exists) with the kernel's copy, then fsyncs the
 * copy and the directory it is in, so that once this returns the copy survives a power cut.
 */
export async function copyFileDurably(from: string, to: string): Promise<void> {
  await copyFile(from, to, constants.COPYFILE_EXCL);
  const copy = await open(to, "r+");
  try {
    await copy.sync();
  } finally {
    await copy.close();
  }
  await syncDirectory(dirname(to));
}

/**
 * mkdir -p, then an fsync of the parent of every directory it made: a directory's entry is its
 * parent's, so without this a power cut can undo the directories along with what was put in them.
 */
export async function makeDirectoryDurably(path: string, mode: number): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  const top = resolve(first);
  for (let directory = resolve(path); ; directory = dirname(directory)) {
    await syncDirectory(dirname(directory));
    if (directory === top) return;
  }
}
