/**
 * Bundles the CLI's own sources into build/cli/ (packages stay external; lazily imported parts
 * stay separate chunks). A tiny `nx run` then loads a handful of files instead of ~120 modules,
 * which is most of its start-up time. bin/nx.js uses the bundle only while it is newer than every
 * file under src/, so an edited source tree never runs stale code. Runs on `npm ci` and `npm test`.
 */
import { build } from "esbuild";

const started = performance.now();
await build({
  entryPoints: { main: "src/cli/main.ts" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node26",
  packages: "external",
  outdir: "build/cli",
  sourcemap: "linked",
  logLevel: "warning",
});
process.stdout.write(
  `cli: bundled src/cli/main.ts into build/cli/ in ${Math.round(performance.now() - started)} ms\n`,
);
