#!/usr/bin/env node
// Entry of the `numax` command (`nx` is its alias). Plain JavaScript on purpose: the on-disk
// compile cache must be on before the first module loads, so that later starts skip compiling
// (and type stripping), and an older Node must reach the version check below without a syntax
// error.

/** A checkout holds the TypeScript sources; an installed package ships only the bundle. */
const sourceDir = new URL("../src", import.meta.url).pathname;

const major = Number(process.versions.node.split(".")[0]);
if (major < 26) {
  // A plain import: older Node versions lack process.getBuiltinModule, and this path is not timed.
  const { existsSync } = await import("node:fs");
  const hint = existsSync(sourceDir)
    ? "run it as `npx nx` from the repository (npm ci installs Node 26 there)"
    : "install Node.js 26 or newer (https://nodejs.org) and put it first on PATH";
  process.stderr.write(`nx: error: Numax needs Node.js 26 or newer, this is ${process.version}; ${hint}\n`);
  process.exit(2);
}
// process.getBuiltinModule, not `import`: an ESM import of a built-in builds a namespace of all
// its exports, which for node:fs costs a few milliseconds of every start.
const { existsSync, readdirSync, statSync } = process.getBuiltinModule("node:fs");
const inCheckout = existsSync(sourceDir);
process.getBuiltinModule("node:module").enableCompileCache();

/** Newest modification time of the TypeScript sources (about a millisecond for the whole tree). */
function newestSourceMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The bundle in build/cli/ (scripts/build-cli.ts, run by `npm ci`, `npm test` and `npm pack`)
 * starts several times faster than ~120 separate source modules. In a checkout it is used only
 * while it is newer than every source file, so edits run at once, from source, until the next
 * build; an installed package has no sources and always runs the bundle.
 */
function bundleIfFresh() {
  const bundle = new URL("../build/cli/main.js", import.meta.url);
  if (!inCheckout) return bundle.href;
  if (process.env.NX_FROM_SOURCE === "1") return undefined;
  try {
    return statSync(bundle).mtimeMs >= newestSourceMs(sourceDir) ? bundle.href : undefined;
  } catch {
    return undefined;
  }
}

const { main } = await import(bundleIfFresh() ?? "../src/cli/main.ts");
process.exitCode = await main(process.argv);
