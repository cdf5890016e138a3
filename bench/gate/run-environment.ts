import { execFileSync } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { REPO_ROOT } from "./nx-process.ts";

/** Where and on what a gate ran: the code (git commit, dirty or not), Node and the machine. */
export interface RunEnvironment {
  readonly git_commit: string;
  /** Uncommitted changes in the tree: the figures are of the commit plus them. */
  readonly git_dirty: boolean;
  readonly node_version: string;
  readonly platform: string;
  readonly cpus: number;
  readonly load_average_1m: number;
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync("git", args, {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

export function runEnvironment(): RunEnvironment {
  return {
    git_commit: git(["rev-parse", "HEAD"]) ?? "unknown",
    git_dirty: (git(["status", "--porcelain", "--untracked-files=no"]) ?? "") !== "",
    node_version: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
    load_average_1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}
