/**
 * package.json's runtime dependencies are exactly the packages the shipped code imports: every
 * `dependencies` entry is imported by src/ or bin/ (a dependency nothing imports only costs every
 * install), and everything they import is a runtime dependency or a Node built-in (a
 * devDependency would be missing under `npm ci --omit=dev`). Tests, benchmarks and scripts use
 * devDependencies.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./helpers/nx-process.ts";

/**
 * Static, side-effect and dynamic imports with a literal specifier, and `import.meta.resolve` of
 * one (the dashboard serves files of its packages).
 */
const IMPORT_SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\bimport\.meta\.resolve\(\s*)"([^"]+)"/g;

function shippedFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    // Test support in src/ (testing/ arbitraries, *.contract.ts suites) is imported only by tests.
    if (entry.isDirectory()) return entry.name === "testing" ? [] : shippedFiles(path);
    return /\.(ts|js)$/.test(entry.name) && !/\.(test|contract)\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** Comments may quote import syntax (a WAT module, a key range). */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for relative paths and built-ins. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("node:") || builtinModules.includes(specifier))
    return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

test("runtime dependencies are exactly the packages src/ and bin/ import", () => {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  const importers = new Map<string, string[]>();
  for (const file of [...shippedFiles(join(REPO_ROOT, "src")), ...shippedFiles(join(REPO_ROOT, "bin"))]) {
    for (const [, specifier] of withoutComments(readFileSync(file, "utf8")).matchAll(IMPORT_SPECIFIER)) {
      const name = packageOf(specifier!);
      if (name !== undefined)
        importers.set(name, [...(importers.get(name) ?? []), relative(REPO_ROOT, file)]);
    }
  }
  const runtime = Object.keys(manifest.dependencies).sort();
  const unused = runtime.filter((name) => !importers.has(name));
  assert.deepEqual(
    unused,
    [],
    `runtime dependencies nothing in src/ or bin/ imports (remove them or move them to devDependencies): ${unused.join(", ")}`,
  );
  const undeclared = [...importers].filter(([name]) => !runtime.includes(name));
  assert.deepEqual(
    undeclared,
    [],
    `packages src/ or bin/ imports that are not runtime dependencies: ${undeclared.map(([name, files]) => `${name} (${files[0]})`).join(", ")}`,
  );
});
