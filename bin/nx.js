#!/usr/bin/env node
// Entry of the `nx` command. Plain JavaScript on purpose: the on-disk compile cache must be on
// before the first module loads, so that later starts skip compiling (and type stripping).

const major = Number(process.versions.node.split(".")[0]);
if (major < 26) {
  process.stderr.write(
    `nx: error: Numax needs Node.js 26 or newer, this is ${process.version}; run it as \`npx nx\` from the repository (npm ci installs Node 26 there)\n`,
  );
  process.exit(2);
}
// process.getBuiltinModule, not `import`: an ESM import of a built-in builds a namespace of all
// its exports, which for node:fs costs a few milliseconds of every start.
const { readdirSync, statSync } = process.getBuiltinModule("node:fs");
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
 * The bundle in build/cli/ (scripts/build-cli.ts, run by `npm ci` and `npm test`) starts several
 * times faster than ~120 separate source modules; it is used only while it is newer than every
 * source file, so edits run at once, from source, until the next build.
 */
function bundleIfFresh() {
  const bundle = new URL("../build/cli/main.js", import.meta.url);
  if (process.env.NX_FROM_SOURCE === "1") return undefined;
  try {
    const builtMs = statSync(bundle).mtimeMs;
    return builtMs >= newestSourceMs(new URL("../src", import.meta.url).pathname) ? bundle.href : undefined;
  } catch {
    return undefined;
  }
}

const { main } = await import(bundleIfFresh() ?? "../src/cli/main.ts");
process.exitCode = await main(process.argv);
