/**
 * The node does not depend on the CLI: nothing under src/node/ imports from src/cli/ (statically
 * or dynamically). The CLI parses a command line and calls the node; the node is also what
 * tests, benchmarks and later a management API start without a command line.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./helpers/nx-process.ts";

/** Static, side-effect, type and dynamic imports and re-exports with a literal specifier. */
const IMPORT_SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)"([^"]+)"/g;

/** Comments may quote import syntax. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** `file imports target` lines for every import in `fromDir` that resolves into `intoDir`. */
function importsInto(fromDir: string, intoDir: string): string[] {
  return sourceFiles(fromDir).flatMap((file) =>
    [...withoutComments(readFileSync(file, "utf8")).matchAll(IMPORT_SPECIFIER)]
      .map(([, specifier]) => specifier!)
      .filter((specifier) => specifier.startsWith("."))
      .filter((specifier) => !relative(intoDir, resolve(dirname(file), specifier)).startsWith(".."))
      .map((specifier) => `${relative(REPO_ROOT, file)} imports ${specifier}`),
  );
}

test("nothing in src/node imports from src/cli", () => {
  assert.deepEqual(importsInto(join(REPO_ROOT, "src/node"), join(REPO_ROOT, "src/cli")), []);
});

test("no module outside src/cli imports from it (the CLI is the outermost layer)", () => {
  const layers = readdirSync(join(REPO_ROOT, "src"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== "cli")
    .map((entry) => join(REPO_ROOT, "src", entry.name));
  assert.deepEqual(
    layers.flatMap((dir) => importsInto(dir, join(REPO_ROOT, "src/cli"))),
    [],
  );
});

test("the check sees an import into src/cli (src/cli imports src/node)", () => {
  assert.ok(importsInto(join(REPO_ROOT, "src/cli"), join(REPO_ROOT, "src/node")).length > 0);
});

test("the WebAssembly runtime (src/wasm) imports neither the node nor its event layer", () => {
  const wasm = join(REPO_ROOT, "src/wasm");
  assert.deepEqual(
    ["node", "events", "sync"].flatMap((layer) => importsInto(wasm, join(REPO_ROOT, "src", layer))),
    [],
  );
});
