/**
 * Builds the standalone executable: Node's single executable application (`node --build-sea`,
 * built into Node 26, so no `postject`) made from this Node binary, bin/executable-main.mjs as its
 * main script, and the runtime installed from the packed tarball (scripts/packed-runtime.ts) as
 * one asset, which the executable unpacks into the user's cache on its first start.
 *   npm run build:executable [-- --out dist/numax-linux-x64]
 * It builds for the platform it runs on (the runtime's native LMDB addon is that platform's);
 * docs/install.md says how the other targets are built.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { installPackedRuntime, packRuntime } from "./packed-runtime.ts";

const REPO_ROOT = new URL("../", import.meta.url).pathname;

/** What bin/executable-main.mjs imports the runtime through (its own import() reaches only built-ins). */
const IMPORT_FROM_DISK = "module.exports = (url) => import(url);\n";

interface RuntimeFile {
  readonly path: string;
  readonly size: number;
  readonly mode: number;
}

/** Every regular file under `dir` (npm's .bin links left out: the executable is the command). */
function filesUnder(dir: string, relative: string): string[] {
  return readdirSync(join(dir, relative), { withFileTypes: true }).flatMap((entry) => {
    const path = join(relative, entry.name);
    if (entry.isDirectory()) return entry.name === ".bin" ? [] : filesUnder(dir, path);
    return entry.isFile() ? [path] : [];
  });
}

/**
 * Builds the executable at `output` from the runtime package `tarball` (by default a fresh
 * `npm pack` of this checkout); returns its size in bytes.
 */
export function buildExecutable(output: string, tarball?: string): number {
  const work = mkdtempSync(join(tmpdir(), "numax-executable-"));
  try {
    const project = join(work, "project");
    installPackedRuntime(project, tarball ?? packRuntime(work));
    const contents: Buffer[] = [];
    const files: RuntimeFile[] = [];
    const add = (path: string, bytes: Buffer, mode: number) => {
      contents.push(bytes);
      files.push({ path, size: bytes.length, mode });
    };
    for (const path of filesUnder(project, "node_modules")) {
      add(path, readFileSync(join(project, path)), lstatSync(join(project, path)).mode & 0o777);
    }
    add("import-from-disk.cjs", Buffer.from(IMPORT_FROM_DISK), 0o644);
    const runtime = Buffer.concat(contents);
    const { version } = JSON.parse(
      readFileSync(join(project, "node_modules/numax/package.json"), "utf8"),
    ) as {
      version: string;
    };
    const sha256 = createHash("sha256").update(runtime).digest("hex");
    writeFileSync(join(work, "runtime.bin"), runtime);
    writeFileSync(join(work, "runtime.json"), JSON.stringify({ version, sha256, files }));
    mkdirSync(dirname(output), { recursive: true });
    const config = {
      main: join(REPO_ROOT, "bin/executable-main.mjs"),
      mainFormat: "module",
      output,
      disableExperimentalSEAWarning: true,
      assets: { "runtime.json": join(work, "runtime.json"), "runtime.bin": join(work, "runtime.bin") },
    };
    writeFileSync(join(work, "sea-config.json"), JSON.stringify(config));
    execFileSync(process.execPath, ["--build-sea", join(work, "sea-config.json")], { stdio: "ignore" });
    return statSync(output).size;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { out: { type: "string", default: `dist/numax-${process.platform}-${process.arch}` } },
  });
  const started = performance.now();
  const output = resolve(values.out);
  const sizeBytes = buildExecutable(output);
  process.stdout.write(
    `executable: ${output} (${(sizeBytes / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms\n`,
  );
}
