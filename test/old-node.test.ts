/**
 * The entry points an older Node may be asked to run (the machine's own `node`, not the Node 26
 * that npm ci installs) refuse in one line with exit 2 instead of a stack trace.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { REPO_ROOT } from "./helpers/nx-process.ts";

const SYSTEM_NODE = "/usr/bin/node";

function olderSystemNode(): string | undefined {
  if (!existsSync(SYSTEM_NODE)) return undefined;
  const version = execFileSync(SYSTEM_NODE, ["--version"], { encoding: "utf8" }).trim();
  return Number(version.slice(1).split(".")[0]) < 26 ? version : undefined;
}

const older = olderSystemNode();

for (const [entry, args, line] of [
  [
    "bin/nx.js",
    ["run", "examples/hello/build/hello.wasm"],
    /^nx: error: Numax needs Node\.js 26 or newer, this is v\d+\.\d+\.\d+; run it as `npx nx`/,
  ],
  [
    "examples/run-cluster.mjs",
    ["--all"],
    /^run-cluster: Numax needs Node\.js 26 or newer, this is v\d+\.\d+\.\d+; use `npm run demo:examples`/,
  ],
  [
    "examples/collaborative_todo/demo.mjs",
    [],
    /^todo-demo: Numax needs Node\.js 26 or newer, this is v\d+\.\d+\.\d+; use `npm run demo`/,
  ],
] as const) {
  test(`${entry} on an older Node: one line, exit 2`, {
    skip: older === undefined && `no Node older than 26 at ${SYSTEM_NODE}`,
  }, () => {
    const result = spawnSync(SYSTEM_NODE, [entry, ...args], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, line);
    assert.equal(result.stderr.split("\n").length, 2, `more than one line:\n${result.stderr}`);
  });
}
