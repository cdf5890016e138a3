import { readFileSync } from "node:fs";

let version: string | undefined;

/**
 * The version of Numax, from its package.json, read the first time it is asked for: a plain
 * `nx run` shows it nowhere, and parsing the file was 17 KB of the young generation it fills
 * before its first scavenge. Read as a file, not `require`d: require resolves the path through
 * the module loader, about 1-2 ms of every `nx run` (bench/run-startup.ts). The bundle is
 * build/cli/main.cjs, so the package root is two levels up from it, as from this file.
 */
export function numaxVersion(): string {
  version ??= (
    JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;
  return version;
}
