/**
 * Bundles the CLI's own sources into build/cli/ (packages stay external; lazily imported parts
 * stay separate chunks). A tiny `nx run` then loads a handful of files instead of ~120 modules,
 * which is most of its start-up time. bin/nx.js uses the bundle only while it is newer than every
 * file under src/, so an edited source tree never runs stale code. Runs on `npm ci` and `npm test`.
 */
import { rmSync } from "node:fs";
import { build, type Plugin } from "esbuild";

const OUT_DIR = "build/cli";

/**
 * Node built-ins reach the bundle through `process.getBuiltinModule`, not ESM imports. An ESM
 * import of a built-in makes Node build a namespace of every export, reading each one, and
 * some are lazy getters: `node:fs` loads fs/promises, `node:util` loads its diff and argument
 * parser, `node:crypto` loads WebCrypto. That costs several milliseconds of every start. Here
 * each export is picked by a pure call, so the exports a bundle does not use are dropped.
 *
 * The built-ins in {@link LOADED_ON_FIRST_CALL} are not even loaded until one of their functions
 * is called: node:crypto takes about 7 ms to initialise, and a cached run of a module that asks
 * for no hash, key or certificate never needs it. Each export becomes a function that loads the
 * module and forwards the call (`new` included: the real object is what it returns), so only
 * functions and classes can be imported from them, and `instanceof` against an imported class
 * would not hold (the bundle fails to build on a non-function import; src/ uses no such test).
 */
const LOADED_ON_FIRST_CALL = new Set(["node:crypto"]);

function builtinModuleSource(
  path: string,
  names: readonly string[],
  exports: Record<string, unknown>,
): string {
  const id = JSON.stringify(path);
  if (!LOADED_ON_FIRST_CALL.has(path)) {
    return [
      `const builtin = /* @__PURE__ */ process.getBuiltinModule(${id});`,
      "const pick = (name) => builtin[name];",
      "export default builtin;",
      ...names.map((name) => `export const ${name} = /* @__PURE__ */ pick(${JSON.stringify(name)});`),
    ].join("\n");
  }
  return [
    "let builtin;",
    `const load = () => (builtin ??= process.getBuiltinModule(${id}));`,
    ...names
      .filter((name) => typeof exports[name] === "function")
      .map(
        (name) =>
          `export function ${name}(...args) { return new.target === undefined ? load().${name}(...args) : new (load().${name})(...args); }`,
      ),
  ].join("\n");
}
const builtinsWithoutNamespaces: Plugin = {
  name: "builtins-without-namespaces",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^node:/ }, (args) => ({
      path: args.path,
      namespace: "node-builtin",
      sideEffects: false,
    }));
    pluginBuild.onLoad({ filter: /.*/, namespace: "node-builtin" }, async (args) => {
      const exports = (await import(args.path)) as Record<string, unknown>;
      const names = Object.keys(exports).filter(
        (name) => name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name),
      );
      return { contents: builtinModuleSource(args.path, names, exports), loader: "js" };
    });
  },
};

const started = performance.now();
// Chunk names carry content hashes: without a clean directory, old chunks pile up.
rmSync(OUT_DIR, { recursive: true, force: true });
await build({
  // The store's commit worker is loaded by URL (src/store/lmdb-commit-thread.ts), so it is an entry.
  entryPoints: { main: "src/cli/main.ts", "lmdb-commit-worker": "src/store/lmdb-commit-worker.ts" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node26",
  packages: "external",
  plugins: [builtinsWithoutNamespaces],
  outdir: OUT_DIR,
  sourcemap: "linked",
  logLevel: "warning",
});
process.stdout.write(
  `cli: bundled src/cli/main.ts into ${OUT_DIR}/ in ${Math.round(performance.now() - started)} ms\n`,
);
