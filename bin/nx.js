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

/**
 * `nx --cpu-prof [--cpu-prof-dir DIR] <command> ...`: a V8 CPU profile of the node's main thread
 * for the whole command, from here (before the CLI loads) to exit, written then to
 * `DIR/nx-<command>-<pid>.cpuprofile` (default DIR: the working directory), the format of
 * `node --cpu-prof`: open it in Chrome DevTools or VS Code. Taken here, in front of the CLI, so
 * that every command has it and none parses it. Worker threads (the store's commit thread) are
 * not in it.
 */
function startCpuProfile(argv) {
  if (argv[2] !== "--cpu-prof") return;
  argv.splice(2, 1);
  let dir = process.cwd();
  if (argv[2] === "--cpu-prof-dir") {
    dir = argv[3];
    if (dir === undefined || dir.startsWith("-")) {
      process.stderr.write("nx: error: --cpu-prof-dir needs a directory (see --help)\n");
      process.exit(2);
    }
    argv.splice(2, 2);
  }
  const { Session } = process.getBuiltinModule("node:inspector");
  const { mkdirSync, writeFileSync } = process.getBuiltinModule("node:fs");
  const { join, resolve } = process.getBuiltinModule("node:path");
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  const command = (argv[2] ?? "help").replace(/[^\w.-]/g, "_");
  // A session on the main thread answers synchronously, so the profile is written within 'exit'.
  process.on("exit", () => {
    session.post("Profiler.stop", (error, result) => {
      if (error !== null) return;
      const path = resolve(join(dir, `nx-${command}-${process.pid}.cpuprofile`));
      mkdirSync(dir, { recursive: true });
      writeFileSync(path, JSON.stringify(result.profile));
      process.stderr.write(`nx: CPU profile written to ${path}\n`);
    });
  });
}

startCpuProfile(process.argv);
const { main } = await import(bundleIfFresh() ?? "../src/cli/main.ts");
process.exitCode = await main(process.argv);
