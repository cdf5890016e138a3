import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Script } from "node:vm";
import fc from "fast-check";
import wabtFactory from "wabt";
import { STAMP_SETTLED_MS } from "../src/wasm/module-cache.ts";
import { writeFixture } from "./fixtures/wasm/wat-fixtures.ts";
import {
  examplePath,
  guestPath,
  installedPackage,
  NX_BIN,
  REPO_ROOT,
  startNx,
  stopNx,
  tempDir,
} from "./helpers/nx-process.ts";

const nx = (args: readonly string[], env: Record<string, string> = {}) =>
  execFileSync(process.execPath, [NX_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });

/**
 * `nx ARGS`, run to its exit, with Node's compile cache, and so the CLI's code cache (bin/nx.js), under
 * `cacheRoot`; `nodeFlags` go before the script, `bin` is another copy of bin/nx.js.
 */
const nxCached = (
  cacheRoot: string,
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    /** The environment `env` adds to: this process's unless given. */
    baseEnv?: Readonly<Record<string, string | undefined>>;
    nodeFlags?: readonly string[];
    bin?: string;
    cwd?: string;
  } = {},
) =>
  spawnSync(process.execPath, [...(options.nodeFlags ?? []), options.bin ?? NX_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: "utf8",
    env: { ...(options.baseEnv ?? process.env), NODE_COMPILE_CACHE: cacheRoot, ...options.env },
  });

/** Newest modification time under `dir`, as bin/nx.js computes it to decide whether the bundle is fresh. */
function newestMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

describe("the nx entry point", () => {
  test("the bundled CLI and the TypeScript sources behave the same", () => {
    // Without a fresh bundle both runs below would take the source path and prove nothing.
    const bundleMs = statSync(join(REPO_ROOT, "build/cli/main.cjs")).mtimeMs;
    assert.ok(
      bundleMs >= newestMs(join(REPO_ROOT, "src")),
      "build/cli is older than src/: run `npm run build:cli` (npm test does it first)",
    );
    for (const args of [["--help"], ["run", "--help"], ["--version"]]) {
      assert.equal(nx(args), nx(args, { NX_FROM_SOURCE: "1" }), `nx ${args.join(" ")}`);
    }
  });

  test("nx --cpu-prof profiles any command, whose output stays the same", () => {
    const dir = tempDir("nx-cpu-prof-");
    try {
      const hello = examplePath("hello");
      const data = join(dir.path, "data");
      const plain = spawnSync(process.execPath, [NX_BIN, "run", hello, "--datastore-path", data], {
        cwd: REPO_ROOT,
        encoding: "utf8",
      });
      const profiled = spawnSync(
        process.execPath,
        [
          NX_BIN,
          "--cpu-prof",
          "--cpu-prof-dir",
          join(dir.path, "prof"),
          "run",
          hello,
          "--datastore-path",
          data,
        ],
        { cwd: REPO_ROOT, encoding: "utf8" },
      );
      assert.equal(profiled.status, 0, profiled.stderr);
      assert.equal(profiled.stdout, plain.stdout);
      const written = /^nx: CPU profile written to (.+\/nx-run-\d+\.cpuprofile)$/m.exec(profiled.stderr);
      assert.ok(written !== null, profiled.stderr);
      const profile = JSON.parse(readFileSync(written[1]!, "utf8")) as {
        nodes: unknown[];
        samples: number[];
      };
      assert.ok(profile.nodes.length > 0 && profile.samples.length > 0);
      const version = spawnSync(
        process.execPath,
        [NX_BIN, "--cpu-prof", "--cpu-prof-dir", dir.path, "--version"],
        {
          cwd: REPO_ROOT,
          encoding: "utf8",
        },
      );
      assert.equal(version.stdout, nx(["--version"]));
      assert.match(version.stderr, /nx---version-\d+\.cpuprofile/);
      const bad = spawnSync(process.execPath, [NX_BIN, "--cpu-prof", "--cpu-prof-dir"], { encoding: "utf8" });
      assert.equal(bad.status, 2);
      assert.equal(bad.stderr, "nx: error: --cpu-prof-dir needs a directory (see --help)\n");
    } finally {
      dir.remove();
    }
  });

  test("nx --cpu-prof writes the profile of a serving node stopped by SIGTERM", async () => {
    const dir = tempDir("nx-cpu-prof-serving-");
    const nx = startNx(
      [
        "--cpu-prof",
        "--cpu-prof-dir",
        dir.path,
        "run",
        examplePath("http_hello"),
        "--serve",
        "127.0.0.1:0",
        "--datastore-path",
        join(dir.path, "data"),
      ],
      { NX_MANAGEMENT_LISTEN: "off", NX_DASHBOARD_LISTEN: "off" },
    );
    try {
      await nx.waitFor(/serving until SIGINT or SIGTERM/);
      const { code } = await stopNx(nx);
      assert.equal(code, 0, nx.stderr());
      const written = /^nx: CPU profile written to (.+\/nx-run-\d+\.cpuprofile)$/m.exec(nx.stderr());
      assert.ok(written !== null, nx.stderr());
      const profile = JSON.parse(readFileSync(written[1]!, "utf8")) as { samples: number[] };
      assert.ok(profile.samples.length > 0);
    } finally {
      await stopNx(nx);
      dir.remove();
    }
  });

  test("no source is in both main.cjs and rest.cjs: each has one instance (classes, instanceof, module state)", () => {
    // esbuild's linked source maps list the files each bundle holds.
    const sources = (name: string) =>
      (
        JSON.parse(readFileSync(join(REPO_ROOT, "build/cli", `${name}.map`), "utf8")) as { sources: string[] }
      ).sources
        // A built-in is a shim of process.getBuiltinModule in each (scripts/build-cli.ts).
        .filter((source) => !source.startsWith("node-builtin:"));
    const main = sources("main.cjs");
    const rest = new Set(sources("rest.cjs"));
    assert.ok(main.some((source) => source.endsWith("src/errors/numax-error.ts")));
    assert.deepEqual(
      main.filter((source) => rest.has(source)),
      [],
    );
    // rest.cjs's sources import run-path ones (the error classes here), which it takes from main.cjs.
    assert.match(
      readFileSync(join(REPO_ROOT, "build/cli/rest.cjs"), "utf8"),
      /module_nxCore\["src\/errors\/numax-error\.ts"\]/,
    );
  });

  test("each bundle is compiled as its file's text, not a copy of it inside a wrapper", () => {
    const dir = tempDir("nx-bundle-text-");
    try {
      // Prints the length of every source given to vm.Script, with its file name.
      const recorder = join(dir.path, "record-scripts.mjs");
      writeFileSync(
        recorder,
        [
          'const vm = process.getBuiltinModule("node:vm");',
          "const { Script } = vm;",
          "vm.Script = class extends Script {",
          "  constructor(source, options) {",
          "    super(source, options);",
          '    process.stderr.write("compiled " + options.filename + " " + Buffer.byteLength(source) + "\\n");',
          "  }",
          "};",
        ].join("\n"),
      );
      // A new datastore: the module is compiled, and the instrumenter is in rest.cjs.
      const result = nxCached(
        join(dir.path, "cc"),
        ["run", examplePath("hello"), "--datastore-path", join(dir.path, "data")],
        { nodeFlags: ["--import", recorder] },
      );
      assert.equal(result.status, 0, result.stderr);
      const compiled = [...result.stderr.matchAll(/^compiled (.+) (\d+)$/gm)].map(([, path, length]) => [
        path,
        Number(length),
      ]);
      // A wrapper concatenated at the start made a second string that V8 copied whole (scripts/build-cli.ts).
      assert.deepEqual(
        compiled,
        ["main.cjs", "rest.cjs"].map((name) => {
          const path = join(REPO_ROOT, "build/cli", name);
          return [path, statSync(path).size];
        }),
      );
    } finally {
      dir.remove();
    }
  });

  test("a bundle built before bundles were written as one function is refused with a hint", () => {
    const dir = tempDir("nx-bundle-old-");
    try {
      const root = installedPackage(dir.path);
      const bundlePath = join(root, "build/cli/main.cjs");
      const bundle = readFileSync(bundlePath, "utf8");
      const start = "(function (exports, require, module, __filename, __dirname) {";
      assert.ok(bundle.startsWith(start));
      writeFileSync(bundlePath, bundle.slice(start.length, bundle.lastIndexOf("})")));
      const result = nxCached(join(dir.path, "cc"), ["run", examplePath("hello")], {
        bin: join(root, "bin/nx.js"),
        cwd: dir.path,
      });
      assert.equal(result.status, 2);
      assert.equal(
        result.stderr,
        `nx: error: ${bundlePath} was built by an older scripts/build-cli.ts; run \`npm run build:cli\`\n`,
      );
    } finally {
      dir.remove();
    }
  });

  test("a plain nx run of a guest importing only WASI, installed, takes no scavenge", async () => {
    const dir = tempDir("nx-young-generation-");
    try {
      // The guest and the module cache of bench/run-startup.ts: hello (one fd_write), no capability.
      await writeFixture(dir.path, "hello");
      writeFileSync(join(dir.path, "hello.policy.toml"), "[capabilities]\n");
      // A module file counts as unchanged, and is found by its stamp without hashing (which
      // loads node:crypto), once it has been so for this long (src/wasm/module-cache.ts).
      await sleep(STAMP_SETTLED_MS + 100);
      // From an installed package's layout: in a checkout, bin/nx.js first checks that the bundle
      // is newer than every file under src/, and that walk alone allocates over half a megabyte.
      const root = installedPackage(dir.path);
      const run = () =>
        nxCached(join(dir.path, "cc"), ["run", "hello.wasm", "--datastore-path", join(dir.path, "data")], {
          nodeFlags: ["--trace-gc"],
          bin: join(root, "bin/nx.js"),
          cwd: dir.path,
          // Not this process's environment: the margin is tens of kilobytes, and a CI's (an unknown
          // NX_* name to suggest a key for, NODE_OPTIONS, a thousand variables) would spend it.
          baseEnv: { PATH: process.env.PATH, HOME: dir.path },
        });
      // The first runs instrument and cache the module, record its stamp and write the code cache.
      for (let warm = 0; warm < 2; warm++) assert.equal(run().status, 0);
      const plain = run();
      assert.equal(plain.status, 0, plain.stderr);
      assert.match(plain.stdout, /hello from guest/);
      // Everything a plain run allocates fits in the young generation's first megabyte: no
      // scavenge, about 2 ms of CPU (docs/design/sandbox.md, "what a plain run allocates").
      assert.doesNotMatch(plain.stdout, /Scavenge|Mark-Compact/);
    } finally {
      dir.remove();
    }
  });

  test("a plain nx run loads the CLI as one file and only the packages and built-ins it uses", () => {
    const dir = tempDir("nx-loaded-files-");
    try {
      // Records every file Node loads, ES module or CommonJS, and prints the list at exit.
      const recorder = join(dir.path, "record-loads.mjs");
      writeFileSync(
        recorder,
        [
          'import { registerHooks } from "node:module";',
          "const loaded = [];",
          "registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });",
          // The bundles are scripts bin/nx.js reads, which no hook sees.
          // getBuiltinModule: an ES module import of node:fs would load the streams.
          'const fs = process.getBuiltinModule("node:fs");',
          // rest.cjs is opened at the start and read, through its descriptor, only when used.
          "const { openSync, readFileSync } = fs;",
          "const opened = new Map();",
          "fs.openSync = (path, ...rest) => {",
          "  const fd = openSync(path, ...rest);",
          "  opened.set(fd, String(path));",
          "  return fd;",
          "};",
          "fs.readFileSync = (path, ...rest) => {",
          '  const name = typeof path === "number" ? opened.get(path) ?? "" : String(path);',
          '  if (name.endsWith(".cjs")) loaded.push(new URL(name, "file://").href);',
          "  return readFileSync(path, ...rest);",
          "};",
          // Dates made by the CLI (Node's own internals use the original constructor).
          "let dates = 0;",
          "const RealDate = Date;",
          "globalThis.Date = class extends RealDate { constructor(...args) { super(...args); dates++; } };",
          // Node's built-ins, which no hook sees, listed before process.stderr's first use loads more.
          'process.on("exit", () => {',
          "  const builtins = JSON.stringify(process.moduleLoadList);",
          '  process.stderr.write("dates: " + dates + "\\n");',
          '  process.stderr.write("loaded: " + JSON.stringify(loaded) + "\\n");',
          '  process.stderr.write("builtins: " + builtins + "\\n");',
          "});",
        ].join("\n"),
      );
      const runRecorded = () =>
        spawnSync(
          process.execPath,
          [
            "--import",
            recorder,
            NX_BIN,
            "run",
            examplePath("hello"),
            "--datastore-path",
            join(dir.path, "data"),
          ],
          { cwd: REPO_ROOT, encoding: "utf8" },
        );
      // The second run: the first hashes the module, which loads node:crypto (and its streams).
      assert.equal(runRecorded().status, 0);
      const run = runRecorded();
      assert.equal(run.status, 0, run.stderr);
      const loaded = JSON.parse(/^loaded: (.*)$/m.exec(run.stderr)![1]!) as string[];
      const root = new URL(REPO_ROOT, "file://").href;
      const relative = loaded.filter((url) => url.startsWith(root)).map((url) => url.slice(root.length));
      // Each file costs the ES module loader about a quarter of a millisecond (scripts/build-cli.ts).
      // The bundle is no module: bin/nx.js reads build/cli/main.cjs and runs it as a script, and
      // not rest.cjs, the code a plain run does not run. The version is read from package.json
      // only when shown, as a file, not required (1-2 ms: src/cli/version.ts).
      assert.deepEqual(
        relative.filter((path) => !path.startsWith("node_modules/")),
        ["bin/nx.js", "build/cli/main.cjs"],
      );
      // Every byte of a bundle costs a start (reading, checking, deserializing its code cache).
      const bytes = (name: string) => statSync(join(REPO_ROOT, "build/cli", name)).size;
      assert.ok(
        bytes("main.cjs") < 0.6 * bytes("rest.cjs"),
        `${bytes("main.cjs")} B, rest ${bytes("rest.cjs")} B`,
      );
      assert.match(run.stderr, /hello from hello/);
      // No dependency is needed: the policy beside hello.wasm is TOML, and smol-toml is bundled.
      assert.deepEqual(
        relative.filter((path) => path.startsWith("node_modules/")),
        [],
      );
      // Built-ins a plain run does not use stay unloaded (scripts/build-cli.ts, LOADED_ON_FIRST_CALL).
      const builtins = JSON.parse(/^builtins: (.*)$/m.exec(run.stderr)![1]!) as string[];
      assert.ok(!builtins.includes("NativeModule fs/promises"), "node:fs/promises loaded");
      // The command line is read without node:util's parseArgs (src/cli/parse-run-arguments.ts).
      assert.ok(
        !builtins.includes("NativeModule internal/util/parse_args/parse_args"),
        "node:util's parseArgs loaded",
      );
      // Nor is an AbortController made (src/node/interrupt.ts).
      assert.ok(!builtins.includes("NativeModule internal/abort_controller"), "AbortController loaded");
      // Log lines and guest output on pipes are written without process.stdout and stderr, whose
      // first use loads these (2-3 ms: src/fs/stdio-writer.ts).
      for (const name of ["stream", "net", "tty"]) {
        assert.ok(!builtins.includes(`NativeModule ${name}`), `node:${name} loaded`);
      }
      // bin/nx.js names the compile cache's directory, so Node does not load node:os for tmpdir().
      assert.ok(!builtins.includes("NativeModule os"), "node:os loaded");
      // Times are kept as numbers, and a Date made only for a log line's time: the first Date a
      // process makes reads the local time zone (/etc/localtime, 0.1 ms).
      const logLines = run.stderr.split("\n").filter((line) => / INFO {2}guest\./.test(line)).length;
      assert.equal(Number(/^dates: (\d+)$/m.exec(run.stderr)?.[1]), logLines);
    } finally {
      dir.remove();
    }
  });

  test("the compile cache's directory is the one Node chooses by itself (NODE_COMPILE_CACHE, TMPDIR, TMP, TEMP)", () => {
    const dir = tempDir("nx-compile-cache-dir-");
    try {
      const variants: Record<string, string>[] = [
        { TMPDIR: join(dir.path, "a") },
        { TMPDIR: `${join(dir.path, "b")}//`, TMP: join(dir.path, "not-this") },
        { TMPDIR: "", TMP: join(dir.path, "c") },
        { TEMP: join(dir.path, "d") },
        { NODE_COMPILE_CACHE: join(dir.path, "e"), TMPDIR: join(dir.path, "not-this") },
      ];
      for (const variant of variants) {
        const env: Record<string, string | undefined> = { ...process.env };
        for (const name of ["NODE_COMPILE_CACHE", "NODE_DISABLE_COMPILE_CACHE", "TMPDIR", "TMP", "TEMP"]) {
          delete env[name];
        }
        Object.assign(env, variant);
        const nodeChooses = execFileSync(
          process.execPath,
          [
            "-e",
            'const m = require("node:module"); m.enableCompileCache(); console.log(m.getCompileCacheDir())',
          ],
          { env, encoding: "utf8" },
        ).trim();
        assert.ok(nodeChooses.startsWith(dir.path), nodeChooses);
        // The bundle's code cache is written at the first exit into that directory.
        execFileSync(process.execPath, [NX_BIN, "--version"], { cwd: REPO_ROOT, env, encoding: "utf8" });
        const written = readdirSync(nodeChooses).filter((name) => name.startsWith("numax-cli-"));
        assert.notDeepEqual(written, [], `${JSON.stringify(variant)}: no code cache in ${nodeChooses}`);
      }
    } finally {
      dir.remove();
    }
  });

  test("the bundle's code cache is taken after a whole run, reused, and remade when stale or rejected", async () => {
    const dir = tempDir("nx-code-cache-");
    try {
      const cacheRoot = join(dir.path, "compile-cache");
      const run = (env: Record<string, string> = {}) =>
        nxCached(cacheRoot, ["run", examplePath("hello"), "--datastore-path", join(dir.path, "data")], {
          env,
        });
      const cacheFiles = () =>
        readdirSync(cacheRoot, { recursive: true, encoding: "utf8" }).filter((path) =>
          /(^|\/)numax-cli-[0-9a-f]+-run$/.test(path),
        );
      // Taken after a run, a cache holds the functions the run compiled: far more than V8 compiles
      // before running the script (what a cache taken at load, like Node's, would hold).
      const bundle = readFileSync(join(REPO_ROOT, "build/cli/main.cjs"), "utf8");
      const atLoad = new Script(bundle, { filename: "main.cjs" }).createCachedData();
      let cachePath = "";
      /** Runs nx, which must (re)write the cache when `rewrites`, and returns the cache's bytes. */
      const runChecked = (rewrites: boolean): Buffer => {
        const before = cachePath === "" ? undefined : readFileSync(cachePath);
        const result = run();
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /hello from hello/);
        assert.equal(cacheFiles().length, 1, cacheFiles().join(" "));
        cachePath = join(cacheRoot, cacheFiles()[0]!);
        const after = readFileSync(cachePath);
        const keyLength = after.indexOf(0x0a) + 1;
        assert.ok(
          after.length - keyLength > 1.2 * atLoad.length,
          `${after.length} bytes, ${atLoad.length} at load`,
        );
        // Buffer.equals: deepEqual walks a Buffer index by index (minutes for these sizes).
        assert.equal(before?.equals(after) === true, !rewrites, `rewritten: ${rewrites}`);
        return after;
      };
      // A failed run may have stopped before most of the run path: it leaves no cache.
      const failed = nxCached(cacheRoot, ["run", join(dir.path, "missing.wasm")]);
      assert.notEqual(failed.status, 0);
      assert.deepEqual(existsSync(cacheRoot) ? cacheFiles() : [], []);
      // The module compiled once: a cached module's run needs only main.cjs, the run path (a
      // module compiled loads rest.cjs too, for the instrumenter: scripts/build-cli.ts).
      assert.equal(run({ NODE_DISABLE_COMPILE_CACHE: "1" }).status, 0);
      const written = runChecked(true);
      runChecked(false);
      const keyLength = written.indexOf(0x0a) + 1;
      // The key line is padded so that the bytes after it start on an 8-byte boundary (V8 copies
      // a cache that does not); a cache whose line has no padding (an earlier build's) is used.
      assert.equal(keyLength % 8, 0, written.subarray(0, keyLength).toString("latin1"));
      const unpadded = `${written.subarray(0, keyLength).toString("latin1").trimEnd()}\n`;
      writeFileSync(cachePath, Buffer.concat([Buffer.from(unpadded, "latin1"), written.subarray(keyLength)]));
      assert.equal(runChecked(false).indexOf(0x0a) + 1, unpadded.length);
      writeFileSync(cachePath, written);
      // Bytes V8 rejects (as after an upgrade of Node or other V8 flags): the run goes on and remakes them.
      writeFileSync(cachePath, Buffer.concat([written.subarray(0, keyLength), Buffer.alloc(4096, 7)]));
      runChecked(true);
      runChecked(false);
      // Bytes changed on disk behind a valid header (a torn write, a bad sector): V8 does not check
      // them and crashed deserializing them ("unreachable code", exit 133) at every start. The
      // digest in the key line keeps them from V8: the run goes on and remakes the cache.
      const changed = Buffer.from(written);
      const middle = keyLength + Math.floor((changed.length - keyLength) / 2);
      for (let i = middle; i < middle + 64; i++) changed[i]! ^= 0xff;
      writeFileSync(cachePath, changed);
      runChecked(true);
      runChecked(false);
      // A cache of another build of the bundle (its key line differs) is not offered to V8 at all.
      writeFileSync(cachePath, Buffer.concat([Buffer.from("v0.0.0 x 1 1\n"), written.subarray(keyLength)]));
      runChecked(true);

      // Another user's symlink at the name the cache is written to first (a shared /tmp): the run
      // writes nothing through it. Planted while the child starts (its pid names the file).
      const victim = join(dir.path, "victim");
      writeFileSync(victim, "mine");
      rmSync(cachePath);
      const child = spawn(
        process.execPath,
        [NX_BIN, "run", examplePath("hello"), "--datastore-path", join(dir.path, "data")],
        { cwd: REPO_ROOT, env: { ...process.env, NODE_COMPILE_CACHE: cacheRoot }, stdio: "ignore" },
      );
      symlinkSync(victim, `${cachePath}.${child.pid}`);
      const [status] = (await once(child, "exit")) as [number];
      assert.equal(status, 0);
      assert.equal(readFileSync(victim, "utf8"), "mine", "nothing written through the symlink");

      rmSync(cacheRoot, { recursive: true });
      assert.equal(run({ NODE_DISABLE_COMPILE_CACHE: "1" }).status, 0);
      assert.equal(existsSync(cacheRoot), false, "NODE_DISABLE_COMPILE_CACHE turns the code cache off too");
    } finally {
      dir.remove();
    }
  });

  test("an upgrade whose bundle has the same size and mtime (npm's 1985-10-26) runs its own code, not the previous cache", () => {
    const dir = tempDir("nx-code-cache-upgrade-");
    try {
      const root = installedPackage(dir.path);
      const bundlePath = join(root, "build/cli/main.cjs");
      const npmMtime = new Date("1985-10-26T08:15:00.000Z");
      const install = (bundle: string): void => {
        writeFileSync(bundlePath, bundle);
        utimesSync(bundlePath, npmMtime, npmMtime);
      };
      const run = (): string => {
        const result = nxCached(
          join(dir.path, "cc"),
          ["run", examplePath("hello"), "--datastore-path", join(dir.path, "data")],
          { bin: join(root, "bin/nx.js"), cwd: dir.path },
        );
        assert.equal(result.status, 0, result.stderr);
        return result.stderr;
      };
      const bundle = readFileSync(bundlePath, "utf8");
      install(bundle);
      assert.match(run(), / INFO {2}guest\.hello: hello from hello/);
      assert.match(run(), / INFO {2}guest\.hello: hello from hello/, "with the cache the first run wrote");
      // The next release: one constant changed, the bundle's size and npm's mtime the same.
      const upgraded = bundle.replace('info: "INFO "', 'info: "INFX "');
      assert.equal(Buffer.byteLength(upgraded), Buffer.byteLength(bundle));
      assert.notEqual(upgraded, bundle);
      install(upgraded);
      assert.match(
        run(),
        / INFX {2}guest\.hello: hello from hello/,
        "the cache of the release before was used",
      );
    } finally {
      dir.remove();
    }
  });

  test("main.cjs replaced while a start reads its code cache (an upgrade) runs whole, with its own cache", () => {
    const dir = tempDir("nx-code-cache-swap-");
    try {
      const root = installedPackage(dir.path);
      const bundlePath = join(root, "build/cli/main.cjs");
      const run = (args: readonly string[], nodeFlags: readonly string[] = []): string => {
        const result = nxCached(
          join(dir.path, "cc"),
          ["run", examplePath("hello"), "--datastore-path", join(dir.path, "data"), ...args],
          { nodeFlags, bin: join(root, "bin/nx.js"), cwd: dir.path },
        );
        assert.equal(result.status, 0, result.stderr);
        return result.stderr;
      };
      // The cache of a run without -v: the function formatting log fields is not in it (never called).
      const bundle = readFileSync(bundlePath, "utf8");
      assert.match(run([]), / INFO {2}guest\.hello: hello from hello/);
      // The next release, of the same size: a constant of the top level (in the cache) changed,
      // and that function's text (compiled from the text read, being in no cache).
      const fieldBefore = "return quoteIfNeeded(value);";
      const fieldAfter = 'return "B:" + value;'.padEnd(fieldBefore.length);
      const upgraded = bundle.replace('info: "INFO "', 'info: "INFX "').replace(fieldBefore, fieldAfter);
      assert.equal(Buffer.byteLength(upgraded), Buffer.byteLength(bundle));
      assert.equal(upgraded.includes(fieldAfter), true);
      writeFileSync(`${bundlePath}.new`, upgraded);
      // It lands (a rename, as npm installs) as the start opens the code cache.
      const upgrade = join(dir.path, "upgrade.mjs");
      writeFileSync(
        upgrade,
        [
          'const fs = process.getBuiltinModule("node:fs");',
          "const { openSync, renameSync } = fs;",
          `const bundle = ${JSON.stringify(bundlePath)};`,
          "let replaced = false;",
          "fs.openSync = (path, ...rest) => {",
          '  if (!replaced && String(path).includes("/numax-cli-")) {',
          "    replaced = true;",
          '    renameSync(bundle + ".new", bundle);',
          "  }",
          "  return openSync(path, ...rest);",
          "};",
        ].join("\n"),
      );
      // The start's bundle throughout: its text with its cache, not the new text with the old
      // cache (the previous release's top level, the new release's field formatter).
      const during = run(["-v"], ["--import", upgrade]);
      assert.equal(readFileSync(bundlePath, "utf8"), upgraded, "replaced during the start");
      assert.match(during, / INFO {2}guest\.hello: hello from hello/);
      assert.match(during, / module=[^B]/);
      // The next start runs the new release, whole.
      const after = run(["-v"]);
      assert.match(after, / INFX {2}guest\.hello: hello from hello/);
      assert.match(after, / module=B:/);
    } finally {
      dir.remove();
    }
  });

  test("rest.cjs replaced after the start (an upgrade, a rebuild) is not run with the start's main.cjs", () => {
    const dir = tempDir("nx-rest-replaced-");
    try {
      const root = installedPackage(dir.path);
      // Once main.cjs is read, rest.cjs is replaced by another file, as npm or a build does.
      const upgrade = join(dir.path, "upgrade.mjs");
      writeFileSync(
        upgrade,
        [
          'const fs = process.getBuiltinModule("node:fs");',
          "const { readFileSync, renameSync, writeFileSync } = fs;",
          `const rest = ${JSON.stringify(join(root, "build/cli/rest.cjs"))};`,
          "let replaced = false;",
          "fs.readFileSync = (path, ...rest_) => {",
          "  const bytes = readFileSync(path, ...rest_);",
          // main.cjs is read by the descriptor bin/nx.js opened it with: known by its text.
          '  if (!replaced && String(bytes).startsWith("(function (exports, require, module")) {',
          "    replaced = true;",
          '    writeFileSync(rest + ".new", "throw new Error(\\"the rest.cjs of another build\\");");',
          '    renameSync(rest + ".new", rest);',
          "  }",
          "  return bytes;",
          "};",
        ].join("\n"),
      );
      // A module not in the module cache (a fresh compile cache): the instrumenter is in rest.cjs.
      const result = nxCached(
        join(dir.path, "cc"),
        ["run", examplePath("hello"), "--datastore-path", join(dir.path, "data")],
        { nodeFlags: ["--import", upgrade], bin: join(root, "bin/nx.js"), cwd: dir.path },
      );
      assert.match(readFileSync(join(root, "build/cli/rest.cjs"), "utf8"), /another build/);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, /hello from hello/);
    } finally {
      dir.remove();
    }
  });

  test("lmdb-commit-worker.js replaced while a node runs (an upgrade) is not the code its store commits with", async () => {
    const dir = tempDir("nx-commit-worker-replaced-");
    const root = installedPackage(dir.path);
    // The datastore exists already: a node opening it writes nothing until the PUT.
    const first = startNx(["run", guestPath("ack_server"), "--datastore-path", join(dir.path, "data")]);
    assert.equal((await first.exited).code, 0, first.stderr());
    // A node that runs until stopped, from the installed copy.
    const nx = startNx(
      ["run", guestPath("ack_server"), "--serve", "127.0.0.1:0", "--datastore-path", join(dir.path, "data")],
      {},
      { bin: join(root, "bin/nx.js"), cwd: dir.path },
    );
    try {
      const base = (await nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/, 30_000))[1]!;
      const worker = join(root, "build/cli/lmdb-commit-worker.js");
      writeFileSync(`${worker}.new`, 'throw new Error("the commit worker of another build");\n');
      renameSync(`${worker}.new`, worker);
      // The first commit: its reply leaves once the write is on disk.
      const response = await fetch(`${base}/ack/1`, { method: "PUT", signal: AbortSignal.timeout(20_000) });
      assert.equal(response.status, 204);
      assert.doesNotMatch(nx.stderr(), /another build/);
      assert.equal((await stopNx(nx)).code, 0, nx.stderr());
    } finally {
      await stopNx(nx);
      dir.remove();
    }
  });

  test("a commit worker that does not load (a damaged install) stops a long-running node at start with one line naming its file", async () => {
    const dir = tempDir("nx-commit-worker-broken-");
    const root = installedPackage(dir.path);
    try {
      const worker = join(root, "build/cli/lmdb-commit-worker.js");
      writeFileSync(worker, 'throw new Error("a damaged file");\n');
      const nx = startNx(
        [
          "run",
          guestPath("ack_server"),
          "--serve",
          "127.0.0.1:0",
          "--datastore-path",
          join(dir.path, "data"),
        ],
        {},
        { bin: join(root, "bin/nx.js"), cwd: dir.path },
      );
      const { code } = await nx.exited;
      assert.notEqual(code, 0);
      const errors = nx
        .stderr()
        .split("\n")
        .filter((line) => line.startsWith("nx: error:"));
      assert.equal(errors.length, 1, nx.stderr());
      assert.match(
        errors[0]!,
        /^nx: error: the store's commit thread did not load \(.*lmdb-commit-worker\.js: a damaged file\): reinstall Numax$/,
      );
    } finally {
      dir.remove();
    }
  });

  test("code caches no start used for 30 days are removed when a cache is written; one in use is kept", () => {
    const dir = tempDir("nx-code-cache-unused-");
    try {
      const cacheRoot = join(dir.path, "compile-cache");
      const hello = ["run", examplePath("hello"), "--datastore-path", join(dir.path, "data")];
      // The module is compiled: main.cjs and rest.cjs (the instrumenter) both get a cache.
      assert.equal(nxCached(cacheRoot, hello).status, 0);
      const cacheDir = join(cacheRoot, readdirSync(cacheRoot)[0]!);
      const caches = () => readdirSync(cacheDir).filter((name) => name.startsWith("numax-cli-"));
      const ours = caches();
      assert.equal(ours.length, 2, ours.join(" "));
      const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60 * 1000);
      const age = (name: string, days: number) =>
        utimesSync(join(cacheDir, name), daysAgo(days), daysAgo(days));
      // Caches of bundles deleted since (an old install, a temporary one), unused for 31 and 29
      // days, and a write interrupted 31 days ago.
      for (const [name, days] of [
        ["numax-cli-0badf00d-run", 31],
        ["numax-cli-0badf00d-other", 29],
        ["numax-cli-0badf00d-run.4242", 31],
      ] as const) {
        writeFileSync(join(cacheDir, name), "stale");
        age(name, days);
      }
      for (const name of ours) age(name, 40);
      // A cached module's run uses main.cjs's cache only, and records that use.
      assert.equal(nxCached(cacheRoot, hello).status, 0);
      // --version writes the caches of the other kind of command, then removes the unused ones.
      assert.equal(nxCached(cacheRoot, ["--version"]).status, 0);
      const left = caches();
      assert.ok(!left.includes("numax-cli-0badf00d-run"), "a cache unused for 31 days stays");
      assert.ok(!left.includes("numax-cli-0badf00d-run.4242"), "a partial file of 31 days stays");
      assert.ok(left.includes("numax-cli-0badf00d-other"), "a cache used 29 days ago is removed");
      const kept = ours.filter((name) => left.includes(name));
      assert.equal(
        kept.length,
        1,
        `the cache the run used is kept, rest.cjs's unused one goes: ${left.join(" ")}`,
      );
      assert.ok(
        Date.now() - statSync(join(cacheDir, kept[0]!)).mtimeMs < 60 * 60 * 1000,
        "its use is recorded",
      );
    } finally {
      dir.remove();
    }
  });

  test("a cache whose use cannot be recorded (a read-only directory) is used all the same", () => {
    const dir = tempDir("nx-code-cache-read-only-");
    try {
      const cacheRoot = join(dir.path, "compile-cache");
      // A read-only file system: setting a cache's modification time fails (EROFS).
      const readOnly = join(dir.path, "read-only.mjs");
      writeFileSync(
        readOnly,
        [
          'const fs = process.getBuiltinModule("node:fs");',
          "fs.futimesSync = () => {",
          '  throw Object.assign(new Error("EROFS: read-only file system"), { code: "EROFS" });',
          "};",
        ].join("\n"),
      );
      const run = (nodeFlags: readonly string[]) =>
        nxCached(cacheRoot, ["run", examplePath("hello"), "--datastore-path", join(dir.path, "data")], {
          nodeFlags,
        });
      assert.equal(run([]).status, 0);
      assert.equal(run([]).status, 0);
      const cacheDir = join(cacheRoot, readdirSync(cacheRoot)[0]!);
      const [name] = readdirSync(cacheDir).filter((entry) => /^numax-cli-[0-9a-f]+-run$/.test(entry));
      const cachePath = join(cacheDir, name!);
      // main.cjs's cache, last used two days ago: this start would record its use.
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
      utimesSync(cachePath, twoDaysAgo, twoDaysAgo);
      const before = statSync(cachePath);
      const result = run(["--import", readOnly]);
      assert.equal(result.status, 0, result.stderr);
      // Not found unusable and written again at the exit: the same file, its time unchanged.
      const after = statSync(cachePath);
      assert.equal(after.ino, before.ino, "the cache was written again: the start did not use it");
      assert.equal(after.mtimeMs, before.mtimeMs);
    } finally {
      dir.remove();
    }
  });

  test("the code cache's digest is the wasm function its WAT comment in bin/nx.js gives", async () => {
    const source = readFileSync(NX_BIN, "utf8");
    const wat = /```wat\n([\s\S]*?)\n \* ```/.exec(source)![1]!.replace(/^ \* ?/gm, "");
    const bytes = /const DIGEST_WASM = Uint8Array\.from\(\[([\s\S]*?)\]\);/.exec(source)![1]!;
    const wabt = await wabtFactory();
    const module = wabt.parseWat("digest.wat", wat);
    try {
      assert.deepEqual(
        [...module.toBinary({}).buffer],
        bytes
          .split(",")
          .filter((byte) => byte.trim() !== "")
          .map((byte) => Number(byte)),
      );
    } finally {
      module.destroy();
    }
  });

  test("the code cache's digest is the one earlier builds wrote (their caches stay valid), from any offset", () => {
    const source = readFileSync(NX_BIN, "utf8");
    const bytes = /const DIGEST_WASM = Uint8Array\.from\(\[([\s\S]*?)\]\);/.exec(source)![1]!;
    const wasm = Uint8Array.from(
      bytes
        .split(",")
        .filter((byte) => byte.trim() !== "")
        .map((byte) => Number(byte)),
    );
    const MASK = (1n << 64n) - 1n;
    /** The digest as earlier builds computed it (an `i64.rotl` by 29 per word, the last word padded with zeros). */
    const earlierDigest = (data: Uint8Array): string => {
      const padded = new Uint8Array(Math.ceil(data.length / 8) * 8);
      padded.set(data);
      const words = new DataView(padded.buffer);
      let h = 0xcbf29ce484222325n;
      for (let i = 0; i < padded.length; i += 8) {
        h = ((h ^ words.getBigUint64(i, true)) * 0x100000001b3n) & MASK;
        h = ((h << 29n) | (h >> 35n)) & MASK;
      }
      return h.toString(16);
    };
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 15 }),
        fc.uint8Array({ maxLength: 200 }),
        (line, data) => {
          // The cache's bytes come after its key line, at any offset (an unpadded line) in a fresh memory.
          const { exports } = new WebAssembly.Instance(new WebAssembly.Module(wasm)) as unknown as {
            exports: { m: WebAssembly.Memory; h: (start: number, end: number) => bigint };
          };
          exports.m.grow(1);
          const memory = new Uint8Array(exports.m.buffer);
          memory.set(line);
          memory.set(data, line.length);
          const digest = BigInt.asUintN(64, exports.h(line.length, line.length + data.length)).toString(16);
          assert.equal(digest, earlierDigest(data));
        },
      ),
      { seed: 20, numRuns: 300 },
    );
  });

  test("a finished command exits without tearing the heap down, with its exit code, after every exit listener", () => {
    const dir = tempDir("nx-exit-");
    try {
      // --trace-exit prints a warning when the environment is exited with process.exit().
      const run = (args: readonly string[], preload?: string) =>
        spawnSync(
          process.execPath,
          [
            "--trace-exit",
            ...(preload === undefined
              ? []
              : ["--import", `data:text/javascript,${encodeURIComponent(preload)}`]),
            NX_BIN,
            ...args,
          ],
          { cwd: REPO_ROOT, encoding: "utf8" },
        );
      const hello = ["run", examplePath("hello"), "--datastore-path", join(dir.path, "data")];
      const early =
        'process.on("exit", (code) => process.stderr.write("early listener ran, code " + code + "\\n"));';
      const plain = run(hello, early);
      assert.equal(plain.status, 0, plain.stderr);
      assert.match(plain.stderr, /hello from hello/);
      assert.match(plain.stderr, /early listener ran, code 0\n/);
      assert.match(plain.stderr, /Exited the environment with code 0/);
      const failed = run(["run", join(dir.path, "missing.wasm")]);
      assert.equal(failed.status, 2);
      assert.match(failed.stderr, /Exited the environment with code 2/);
      // An earlier listener's process.exitCode is the exit code, as with Node's own exit.
      const changed = run(hello, 'process.on("exit", () => { process.exitCode = 3; });');
      assert.equal(changed.status, 3, changed.stderr);
      // A listener added after main() returned (here while 'beforeExit' runs) runs too: no early exit.
      const late = run(
        hello,
        'process.once("beforeExit", () => process.on("exit", () => process.stderr.write("late listener ran\\n")));',
      );
      assert.equal(late.status, 0, late.stderr);
      assert.match(late.stderr, /late listener ran\n/);
      assert.doesNotMatch(late.stderr, /Exited the environment/);
    } finally {
      dir.remove();
    }
  });

  test("a bad flag, command or missing argument is one nx: error line and exit 2", () => {
    for (const [args, expected] of [
      [["run", "--bogus", "x.wasm"], "nx: error: unknown option '--bogus' (see --help)\n"],
      [["frobnicate"], "nx: error: unknown command 'frobnicate' (see --help)\n"],
      [
        ["run"],
        'nx: error: nothing to run: name a module (nx run app.wasm) or list modules in numax.toml as [[modules]] path = "app.wasm"\n',
      ],
    ] as const) {
      const result = spawnSync(process.execPath, [NX_BIN, ...args], { cwd: REPO_ROOT, encoding: "utf8" });
      assert.equal(result.status, 2, args.join(" "));
      assert.equal(result.stderr, expected);
      assert.equal(result.stdout, "");
    }
  });
});
