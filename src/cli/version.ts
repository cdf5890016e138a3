import { readFileSync } from "node:fs";

// Read as a file, not `require`d: require resolves the path through the module loader, about
// 1-2 ms of every `nx run` (bench/run-startup.ts). The bundle is build/cli/main.cjs, so the
// package root is two levels up from it, as from this file.
export const NUMAX_VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
