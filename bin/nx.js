#!/usr/bin/env node
// Entry of the `nx` command. Plain JavaScript on purpose: the on-disk compile cache must be on
// before the first TypeScript file loads, so that later starts skip type stripping entirely.
import * as nodeModule from "node:module";

const major = Number(process.versions.node.split(".")[0]);
if (major < 26) {
  process.stderr.write(
    `nx: error: Numax needs Node.js 26 or newer, this is ${process.version}; run it as \`npx nx\` from the repository (npm ci installs Node 26 there)\n`,
  );
  process.exit(2);
}
nodeModule.enableCompileCache();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
