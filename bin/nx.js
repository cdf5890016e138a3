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
const {
  closeSync,
  existsSync,
  fstatSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} = process.getBuiltinModule("node:fs");
const { createRequire, enableCompileCache, getCompileCacheDir } = process.getBuiltinModule("node:module");
const { dirname, join } = process.getBuiltinModule("node:path");
const { fileURLToPath } = process.getBuiltinModule("node:url");
const inCheckout = existsSync(sourceDir);
enableCompileCache(compileCacheDirectory());

/**
 * The directory `enableCompileCache()` would choose (NODE_COMPILE_CACHE, else node-compile-cache
 * in os.tmpdir()), named here: without one, Node loads node:os for its tmpdir(), 0.2 ms of every
 * start. os.tmpdir() on POSIX is the first non-empty of TMPDIR, TMP and TEMP, else /tmp
 * (test/cli-entry.test.ts compares the two); on Windows Node still chooses.
 */
function compileCacheDirectory() {
  const { env } = process;
  if (env.NODE_COMPILE_CACHE) return env.NODE_COMPILE_CACHE;
  if (process.platform === "win32") return undefined;
  return join(env.TMPDIR || env.TMP || env.TEMP || "/tmp", "node-compile-cache");
}

/**
 * Newest modification time of the TypeScript sources the bundles are built from. The tests
 * beside them (`*.test.ts`, a quarter of the files) are not in a bundle and not stat'ed: each
 * stat is an object of its own, and the whole walk allocated over half a megabyte.
 */
function newestSourceMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(`${dir}/${entry.name}`));
    else if (!entry.name.endsWith(".test.ts"))
      newest = Math.max(newest, statSync(`${dir}/${entry.name}`).mtimeMs);
  }
  return newest;
}

/**
 * The bundles in build/cli/ (scripts/build-cli.ts, run by `npm ci`, `npm test` and `npm pack`)
 * start several times faster than ~160 separate source modules. In a checkout it is used only
 * while it is newer than every source file, so edits run at once, from source, until the next
 * build; an installed package has no sources and always runs the bundle. Returns its path, an
 * open descriptor and its stats, or undefined to run from source. Opened here, and read and
 * named (its code cache's key) by that descriptor: a bundle replaced meanwhile (an upgrade, a
 * rebuild) would have been read with the code cache of the one stat'ed, which V8 accepts when the
 * two have the same length, and run with the other's compiled functions.
 */
function bundleIfFresh() {
  const path = fileURLToPath(new URL("../build/cli/main.cjs", import.meta.url));
  if (inCheckout && process.env.NX_FROM_SOURCE === "1") return undefined;
  let fd;
  try {
    fd = openSync(path, "r");
    const stats = fstatSync(fd);
    if (!inCheckout || stats.mtimeMs >= newestSourceMs(sourceDir)) return { path, stats, fd };
  } catch {
    // Missing or unreadable: the sources run.
  }
  if (fd !== undefined) closeSync(fd);
  return undefined;
}

/** `run` for a run of modules, `other` for the rest (help included): each kind has its own code cache. */
function commandKind(argv) {
  return argv[2] === "run" && !argv.includes("--help") && !argv.includes("-h") ? "run" : "other";
}

/** A 32-bit FNV-1a hash: names a bundle's code cache file by the bundle's path. */
function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16);
}

/**
 * A digest of a code cache's bytes, checked before V8 sees them: V8 checks a cache's header (its
 * version, flags, source and length) but, in a release build, not the bytes after it, and bytes
 * changed on disk (a write torn by a power loss, a bad sector) crash it as it deserializes them
 * ("Fatal error: unreachable code"), at every start until the file is removed. A 64-bit
 * multiply-xor-rotate over the bytes from `$i` to `$n` in 8-byte words (each step a bijection of
 * the state, so any one changed word changes the digest), by this wasm function: the same loop in
 * JavaScript runs interpreted, ~2 ms for a 0.7 MB cache, and node:zlib's crc32 costs 2.5 ms to
 * load. The rotation is written as two shifts: V8's baseline compiler (Liftoff), which runs the
 * loop, calls a C function for each `i64.rotl` (the loop took twice as long).
 *
 * ```wat
 * (module
 *   (memory (export "m") 0)
 *   (func (export "h") (param $i i32) (param $n i32) (result i64) (local $h i64)
 *     (local.set $h (i64.const 0xcbf29ce484222325))
 *     (block $done
 *       (loop $l
 *         (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
 *         (local.set $h
 *           (i64.mul (i64.xor (local.get $h) (i64.load (local.get $i))) (i64.const 0x100000001b3)))
 *         (local.set $h
 *           (i64.or (i64.shl (local.get $h) (i64.const 29)) (i64.shr_u (local.get $h) (i64.const 35))))
 *         (local.set $i (i32.add (local.get $i) (i32.const 8)))
 *         (br $l)))
 *     (local.get $h)))
 * ```
 * test/cli-entry.test.ts compiles this text and checks it gives these bytes.
 */
const DIGEST_WASM = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7e, 0x03,
  0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x00, 0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x68, 0x00,
  0x00, 0x0a, 0x49, 0x01, 0x47, 0x01, 0x01, 0x7e, 0x42, 0xa5, 0xc6, 0x88, 0xa1, 0xc8, 0x9c, 0xa7, 0xf9, 0x4b,
  0x21, 0x02, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x20, 0x01, 0x4f, 0x0d, 0x01, 0x20, 0x02, 0x20, 0x00, 0x29,
  0x03, 0x00, 0x85, 0x42, 0xb3, 0x83, 0x80, 0x80, 0x80, 0x20, 0x7e, 0x21, 0x02, 0x20, 0x02, 0x42, 0x1d, 0x86,
  0x20, 0x02, 0x42, 0x23, 0x88, 0x84, 0x21, 0x02, 0x20, 0x00, 0x41, 0x08, 0x6a, 0x21, 0x00, 0x0c, 0x00, 0x0b,
  0x0b, 0x20, 0x02, 0x0b,
]);

/**
 * A fresh memory of {@link DIGEST_WASM} for `size` bytes: `bytes`, a Buffer over them (a code
 * cache is read straight into it: no copy to take its digest), and `digest(start, end)`, the
 * digest of the bytes from `start` to `end` in hex (the last word padded with the memory's zeros).
 */
function digestMemory(size) {
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(DIGEST_WASM));
  exports.m.grow(Math.ceil((size + 8) / 65536));
  return {
    bytes: Buffer.from(exports.m.buffer, 0, size),
    digest: (start, end) => BigInt.asUintN(64, exports.h(start, end)).toString(16),
  };
}

/** How a bundle starts: the function its text is (scripts/build-cli.ts), called with CommonJS's arguments. */
const BUNDLE_START = "(function (exports, require, module, __filename, __dirname) {";

/**
 * Runs a bundle (main.cjs or rest.cjs) as a classic script with a V8 code cache, with `module`
 * as its CommonJS `module`, and returns its exports. Node's
 * compile cache (on above, for the packages and the sources) caches a module as V8 compiled it
 * before running it: its top level only, so every start compiled each function of the run path
 * again as it was first called (~10 ms of CPU for `nx run`). This cache is taken at the end of a
 * run instead (`script.createCachedData()` then holds every function compiled so far), in Node's
 * compile cache directory (so NODE_COMPILE_CACHE moves it and NODE_DISABLE_COMPILE_CACHE turns it
 * off), one file per bundle and per kind of command (`run`, the rest), each starting with a line
 * naming the bundle (size, mtime, inode, change time) and the Node it was made by, and the digest
 * of the bytes after it (a cache whose bytes changed is not given to V8). The inode and change
 * time tell two installs apart: npm gives every file of every version the same mtime (1985-10-26)
 * and V8 checks only a source's length, so a release whose bundle had the previous one's size
 * ran the previous one's compiled code. It is written at the exit (code 0)
 * of a run that found it missing, stale or rejected by V8 (other V8 flags) and whose start-up no
 * signal stopped (`startupSignals`, {@link catchStartupSignals}), and read only when this user owns it.
 */
function runBundle({ path, stats, fd }, command, module, startupSignals) {
  const { Script, constants } = process.getBuiltinModule("node:vm");
  const directory = getCompileCacheDir();
  const cachePath = directory === undefined ? undefined : `${directory}/numax-cli-${fnv1a(path)}-${command}`;
  const key = `${process.version} ${process.arch} ${stats.size} ${stats.mtimeMs} ${stats.ino} ${stats.ctimeMs}`;
  const cachedData = cachePath === undefined ? undefined : readCodeCache(cachePath, key);
  // The file's text as read, not concatenated into another string: the bundle is written as
  // one function expression (scripts/build-cli.ts says why).
  const source = readFileSync(fd ?? path, "utf8");
  if (!source.startsWith(BUNDLE_START)) {
    process.stderr.write(
      `nx: error: ${path} was built by an older scripts/build-cli.ts; run \`npm run build:cli\`\n`,
    );
    process.exit(2);
  }
  const script = new Script(source, {
    filename: path,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cachePath !== undefined && (cachedData === undefined || script.cachedDataRejected)) {
    // Only a run that went well: a failed one may have stopped before most of its path, and so
    // has a node stopped by a signal before its modules ran (which exits 0): a cache is kept
    // while V8 accepts it, so one that lacks most of the run path would slow every later start.
    process.once("exit", (code) => {
      if (code === 0 && startupSignals?.stopped !== true)
        writeCodeCache(cachePath, key, script.createCachedData());
    });
  }
  script.runInThisContext()(module.exports, lazyRequire(path), module, path, dirname(path));
  return module.exports;
}

/**
 * Runs main.cjs, the bundle of the run path, and returns its exports. The rest of the CLI is in
 * rest.cjs beside it (scripts/build-cli.ts), run (with its own code cache) the first time
 * main.cjs imports a source it does not hold: `module.nxRest()`. rest.cjs takes the run path's
 * sources from main.cjs (`module.nxCore`, what its `coreModules()` returns), so each source has one instance. It is opened now and
 * read then: a rest.cjs replaced meanwhile (an upgrade, a rebuild: new files) is not the build
 * of this main.cjs, whose sources it would take by names that may have changed.
 */
function runBundles(bundle, command, startupSignals) {
  const restPath = `${dirname(bundle.path)}/rest.cjs`;
  let restFd;
  try {
    restFd = openSync(restPath, "r");
  } catch {
    // Missing: its first use fails below, with the reason.
  }
  let rest;
  const main = {
    exports: {},
    nxRest: () => {
      if (rest === undefined) {
        const fd = restFd ?? openSync(restPath, "r");
        restFd = undefined;
        const loaded = { exports: {}, nxCore: main.exports.coreModules() };
        try {
          runBundle({ path: restPath, stats: fstatSync(fd), fd }, command, loaded, startupSignals);
        } finally {
          closeSync(fd);
        }
        rest = loaded;
      }
      return rest.exports;
    },
  };
  try {
    return runBundle(bundle, command, main, startupSignals);
  } finally {
    closeSync(bundle.fd);
  }
}

/**
 * The bundle's `require`, made on its first use: the bundle calls it only to resolve the
 * dashboard's assets (its packages make their own), and createRequire costs about a
 * millisecond of every start (it resolves the path's node_modules lookup list).
 */
function lazyRequire(path) {
  let made;
  const real = () => {
    made ??= createRequire(path);
    return made;
  };
  const require = (id) => real()(id);
  require.resolve = (request, options) => real().resolve(request, options);
  return require;
}

/** The cache's bytes after its key line, or undefined when absent, stale, changed or not this user's. */
function readCodeCache(cachePath, key) {
  let fd;
  try {
    fd = openSync(cachePath, "r");
    const stats = fstatSync(fd);
    // On a shared temporary directory another user's file would be code run as this user.
    if (process.getuid !== undefined && stats.uid !== process.getuid()) return undefined;
    const { bytes, digest } = digestMemory(stats.size);
    let length = 0;
    for (let read = -1; read !== 0 && length < bytes.length; length += read) {
      read = readSync(fd, bytes, length, bytes.length - length, null);
    }
    const lineEnd = bytes.indexOf(0x0a);
    const line = lineEnd < 0 || lineEnd >= length ? "" : bytes.toString("latin1", 0, lineEnd);
    if (!line.startsWith(`${key} `)) return undefined;
    // Given to V8 where it was read: V8 copies a cache whose first byte is not on an 8-byte
    // boundary (the memory's start is), which writeCodeCache's padding of the key line avoids.
    const data = bytes.subarray(lineEnd + 1, length);
    if (line.slice(key.length + 1).trimEnd() !== digest(lineEnd + 1, length)) return undefined;
    // Its modification time says when a start last used it (removeUnusedCodeCaches). A cache
    // whose use cannot be recorded (a read-only directory) is used all the same.
    // Date.now(), not a Date: the first Date a process makes reads the local time zone, 0.1 ms.
    const nowSeconds = Date.now() / 1000;
    if (nowSeconds * 1000 - stats.mtimeMs > CODE_CACHE_USE_RECORDED_MS) {
      try {
        futimesSync(fd, nowSeconds, nowSeconds);
      } catch {}
    }
    return data;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes beside and renames: concurrent starts never read half a cache. A cache is optional: errors are dropped. */
function writeCodeCache(cachePath, key, data) {
  const partial = `${cachePath}.${process.pid}`;
  try {
    mkdirSync(dirname(cachePath), { recursive: true, mode: 0o700 });
    // A new file only ("wx"): in a shared temporary directory another user may have put a file
    // or a symlink at this name, and writing through it would overwrite one of this user's files.
    const memory = digestMemory(data.length);
    memory.bytes.set(data);
    const line = `${key} ${memory.digest(0, data.length)}`;
    // Spaces up to the 8-byte boundary before the bytes (readCodeCache says why).
    const header = `${line.padEnd(Math.ceil((line.length + 1) / 8) * 8 - 1)}\n`;
    const bytes = Buffer.concat([Buffer.from(header, "latin1"), data]);
    writeFileSync(partial, bytes, { flag: "wx", mode: 0o600 });
    renameSync(partial, cachePath);
    removeUnusedCodeCaches(dirname(cachePath));
  } catch (error) {
    // Not written: the next start compiles again. A partial file of ours does not stay.
    if (error?.code !== "EEXIST") {
      try {
        unlinkSync(partial);
      } catch {}
    }
  }
}

/**
 * A code cache no start has used for this long is removed: it belongs to a bundle deleted or
 * replaced (an uninstalled or upgraded package, a removed checkout or temporary install), whose
 * file would otherwise stay in the compile cache directory for good (~0.5 MB each). A start that
 * uses a cache records it in the file's modification time at most once per
 * {@link CODE_CACHE_USE_RECORDED_MS}, so a cache in use is at most that much older than its last use.
 */
const CODE_CACHE_UNUSED_MS_MAX = 30 * 24 * 60 * 60 * 1000;

/** How stale a used cache's modification time may get before a start sets it again (one write a day at most). */
const CODE_CACHE_USE_RECORDED_MS = 24 * 60 * 60 * 1000;

/**
 * Removes this user's code caches (and partial files of interrupted writes) in `directory` unused
 * for {@link CODE_CACHE_UNUSED_MS_MAX}. Run after a cache is written, which happens after an
 * install, an upgrade or a build: not on the common path.
 */
function removeUnusedCodeCaches(directory) {
  const now = Date.now();
  for (const name of readdirSync(directory)) {
    if (!name.startsWith("numax-cli-")) continue;
    const path = `${directory}/${name}`;
    try {
      // lstat: a symlink planted in a shared directory is not followed, nor removed.
      const stats = lstatSync(path);
      const mine = process.getuid === undefined || stats.uid === process.getuid();
      if (stats.isFile() && mine && now - stats.mtimeMs > CODE_CACHE_UNUSED_MS_MAX) unlinkSync(path);
    } catch {
      // Removed meanwhile by another start, or not ours to remove.
    }
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
  const { resolve } = process.getBuiltinModule("node:path");
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

/**
 * SIGINT and SIGTERM that come while `nx run` loads (the bundle, its arguments, the configuration),
 * before runModules has its own handlers: recorded, where the signal's default action killed the
 * process, and handed to runModules (`take()`), which stops the start-up gracefully as for a
 * signal at its first line (exit 1 for a run that ends by itself, 0 for a node that runs until
 * stopped; test/signal-at-start.test.ts, "a signal while nx run loads"). Node's own start before
 * this line keeps the default action: nothing of the run exists yet. Other commands keep it
 * throughout; a run refused for its command line or configuration exits with that error, the
 * signals recorded dropped. `stopped` is set when runModules reports that a signal (these or a
 * later one) stopped the start-up: no code cache is written then (runBundle).
 */
function catchStartupSignals(command) {
  if (command !== "run") return undefined;
  const received = [];
  const record = (signal) => received.push(signal);
  process.on("SIGINT", record);
  process.on("SIGTERM", record);
  const signals = {
    stopped: false,
    take() {
      process.off("SIGINT", record);
      process.off("SIGTERM", record);
      return received;
    },
    startupStopped() {
      signals.stopped = true;
    },
  };
  return signals;
}

startCpuProfile(process.argv);
const command = commandKind(process.argv);
const startupSignals = catchStartupSignals(command);
const bundle = bundleIfFresh();
const { main } =
  bundle === undefined ? await import("../src/cli/main.ts") : runBundles(bundle, command, startupSignals);
process.exitCode = await main(process.argv, startupSignals);
process.on("exit", exitWithoutTeardown);

/**
 * Ends the process once it exits by itself, without Node's teardown of the environment and its
 * heap (1.5-2 ms of CPU for `nx run`, more than for `node -e 0`: the CLI's heap is larger).
 * When 'exit' is emitted the event loop is empty and 'beforeExit' has run, so nothing is left but
 * the other 'exit' listeners (the code cache's writer, the store's exit commit, `--cpu-prof`);
 * this one is added after `main()` returns, so they run before it, and it does nothing when one
 * was added after it (`process.exit()` here would skip that one). Native addons' cleanup hooks
 * do not run, as after any `process.exit()`: the store is closed before `main()` returns.
 */
function exitWithoutTeardown() {
  // No argument: process.exitCode as the earlier listeners left it (Node exits with that too).
  if (process.listeners("exit").at(-1) === exitWithoutTeardown) process.exit();
}
