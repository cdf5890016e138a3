// Entry of the standalone executable (scripts/build-executable.ts): Node's single executable
// application, carrying the installed runtime (node_modules/ of `npm install numax-<version>.tgz`)
// as one asset. The runtime needs real files: LMDB's native addon is loaded from disk, the
// commit worker is started from a file, and the bundle imports its chunks. So the first start
// unpacks the runtime into the user's cache, once per build, and every start imports bin/nx.js
// from there.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { getAsset } from "node:sea";
import { pathToFileURL } from "node:url";

/** Written by scripts/build-executable.ts: `{ version, sha256, files: [{ path, size, mode }] }`. */
const index = JSON.parse(getAsset("runtime.json", "utf8"));
const cacheRoot = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "numax");
const runtimeDir = join(cacheRoot, `${index.version}-${index.sha256.slice(0, 16)}`);

/** Writes the runtime beside its final place and renames it into place. */
function unpackRuntime() {
  // A start that is killed half way, or two first starts at once, never leave a partial runtime
  // in use.
  const partial = `${runtimeDir}.partial-${process.pid}`;
  const bytes = new Uint8Array(getAsset("runtime.bin"));
  let offset = 0;
  for (const file of index.files) {
    const path = join(partial, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes.subarray(offset, offset + file.size), { mode: file.mode });
    offset += file.size;
  }
  try {
    renameSync(partial, runtimeDir);
  } catch (error) {
    // Another first start finished first: use its copy.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(runtimeDir)) throw error;
  }
}

if (!existsSync(runtimeDir)) {
  try {
    unpackRuntime();
  } catch (error) {
    process.stderr.write(
      `nx: error: cannot unpack the runtime into ${runtimeDir}: ${error.message}; set XDG_CACHE_HOME to a writable directory\n`,
    );
    process.exit(2);
  }
}

// The main script of an executable can import() only built-in modules; a module loaded from
// disk imports with the ordinary loader, so the runtime's entry is imported through one.
const importFromDisk = createRequire(join(runtimeDir, "/"))("./import-from-disk.cjs");
await importFromDisk(pathToFileURL(join(runtimeDir, "node_modules/numax/bin/nx.js")).href);
