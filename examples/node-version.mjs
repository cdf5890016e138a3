// The examples' runners are TypeScript, which a Node.js older than 26 cannot even load: their .mjs
// entry points call this first, so an older Node says in one line what is needed instead of a
// stack trace. Plain JavaScript on purpose.

/** Exits 2 with one line `<runner>: Numax needs Node.js 26 ...; <hint>` on a Node older than 26. */
export function refuseOlderNode(runner, hint) {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= 26) return;
  process.stderr.write(`${runner}: Numax needs Node.js 26 or newer, this is ${process.version}; ${hint}\n`);
  process.exit(2);
}
