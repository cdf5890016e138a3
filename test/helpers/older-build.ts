import { execFileSync, spawnSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./nx-process.ts";

/**
 * The last commit before wire features: its build is the "older peer" every build of wire
 * version 3 must stay compatible with (docs/design/wire-protocol.md#features).
 */
export const BEFORE_FEATURES_COMMIT = "1fa890d";

/** Why tests of the older build are skipped in this clone (a shallow one), or false. */
export const olderBuildMissing: string | false =
  spawnSync("git", ["-C", REPO_ROOT, "cat-file", "-e", `${BEFORE_FEATURES_COMMIT}^{commit}`]).status === 0
    ? false
    : `commit ${BEFORE_FEATURES_COMMIT} is not in this clone`;

/**
 * Writes that commit's `bin/`, `src/` and package.json under `dir/older/` (with this checkout's
 * node_modules), so its code can be imported or its `nx` run from source; returns the tree.
 */
export function extractOlderBuild(dir: string): string {
  const tar = join(dir, "older.tar");
  execFileSync("git", [
    "-C",
    REPO_ROOT,
    "archive",
    `--output=${tar}`,
    "--prefix=older/",
    BEFORE_FEATURES_COMMIT,
    "bin",
    "src",
    "package.json",
  ]);
  execFileSync("tar", ["-x", "-f", tar, "-C", dir]);
  const tree = join(dir, "older");
  symlinkSync(join(REPO_ROOT, "node_modules"), join(tree, "node_modules"));
  return tree;
}
