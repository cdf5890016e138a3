import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * rename(2), then an fsync of the directory `to` is in. A rename changes the directory, not the
 * file: until the directory is synced, a power cut can undo it although the file's own bytes
 * were synced (ext4's default journalling usually keeps it; other file systems and mount options
 * do not promise it). So a file made durable and then renamed into place is durable in place
 * only after this.
 */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  const directory = await open(dirname(to), "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
