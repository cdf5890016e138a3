import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * The git work tree that `path` (existing or not) lies in, or undefined: the nearest ancestor
 * holding a `.git` entry (a directory, or the file a linked work tree or submodule has). Read
 * from the file system alone, so `nx cert` needs no git binary.
 *
 * @example findGitWorkTree("certs/ca") // "/home/me/numax" when run in a clone of numax
 */
export function findGitWorkTree(path: string): string | undefined {
  for (let current = resolve(path); ; current = dirname(current)) {
    if (statSync(join(current, ".git"), { throwIfNoEntry: false }) !== undefined) return current;
    if (dirname(current) === current) return undefined;
  }
}
