/**
 * `nx new` and `nx dev` as a user runs them (docs/hot-reload.md): the scaffolds build and run
 * with their two commands, and `nx dev` rebuilds and hot-reloads on a change, shows a failed
 * build as one block and keeps serving the code it runs.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { NX_BIN, tempDir } from "../helpers/nx-process.ts";

const dirs: { remove(): void }[] = [];
const children = new Set<ChildProcess>();
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of dirs) dir.remove();
});

/** The environment a user with Node 26 on PATH has (the scaffolds run `node`, `nx`, `asc`). */
const ENV = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` };
const hasClang = spawnSync("clang", ["--version"]).status === 0;

function nxNew(parent: string, args: readonly string[]): string {
  return execFileSync(process.execPath, [NX_BIN, "new", ...args], {
    cwd: parent,
    env: ENV,
    encoding: "utf8",
  });
}

/** A long-running command with its output collected; `waitFor` matches stdout+stderr. */
function launch(command: string, args: readonly string[], cwd: string) {
  const child = spawn(command, args, { cwd, env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.add(child);
  let output = "";
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    output: () => output,
    /** The `n`th match of `pattern` in the output (already there or to come). */
    waitFor(pattern: RegExp, n = 1, timeoutMs = 60_000): Promise<RegExpMatchArray> {
      const global = new RegExp(pattern.source, `${pattern.flags.replace("g", "")}g`);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern} (#${n}) in:\n${output}`));
        }, timeoutMs);
        const check = () => {
          const found = [...output.matchAll(global)];
          if (found.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found[n - 1]!);
        };
        waiters.add(check);
        check();
      });
    },
    /** Stops the whole process group (npm, make and the nx they started). */
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGTERM");
      await exited;
      children.delete(child);
    },
  };
}

async function get(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200);
  return response.text();
}

const SERVING = /serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/;

describe("nx new", () => {
  test("refuses a name that cannot be a module id, and a directory that is not empty", () => {
    const parent = tempDir("nx-new-");
    dirs.push(parent);
    const bad = spawnSync(process.execPath, [NX_BIN, "new", "Bad Name"], {
      cwd: parent.path,
      env: ENV,
      encoding: "utf8",
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^nx: error: "Bad Name" cannot name a project: use 1 to 64 lowercase letters/);
    nxNew(parent.path, ["app", "--lang", "c"]);
    const again = spawnSync(process.execPath, [NX_BIN, "new", "app"], {
      cwd: parent.path,
      env: ENV,
      encoding: "utf8",
    });
    assert.equal(again.status, 2);
    assert.match(again.stderr, /app exists and is not empty/);
  });

  test("--lang c: `make` and `make run` build and serve it", { skip: !hasClang && "no clang" }, async () => {
    const parent = tempDir("nx-new-c-");
    dirs.push(parent);
    const said = nxNew(parent.path, ["capp", "--lang", "c"]);
    assert.match(said, /build and run it:\n {2}cd capp\n {2}make\n {2}make run\n/);
    const dir = join(parent.path, "capp");
    execFileSync("make", [], { cwd: dir, env: ENV, stdio: "ignore" });
    const run = launch("make", ["run", "SERVE=127.0.0.1:0"], dir);
    const url = (await run.waitFor(SERVING))[1]!;
    assert.equal(await get(`${url}/`), "hello from capp\n");
    await run.stop();
  });

  test("assemblyscript (default): `npm install` and `npm start` build and serve it", async (t) => {
    const parent = tempDir("nx-new-as-");
    dirs.push(parent);
    const said = nxNew(parent.path, ["asapp"]);
    assert.match(said, /build and run it:\n {2}cd asapp\n {2}npm install\n {2}npm start\n/);
    const dir = join(parent.path, "asapp");
    const install = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
      cwd: dir,
      env: ENV,
      encoding: "utf8",
      timeout: 120_000,
    });
    // The scaffold needs assemblyscript from the registry (or npm's cache): not there, not tested.
    if (
      install.status !== 0 &&
      /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT/.test(install.stderr)
    ) {
      t.skip(`npm cannot reach the registry: ${install.stderr.split("\n")[0]}`);
      return;
    }
    assert.equal(install.status, 0, install.stderr);
    const start = launch("npm", ["start", "--", "--serve", "127.0.0.1:0"], dir);
    const url = (await start.waitFor(SERVING))[1]!;
    assert.equal(await get(`${url}/`), "hello from asapp (visit 1)\n");
    assert.equal(await get(`${url}/`), "hello from asapp (visit 2)\n");
    await start.stop();

    await t.test("nx dev rebuilds and hot-reloads it on a change of assembly/", async () => {
      const dev = launch(process.execPath, [NX_BIN, "dev", ".", "--serve", "127.0.0.1:0"], dir);
      const devUrl = (await dev.waitFor(SERVING))[1]!;
      assert.equal(await get(`${devUrl}/`), "hello from asapp (visit 3)\n", "the store outlived the restart");
      const source = join(dir, "assembly", "index.ts");
      writeFileSync(source, readFileSync(source, "utf8").replace("hello from", "hi from"));
      await dev.waitFor(/nx dev: built \S+ in \d+ ms, reloaded in \d+ ms/);
      assert.equal(await get(`${devUrl}/`), "hi from asapp (visit 4)\n", "new code, same store");
      await dev.stop();
    });

    await t.test("an edit made while nx dev starts the node is reloaded once the node runs", async () => {
      const dev = launch(process.execPath, [NX_BIN, "dev", ".", "--serve", "127.0.0.1:0"], dir);
      await dev.waitFor(/nx dev: running /);
      // The node reads the module now; this edit's build ends before or after it runs.
      const source = join(dir, "assembly", "index.ts");
      writeFileSync(source, readFileSync(source, "utf8").replace("hi from", "hey from"));
      const devUrl = (await dev.waitFor(SERVING))[1]!;
      await dev.waitFor(/nx dev: built \S+ in \d+ ms, reloaded in \d+ ms/);
      assert.match(await get(`${devUrl}/`), /^hey from asapp /);
      await dev.stop();
    });
  });
});

describe("nx dev", () => {
  test("rebuilds and reloads on a change; a failed build shows one block and the node keeps serving", {
    skip: !hasClang && "no clang",
  }, async () => {
    const parent = tempDir("nx-dev-");
    dirs.push(parent);
    nxNew(parent.path, ["live", "--lang", "c"]);
    const dir = join(parent.path, "live");
    const source = join(dir, "main.c");
    const dev = launch(
      process.execPath,
      [NX_BIN, "dev", dir, "--serve", "127.0.0.1:0", "--datastore-path", join(parent.path, "data")],
      parent.path,
    );
    const url = (await dev.waitFor(SERVING))[1]!;
    assert.match(dev.output(), /nx dev: built \S*live\.wasm in \d+ ms\n/);
    assert.equal(await get(`${url}/`), "hello from live\n");

    writeFileSync(source, readFileSync(source, "utf8").replace("hello from live", "edited live"));
    await dev.waitFor(/nx dev: built \S+ in \d+ ms, reloaded in \d+ ms/);
    assert.equal(await get(`${url}/`), "edited live\n");

    writeFileSync(
      source,
      readFileSync(source, "utf8").replace("nx_resp_write(TEXT(", "nx_resp_write(TEXT_BROKEN("),
    );
    const failed = await dev.waitFor(
      /nx dev: build failed \(the node goes on with the code it runs\):\n((?: {2}.*\n)+)/,
    );
    assert.match(failed[1]!, /main\.c:\d+:\d+: error: .*TEXT_BROKEN/);
    assert.equal(await get(`${url}/`), "edited live\n", "the node still serves the code it ran");

    writeFileSync(
      source,
      readFileSync(source, "utf8").replace("TEXT_BROKEN(", "TEXT(").replace("edited live", "fixed live"),
    );
    await dev.waitFor(/nx dev: built \S+ in \d+ ms, reloaded in \d+ ms/, 2);
    assert.equal(await get(`${url}/`), "fixed live\n");
    await dev.stop();
    assert.doesNotMatch(dev.output(), /nx: error/);
  });
});
