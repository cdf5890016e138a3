#!/usr/bin/env node
// Entry of `npm run demo` and `npm run cluster`. Plain JavaScript on purpose: an older Node cannot
// even load run-cluster.ts, so this file says in one line what is needed instead of a stack trace.

const major = Number(process.versions.node.split(".")[0]);
if (major < 26) {
  process.stderr.write(
    `run-cluster: Numax needs Node.js 26 or newer, this is ${process.version}; use \`npm run demo\` or \`npm run cluster -- <example>\` (npm ci installs Node 26 there)\n`,
  );
  process.exit(2);
}
await import("./run-cluster.ts");
