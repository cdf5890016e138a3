/**
 * Bundles the CLI's own sources into two files: build/cli/main.cjs, the run path (what a plain
 * `nx run` runs: {@link RUN_PATH_ENTRIES} and their static imports, about a third of the code),
 * and build/cli/rest.cjs, everything else (the other commands, sync, serving, the store, the
 * kernel), which bin/nx.js runs only when main.cjs first imports one of its sources; plus the
 * store's commit worker. A tiny `nx run` then loads one file of ~470 KB instead of its ~160
 * sources, or the ~60 chunks an ES module split had: Node's ES module loader spends about a
 * quarter of a millisecond on each module it resolves, reads and links, which measured ~15 ms of
 * every start (bench/run-startup.ts). And not the whole CLI (1.35 MB) either: every top-level
 * declaration of a bundle is in its code cache and runs at load, so the rest's ~900 KB cost a
 * plain run about 4 ms of reading, checking, deserializing and evaluating. Lazily imported parts
 * stay lazy inside each file: esbuild turns `import()` of a bundled source into a call that
 * evaluates it on first use. bin/nx.js uses the bundles only while they are newer than every
 * file under src/, so an edited source tree never runs stale code. Runs on `npm ci` and `npm test`.
 *
 * The bundle is a CommonJS file, not an ES module, because bin/nx.js runs it as a classic script
 * (`vm.Script`) with a V8 code cache taken after a whole run: that cache holds every function the
 * run compiled, where Node's compile cache of a module holds only what V8 compiled before running
 * it (its top level), so each start compiled the run path's functions again (~10 ms of CPU).
 * `import.meta` has no meaning in a script: its `url` and `resolve` become the two names that
 * {@link IMPORT_META_IN_SCRIPT} defines from CommonJS's `__filename` and `require`.
 */

import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { relative, resolve } from "node:path";
import { type BuildOptions, build, type Plugin } from "esbuild";

const OUT_DIR = "build/cli";

/**
 * A bundle is written as one function expression, which bin/nx.js compiles as the file's text,
 * as read, and calls with CommonJS's five arguments. Wrapped there instead (a concatenation), it
 * was a second string that V8 flattened into a copy of the whole bundle (0.47 MB for main.cjs),
 * in the young generation's large-object space, whose capacity (1 MB by default) the two nearly
 * filled: a main.cjs 60 KB larger took a second scavenge on every start. bin/nx.js checks that a
 * bundle starts with it (one built before it did not).
 */
const SCRIPT_WRAPPER_START = "(function (exports, require, module, __filename, __dirname) {";

/** Defines what `import.meta.url` and `import.meta.resolve` become in the CommonJS bundle. */
const IMPORT_META_IN_SCRIPT = [
  // esbuild's own "use strict" comes after these lines, where it is no directive.
  `${SCRIPT_WRAPPER_START}"use strict";`,
  'const __nx_import_meta_url = process.getBuiltinModule("node:url").pathToFileURL(__filename).href;',
  // The dashboard's asset packages have no `exports` map, so require's resolution is import's.
  "const __nx_import_meta_resolve = (specifier) =>",
  '  process.getBuiltinModule("node:url").pathToFileURL(require.resolve(specifier)).href;',
].join("\n");

/**
 * Node built-ins reach the bundle through `process.getBuiltinModule`, not ESM imports. An ESM
 * import of a built-in makes Node build a namespace of every export, reading each one, and
 * some are lazy getters: `node:fs` loads fs/promises, `node:util` loads its diff and argument
 * parser, `node:crypto` loads WebCrypto. That costs several milliseconds of every start. Here
 * each export is picked by a pure call, so the exports a bundle does not use are dropped.
 *
 * The built-ins in {@link LOADED_ON_FIRST_CALL} are not even loaded until one of their functions
 * is called: node:crypto takes about 7 ms to initialise, and a cached run of a module that asks
 * for no hash, key or certificate never needs it; node:net (about 5 ms, it loads the streams)
 * is on every start only for `isIP` in the configuration's address checks (a terminal on stderr
 * loads it anyway, for the logger's `isTTY`; stdio on pipes and files does not: src/fs/stdio-writer.ts), and
 * node:fs/promises (a few ms) only for the asynchronous file calls a plain run does not make. Each export becomes a function that loads the
 * module and forwards the call (`new` included: the real object is what it returns), so only
 * functions and classes can be imported from them, and `instanceof` against an imported class
 * would not hold (the bundle fails to build on a non-function import; src/ uses no such test).
 */
const LOADED_ON_FIRST_CALL = new Set(["node:crypto", "node:net", "node:fs/promises"]);

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

/**
 * Packages bundled into main.cjs like our own sources (lazily evaluated all the same). smol-toml
 * parses the policy file beside every module, so it is on the path of every `nx run`: required,
 * it cost ~2.5 ms of CPU per start (resolving it through its package.json, reading and compiling
 * its file apart); bundled, its functions are in the bundle's code cache (bin/nx.js).
 */
const BUNDLED_PACKAGES = new Set(["smol-toml"]);

/**
 * A package imported statically by a bundled source becomes a module that `require`s it when
 * that source is first evaluated. In one file, esbuild would hoist an external package's
 * `import` to the top, so every start would load lmdb, ws, commander and the rest; a
 * `require` runs only where the importing source runs, which for most of them is never in a
 * plain `nx run`. require() takes each package's CommonJS build where it has one (lmdb and
 * msgpackr ship theirs as one file, a few milliseconds less than their ES
 * modules) and loads an ES-module-only package through require(esm). A package imported with
 * `import()` stays an external dynamic import. The packages in {@link BUNDLED_PACKAGES} are
 * bundled instead.
 */
const packagesRequiredWhenUsed: Plugin = {
  name: "packages-required-when-used",
  setup(pluginBuild) {
    const require = createRequire(import.meta.url);
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:") || args.namespace === "required-package") return undefined;
      if (BUNDLED_PACKAGES.has(args.path)) return undefined;
      if (args.kind === "dynamic-import") return { path: args.path, external: true };
      return { path: args.path, namespace: "required-package" };
    });
    pluginBuild.onLoad({ filter: /.*/, namespace: "required-package" }, (args) => {
      // @peculiar/x509 throws on load without this polyfill, which src/net/pki imports first.
      require("reflect-metadata");
      const exports = require(args.path) as Record<string, unknown>;
      const names = Object.keys(exports).filter(
        (name) => name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name),
      );
      const id = JSON.stringify(args.path);
      return {
        contents: [
          `const loaded = process.getBuiltinModule("node:module").createRequire(import.meta.url)(${id});`,
          // The default import of a CommonJS package is its module.exports, as in Node's ESM.
          'export default loaded.__esModule === true && "default" in loaded ? loaded.default : loaded;',
          ...names.map((name) => `export const ${name} = loaded[${JSON.stringify(name)}];`),
        ].join("\n"),
        loader: "js",
      };
    });
  },
};

const common: BuildOptions = {
  bundle: true,
  platform: "node",
  target: "node26",
  plugins: [builtinsWithoutNamespaces, packagesRequiredWhenUsed],
  outdir: OUT_DIR,
  sourcemap: "linked",
  logLevel: "warning",
};

/**
 * The sources a plain `nx run` runs: what src/cli/main.ts and src/cli/run-command.ts import
 * statically (the run path's own `import()`s, of sync, serving, the store, the kernel and the
 * other commands, stay out). These go to main.cjs, everything else to rest.cjs.
 */
const RUN_PATH_ENTRIES = ["src/cli/main.ts", "src/cli/run-command.ts"];

/** Paths (relative to the repository, as esbuild's metafile names them) of the run path's sources. */
async function runPathSources(): Promise<Set<string>> {
  const dynamicImportsLeftOut: Plugin = {
    name: "dynamic-imports-left-out",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^\./ }, (args) =>
        args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined,
      );
    },
  };
  const result = await build({
    ...common,
    plugins: [dynamicImportsLeftOut, ...common.plugins!],
    entryPoints: RUN_PATH_ENTRIES,
    format: "cjs",
    write: false,
    metafile: true,
    sourcemap: false,
    // Its output is dropped: only the list of inputs is wanted (import.meta warnings included).
    logLevel: "error",
    outdir: "/nonexistent",
  });
  return new Set(Object.keys(result.metafile.inputs).filter((path) => !path.includes(":")));
}

/**
 * A bundle bin/nx.js runs as a classic script (`import.meta` replaced by the banner's stand-ins),
 * built from a generated entry module named `name`: its source is `entry()`, read when esbuild
 * loads it (after `plugin` has resolved what it needs). `banner` follows the stand-ins.
 */
function scriptBundle(name: string, entry: () => string, plugin: Plugin, banner: string): BuildOptions {
  const entryModule: Plugin = {
    name: `${name}-entry`,
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: new RegExp(`^nx-${name}-entry$`) }, (args) => ({
        path: args.path,
        namespace: "nx-entry",
      }));
      pluginBuild.onLoad({ filter: /.*/, namespace: "nx-entry" }, () => ({
        contents: entry(),
        resolveDir: process.cwd(),
        loader: "js",
      }));
    },
  };
  return {
    ...common,
    plugins: [entryModule, plugin, ...common.plugins!],
    entryPoints: { [name]: `nx-${name}-entry` },
    format: "cjs",
    outExtension: { ".js": ".cjs" },
    banner: { js: `${IMPORT_META_IN_SCRIPT}\n${banner}` },
    // esbuild puts it on a line of its own, before the source map's URL comment.
    footer: { js: "})" },
    define: { "import.meta.url": "__nx_import_meta_url", "import.meta.resolve": "__nx_import_meta_resolve" },
  };
}

/**
 * main.cjs: the run path, and `coreModules()` for rest.cjs: an object of the exports of each of
 * its sources `shared` names (those rest.cjs imports), by the export names `sharedExports` lists.
 * An `import()` of a source outside the run path becomes
 * `__nx_rest(key)`, defined by the banner: bin/nx.js runs rest.cjs (`module.nxRest()`), whose
 * `restModules[key]()` evaluates that source. The keys of those sources go to `restKeys`.
 *
 * `coreModules` is a function, and each source's exports object a set of getters made when it is
 * called (bin/nx.js calls it when rest.cjs first loads), not a namespace object (`import * as`):
 * esbuild builds a bundled source's namespace where that source is evaluated, a getter and an
 * accessor per export in a dictionary object, about 100 KB of the ~1 MB the young generation holds
 * before a plain run's first scavenge, for a namespace such a run never reads.
 */
function mainBundle(
  runPath: Set<string>,
  restKeys: Set<string>,
  shared: Set<string>,
  sharedExports: ReadonlyMap<string, readonly string[]>,
): BuildOptions {
  const toRest: Plugin = {
    name: "imports-of-rest",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^\./ }, (args) => {
        if (args.kind !== "dynamic-import") return undefined;
        const key = relative(process.cwd(), resolve(args.resolveDir, args.path));
        if (runPath.has(key)) return undefined;
        restKeys.add(key);
        return { path: key, namespace: "rest-module" };
      });
      pluginBuild.onLoad({ filter: /.*/, namespace: "rest-module" }, (args) => ({
        contents: `module.exports = __nx_rest(${JSON.stringify(args.path)});`,
        loader: "js",
      }));
    },
  };
  const entry = () => {
    const sources = [...shared].map((key, index) => {
      const names = sharedExports.get(key) ?? [];
      const local = (name: number) => `m${index}_${name}`;
      return {
        imports: `import { ${names.map((name, n) => `${JSON.stringify(name)} as ${local(n)}`).join(", ")} } from ${JSON.stringify(`./${key}`)};`,
        exports: `${JSON.stringify(key)}: { ${names.map((name, n) => `get ${JSON.stringify(name)}() { return ${local(n)}; }`).join(", ")} }`,
      };
    });
    return [
      'export { main } from "./src/cli/main.ts";',
      ...sources.map(({ imports }) => imports),
      `export function coreModules() { return { ${sources.map(({ exports }) => exports).join(", ")} }; }`,
    ].join("\n");
  };
  return scriptBundle(
    "main",
    entry,
    toRest,
    "const __nx_rest = (key) => module.nxRest().restModules[key]();",
  );
}

/**
 * rest.cjs: the sources main.cjs `import()`s (`restKeys`, each evaluated when first required)
 * and what they import, except the run path's sources, which it takes from main.cjs
 * (`module.nxCore`, main.cjs's `coreModules`) and names in `shared`: one instance of every
 * source, so classes, `instanceof` and module state stay one.
 */
function restBundle(runPath: Set<string>, restKeys: Set<string>, shared: Set<string>): BuildOptions {
  const fromMain: Plugin = {
    name: "run-path-from-main",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, async (args) => {
        if (
          args.pluginData?.fromMain === true ||
          args.namespace !== "file" ||
          args.path.startsWith("node:")
        ) {
          return undefined;
        }
        const resolved = await pluginBuild.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { fromMain: true },
        });
        const key = relative(process.cwd(), resolved.path);
        if (resolved.errors.length > 0 || resolved.namespace !== "file" || !runPath.has(key))
          return undefined;
        shared.add(key);
        return { path: key, namespace: "main-module" };
      });
      pluginBuild.onLoad({ filter: /.*/, namespace: "main-module" }, (args) => ({
        contents: `module.exports = module_nxCore[${JSON.stringify(args.path)}];`,
        loader: "js",
      }));
    },
  };
  // esbuild evaluates a bundled source on its first `require`.
  const entry = () =>
    `export const restModules = { ${[...restKeys].map((key) => `${JSON.stringify(key)}: () => require(${JSON.stringify(`./${key}`)})`).join(", ")} };`;
  return scriptBundle("rest", entry, fromMain, "const module_nxCore = module.nxCore;");
}

/** The names each of `sources` exports (its values: TypeScript's types are erased), from esbuild's metafile. */
async function exportNames(sources: ReadonlySet<string>): Promise<Map<string, readonly string[]>> {
  const result = await build({
    entryPoints: [...sources],
    bundle: false,
    format: "esm",
    platform: "node",
    write: false,
    metafile: true,
    outdir: "/nonexistent",
    logLevel: "error",
  });
  return new Map(
    Object.values(result.metafile.outputs)
      .filter((output) => output.entryPoint !== undefined)
      .map((output) => [output.entryPoint!, output.exports]),
  );
}

const started = performance.now();
// Earlier versions left main.js (an ES module) and, before that, chunks with hashed names.
rmSync(OUT_DIR, { recursive: true, force: true });
const runPath = await runPathSources();
// The sources main.cjs imports from rest.cjs, then those rest.cjs imports from main.cjs: only
// these get an entry in `coreModules()` (each entry the exports of its source).
const restKeys = new Set<string>();
await build({ ...mainBundle(runPath, restKeys, new Set(), new Map()), write: false, sourcemap: false });
const shared = new Set<string>();
await Promise.all([
  build(restBundle(runPath, restKeys, shared))
    .then(() => exportNames(shared))
    .then((sharedExports) => build(mainBundle(runPath, new Set(), shared, sharedExports))),
  // The store's commit worker is loaded by URL (src/store/lmdb-commit-thread.ts): a module of its own.
  build({
    ...common,
    entryPoints: { "lmdb-commit-worker": "src/store/lmdb-commit-worker.ts" },
    format: "esm",
  }),
]);
process.stdout.write(
  `cli: bundled src/cli/main.ts into ${OUT_DIR}/main.cjs (the run path) and rest.cjs in ${Math.round(performance.now() - started)} ms\n`,
);
