/**
 * A small tmpfs mounted by a test, to fill for real (as root; elsewhere `mount` fails and the
 * test skips with the reason). For tests of what the node does while its disk is full.
 */
import { execFileSync } from "node:child_process";
import { rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { type NxProcess, tempDir } from "./nx-process.ts";

export interface SmallDisk {
  readonly path: string;
  /** Fills the disk with a filler file until `leaveBytes` are free; returns the file to delete. */
  leaveFree(leaveBytes: number): string;
  unmount(): void;
}

/** The mounted disk, or why it cannot be mounted here. */
export function mountSmallDisk(
  sizeBytes: number,
  prefix: string,
): SmallDisk | { readonly skipReason: string } {
  const dir = tempDir(prefix);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes}`, "tmpfs", dir.path], { stdio: "pipe" });
  } catch (error) {
    dir.remove();
    return {
      skipReason: `cannot mount a tmpfs here (${String((error as { stderr?: unknown }).stderr ?? error).trim()}): the full-disk tests need root`,
    };
  }
  return {
    path: dir.path,
    leaveFree: (leaveBytes) => {
      const filler = join(dir.path, "filler");
      const { bavail, bsize } = statfsSync(dir.path);
      writeFileSync(filler, new Uint8Array(Math.max(0, Number(bavail) * Number(bsize) - leaveBytes)));
      return filler;
    },
    unmount: () => {
      execFileSync("umount", ["-l", dir.path]);
      rmSync(dir.path, { recursive: true, force: true });
    },
  };
}

/** A calling file's disk: the disk or why there is none, and the nodes started on it. */
export interface FileDisk {
  readonly disk: SmallDisk | undefined;
  readonly skipReason: string | undefined;
  /** Killed after the file's tests if still there, before the disk is unmounted. */
  readonly running: Set<NxProcess>;
}

/** Mounted before the calling file's tests, unmounted after them. */
export function smallDiskForFile(sizeBytes: number, prefix: string): FileDisk {
  const file: { disk?: SmallDisk; skipReason?: string; running: Set<NxProcess> } = { running: new Set() };
  before(() => {
    const mounted = mountSmallDisk(sizeBytes, prefix);
    if ("skipReason" in mounted) file.skipReason = mounted.skipReason;
    else file.disk = mounted;
  });
  after(() => {
    for (const nx of file.running) nx.child.kill("SIGKILL");
    file.disk?.unmount();
  });
  return file as FileDisk;
}
