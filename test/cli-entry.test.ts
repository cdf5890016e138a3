import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { NX_BIN, REPO_ROOT } from "./helpers/nx-process.ts";

const nx = (args: readonly string[], env: Record<string, string> = {}) =>
  execFileSync(process.execPath, [NX_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });

describe("the nx entry point", () => {
  test("the bundled CLI and the TypeScript sources behave the same", () => {
    for (const args of [["--help"], ["run", "--help"], ["--version"]]) {
      assert.equal(nx(args), nx(args, { NX_FROM_SOURCE: "1" }), `nx ${args.join(" ")}`);
    }
  });
});
