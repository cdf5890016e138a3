#!/usr/bin/env node
// Compiles the example guests and test guests to WebAssembly, skipping every module whose
// inputs did not change since its last build.
//
//   node scripts/build-guests.ts              build what changed (runs on `npm ci` and before `npm test`)
//   node scripts/build-guests.ts --force      rebuild everything
//   node scripts/build-guests.ts hello kv_counter    only these modules
//   node scripts/build-guests.ts --root DIR   build the guests of another tree laid out like this one
//
// Guests:
//   examples/<name>/assembly/index.ts  -> examples/<name>/build/<name>.wasm   (AssemblyScript)
//   examples/<name>/main.c             -> examples/<name>/build/<name>.wasm   (C, when clang can target wasm32)
//   bench/guests/<name>/...            -> bench/guests/<name>/build/<name>.wasm (the load gates' guests, same rules)
//   test/guests/<name>.ts, sdk/assemblyscript/tests/<name>.ts -> <dir>/build/<name>.wasm
//   test/guests/<name>.c               -> test/guests/build/<name>.wasm       (C, same rule)
//   examples/<name>/<name>.policy.toml -> examples/<name>/build/<name>.policy.toml (copied: nx run
//                                         finds a module's policy beside it, docs/design/policies.md)
// AssemblyScript options come from the guest's own asconfig.json (<project>/asconfig.json
// or <dir>/<name>.asconfig.json) when it has one, else from sdk/assemblyscript/asconfig.json.
//
// Up to date means: the output exists and a stamp next to it (<name>.inputs.json) records the
// same compiler, the same arguments and the same SHA-256 of every file the compiler read. The
// stamp is written only after a successful build, so an interrupted or failed build is redone.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CLANG_INSTALL_HINT, CLANG_WASM_FLAGS, CLANG_WASM_LINK_FLAGS } from "../src/dev/clang-wasm-flags.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SDK_ASCONFIG = "sdk/assemblyscript/asconfig.json";
const TEST_GUEST_DIRS = ["test/guests", "sdk/assemblyscript/tests"];
/** Folders whose subfolders are guest projects: <name>/assembly/index.ts or <name>/main.c. */
const PROJECT_GUEST_DIRS = ["examples", "bench/guests"];
const C_FLAGS = [...CLANG_WASM_FLAGS, "-Isdk/c"];
const C_LINK_FLAGS = CLANG_WASM_LINK_FLAGS;

type Language = "assemblyscript" | "c";

interface Guest {
  name: string;
  language: Language;
  /** Paths relative to the tree's root, with forward slashes. */
  sources: string[];
  output: string;
  /** AssemblyScript only: the asconfig.json that holds the compiler options. */
  config?: string;
  /** The project's policy file, copied beside the output. */
  policy?: string;
}

interface Stamp {
  compiler: string;
  args: string[];
  /** Tree-relative path -> SHA-256 hex of every file the compiler read inside the tree. */
  files: Record<string, string>;
}

/** A guest that did not compile; the message is the compiler's diagnostics. */
class CompileError extends Error {}

/** The source tree being built: file access relative to its root, with memoised hashes. */
class Tree {
  readonly root: string;
  readonly #hashes = new Map<string, string | undefined>();

  constructor(root: string) {
    this.root = root;
  }

  path(relativePath: string): string {
    return join(this.root, relativePath);
  }

  exists(relativePath: string): boolean {
    return existsSync(this.path(relativePath));
  }

  list(dir: string): string[] {
    return this.exists(dir) ? readdirSync(this.path(dir)).sort() : [];
  }

  /** Tree-relative form of an absolute path, or undefined when it lies outside the tree. */
  relativeOf(absolute: string): string | undefined {
    const path = relative(this.root, absolute).replaceAll("\\", "/");
    return path.startsWith("../") || path === ".." ? undefined : path;
  }

  hash(relativePath: string): string | undefined {
    if (!this.#hashes.has(relativePath)) {
      let digest: string | undefined;
      try {
        digest = createHash("sha256")
          .update(readFileSync(this.path(relativePath)))
          .digest("hex");
      } catch {
        digest = undefined;
      }
      this.#hashes.set(relativePath, digest);
    }
    return this.#hashes.get(relativePath);
  }

  forgetHash(relativePath: string): void {
    this.#hashes.delete(relativePath);
  }

  /**
   * Writes through a temporary file and a rename, so that a reader (a test, another build
   * running at the same time) sees the old file or the new one, never half of one.
   */
  writeAtomically(relativePath: string, contents: string | Uint8Array): void {
    const target = this.path(relativePath);
    mkdirSync(dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, contents);
    renameSync(temporary, target);
  }
}

// --- discovery ------------------------------------------------------------------------------

function discoverGuests(tree: Tree): Guest[] {
  const guests: Guest[] = [];
  for (const projects of PROJECT_GUEST_DIRS) {
    for (const name of tree.list(projects)) {
      const dir = `${projects}/${name}`;
      const output = `${dir}/build/${name}.wasm`;
      const policy = tree.exists(`${dir}/${name}.policy.toml`) ? `${dir}/${name}.policy.toml` : undefined;
      if (tree.exists(`${dir}/assembly/index.ts`)) {
        const own = `${dir}/asconfig.json`;
        const config = tree.exists(own) ? own : SDK_ASCONFIG;
        guests.push({
          name,
          language: "assemblyscript",
          sources: [`${dir}/assembly/index.ts`],
          output,
          config,
          policy,
        });
      } else if (tree.exists(`${dir}/main.c`)) {
        guests.push({ name, language: "c", sources: [`${dir}/main.c`], output, policy });
      }
    }
  }
  for (const dir of TEST_GUEST_DIRS) {
    for (const file of tree.list(dir)) {
      if (file.endsWith(".c")) {
        const name = file.slice(0, -2);
        guests.push({
          name,
          language: "c",
          sources: [`${dir}/${file}`],
          output: `${dir}/build/${name}.wasm`,
        });
        continue;
      }
      if (!file.endsWith(".ts") || file.endsWith(".d.ts")) continue;
      const name = file.slice(0, -3);
      const own = `${dir}/${name}.asconfig.json`;
      guests.push({
        name,
        language: "assemblyscript",
        sources: [`${dir}/${file}`],
        output: `${dir}/build/${name}.wasm`,
        config: tree.exists(own) ? own : SDK_ASCONFIG,
      });
    }
  }
  return guests;
}

/** Copies a project's policy beside its module when the copy is missing or differs. */
function copyPolicy(tree: Tree, policy: string, output: string): void {
  const target = tree.path(output.replace(/\.wasm$/, ".policy.toml"));
  const text = readFileSync(tree.path(policy));
  if (existsSync(target) && readFileSync(target).equals(text)) return;
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
}

// --- staleness ------------------------------------------------------------------------------

function stampPath(guest: Guest): string {
  return guest.output.replace(/\.wasm$/, ".inputs.json");
}

function isUpToDate(tree: Tree, guest: Guest, compiler: string, args: string[]): boolean {
  let stamp: Stamp;
  try {
    stamp = JSON.parse(readFileSync(tree.path(stampPath(guest)), "utf8")) as Stamp;
  } catch {
    return false;
  }
  if (stamp.compiler !== compiler || JSON.stringify(stamp.args) !== JSON.stringify(args)) return false;
  if (!tree.exists(guest.output)) return false;
  return Object.entries(stamp.files).every(([path, digest]) => tree.hash(path) === digest);
}

function writeStamp(tree: Tree, guest: Guest, compiler: string, args: string[], inputs: string[]): void {
  const files: Record<string, string> = {};
  for (const path of [...new Set(inputs)].sort()) {
    tree.forgetHash(path);
    const digest = tree.hash(path);
    if (digest !== undefined) files[path] = digest;
  }
  const stamp: Stamp = { compiler, args, files };
  tree.writeAtomically(stampPath(guest), `${JSON.stringify(stamp, null, 2)}\n`);
}

// --- AssemblyScript -------------------------------------------------------------------------

function ascVersion(): string {
  const manifest = JSON.parse(readFileSync(join(REPO, "node_modules/assemblyscript/package.json"), "utf8"));
  return `asc ${manifest.version as string}`;
}

function ascArgs(guest: Guest): string[] {
  return [
    ...guest.sources,
    "--config",
    guest.config ?? SDK_ASCONFIG,
    "--outFile",
    guest.output,
    "--noColors",
  ];
}

type AscModule = typeof import("assemblyscript/asc");
let ascModule: AscModule | undefined;

/** Compiles one AssemblyScript guest; returns the tree-relative files the compiler read. */
async function compileAssemblyScript(tree: Tree, args: string[]): Promise<string[]> {
  // Imported only when something must be built: loading the compiler takes a second or two.
  ascModule ??= await import("assemblyscript/asc");
  const read: string[] = [];
  const diagnostics: string[] = [];
  const sink = { write: (text: string | Uint8Array) => diagnostics.push(String(text)) };
  const { error } = await ascModule.main([...args, "--baseDir", tree.root], {
    stdout: sink as never,
    stderr: sink as never,
    readFile: (filename: string, baseDir: string) => {
      const absolute = resolve(baseDir, filename);
      let text: string;
      try {
        text = readFileSync(absolute, "utf8");
      } catch {
        return null;
      }
      const path = tree.relativeOf(absolute);
      if (path !== undefined) read.push(path);
      return text;
    },
    writeFile: (filename: string, contents: string | Uint8Array, baseDir: string) => {
      const path = tree.relativeOf(resolve(baseDir, filename));
      if (path === undefined) throw new CompileError(`refusing to write ${filename} outside the tree`);
      tree.writeAtomically(path, contents);
    },
  });
  if (error) throw new CompileError(diagnostics.join("").trim() || error.message);
  return read;
}

// --- C --------------------------------------------------------------------------------------

type ClangProbe = { version: string } | { missing: string };
let clangProbe: ClangProbe | undefined;

/** Whether clang can build wasm32 modules here, and its version line. */
function probeClang(): ClangProbe {
  if (clangProbe !== undefined) return clangProbe;
  const targets = spawnSync("clang", ["--print-targets"], { encoding: "utf8" });
  if (targets.error !== undefined || targets.status !== 0) {
    clangProbe = { missing: "clang is not installed" };
  } else if (!/\bwasm32\b/.test(targets.stdout)) {
    clangProbe = { missing: "this clang has no wasm32 target" };
  } else if (spawnSync("wasm-ld", ["--version"]).error !== undefined) {
    clangProbe = { missing: "wasm-ld (package lld) is not installed" };
  } else {
    const version = spawnSync("clang", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "clang";
    clangProbe = { version };
  }
  return clangProbe;
}

function cArgs(guest: Guest): string[] {
  return [...C_FLAGS, ...C_LINK_FLAGS, "-o", guest.output, ...guest.sources];
}

/** Compiles one C guest; returns the files it read inside the tree, from clang's dependency file. */
function compileC(tree: Tree, guest: Guest, args: string[]): string[] {
  const depFile = guest.output.replace(/\.wasm$/, ".d");
  // clang writes to a temporary name (its arguments end with "-o <output> <sources>") that is
  // renamed into place once it succeeded, like the AssemblyScript outputs.
  const temporary = `${guest.output}.${process.pid}.tmp`;
  const outputAt = args.indexOf(guest.output);
  const clangArgs = args.map((arg, i) => (i === outputAt ? temporary : arg));
  const result = spawnSync("clang", [...clangArgs, "-MD", "-MF", depFile], {
    cwd: tree.root,
    encoding: "utf8",
  });
  if (result.error !== undefined || result.status !== 0) {
    throw new CompileError((result.stderr || result.error?.message || "clang failed").trim());
  }
  renameSync(tree.path(temporary), tree.path(guest.output));
  // Headers outside the tree belong to the toolchain, whose version the stamp already records.
  return readFileSync(tree.path(depFile), "utf8")
    .replace(/\\\n/g, " ")
    .replace(/^[^:]*:/, "")
    .split(/\s+/)
    .filter((path) => path !== "")
    .flatMap((path) => tree.relativeOf(resolve(tree.root, path)) ?? []);
}

// --- driver ---------------------------------------------------------------------------------

interface Options {
  force: boolean;
  root: string;
  only: string[];
}

function parseArgs(argv: string[]): Options | string {
  const options: Options = { force: false, root: REPO, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--force") options.force = true;
    else if (arg === "--root") {
      const dir = argv[++i];
      if (dir === undefined) return "--root needs a directory";
      options.root = resolve(dir);
    } else if (arg.startsWith("-")) return `unknown option ${arg} (known: --force, --root DIR)`;
    else options.only.push(arg);
  }
  return options;
}

function sizeText(tree: Tree, path: string): string {
  const bytes = statSync(tree.path(path)).size;
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(argv: string[]): Promise<number> {
  const options = parseArgs(argv);
  if (typeof options === "string") {
    process.stderr.write(`build-guests: ${options}\n`);
    return 2;
  }
  const tree = new Tree(options.root);
  let guests = discoverGuests(tree);
  if (options.only.length > 0) {
    const unknown = options.only.filter((name) => !guests.some((guest) => guest.name === name));
    if (unknown.length > 0) {
      process.stderr.write(`build-guests: no guest named ${unknown.join(", ")}\n`);
      return 2;
    }
    guests = guests.filter((guest) => options.only.includes(guest.name));
  }

  const started = performance.now();
  const nameWidth = Math.max(0, ...guests.map((guest) => guest.name.length));
  const countWidth = String(guests.length).length;
  const failed: string[] = [];
  const skipped: string[] = [];
  let built = 0;
  const asc = ascVersion();
  for (const [index, guest] of guests.entries()) {
    const progress = `[${String(index + 1).padStart(countWidth)}/${guests.length}] ${guest.name.padEnd(nameWidth)}`;
    let compiler = asc;
    let args: string[];
    if (guest.language === "c") {
      const clang = probeClang();
      if ("missing" in clang) {
        skipped.push(`${guest.name} (${clang.missing})`);
        continue;
      }
      compiler = clang.version;
      args = cArgs(guest);
    } else {
      args = ascArgs(guest);
    }
    if (guest.policy !== undefined) copyPolicy(tree, guest.policy, guest.output);
    if (!options.force && isUpToDate(tree, guest, compiler, args)) continue;

    const guestStarted = performance.now();
    try {
      mkdirSync(tree.path(dirname(guest.output)), { recursive: true });
      const inputs =
        guest.language === "c" ? compileC(tree, guest, args) : await compileAssemblyScript(tree, args);
      writeStamp(tree, guest, compiler, args, inputs);
      built++;
      const ms = Math.round(performance.now() - guestStarted);
      process.stdout.write(
        `${progress}  built ${guest.output} (${sizeText(tree, guest.output)}) in ${ms} ms\n`,
      );
    } catch (error) {
      if (!(error instanceof CompileError)) throw error;
      failed.push(guest.name);
      process.stderr.write(
        `${progress}  FAILED to compile ${guest.sources.join(" ")}:\n${error.message}\n\n`,
      );
    }
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const upToDate = guests.length - built - failed.length - skipped.length;
  process.stdout.write(`guests: ${built} built, ${upToDate} up to date in ${seconds} s\n`);
  if (skipped.length > 0) {
    process.stdout.write(
      `guests: skipped C guest ${skipped.join(", ")}; to build C guests: ${CLANG_INSTALL_HINT}\n`,
    );
  }
  if (failed.length > 0) {
    process.stderr.write(`build-guests: ${failed.length} guest(s) failed to compile: ${failed.join(", ")}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
