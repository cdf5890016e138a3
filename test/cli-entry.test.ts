import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { NX_BIN, REPO_ROOT } from "./helpers/nx-process.ts";

const nx = (args: readonly string[], env: Record<string, string> = {}) =>
  execFileSync(process.execPath, [NX_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
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
    const bundleMs = statSync(join(REPO_ROOT, "build/cli/main.js")).mtimeMs;
    assert.ok(
      bundleMs >= newestMs(join(REPO_ROOT, "src")),
      "build/cli is older than src/: run `npm run build:cli` (npm test does it first)",
    );
    for (const args of [["--help"], ["run", "--help"], ["--version"]]) {
      assert.equal(nx(args), nx(args, { NX_FROM_SOURCE: "1" }), `nx ${args.join(" ")}`);
    }
  });

  test("a bad flag, command or missing argument is one nx: error line and exit 2", () => {
    for (const [args, expected] of [
      [["run", "--bogus", "x.wasm"], "nx: error: unknown option '--bogus' (see --help)\n"],
      [["frobnicate"], "nx: error: unknown command 'frobnicate' (see --help)\n"],
      [["run"], "nx: error: missing required argument 'modules' (see --help)\n"],
    ] as const) {
      const result = spawnSync(process.execPath, [NX_BIN, ...args], { cwd: REPO_ROOT, encoding: "utf8" });
      assert.equal(result.status, 2, args.join(" "));
      assert.equal(result.stderr, expected);
      assert.equal(result.stdout, "");
    }
  });
});
