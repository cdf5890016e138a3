/**
 * The runtime as a user gets it: `npm pack` of this repository, installed with
 * `npm install ./numax-<version>.tgz` into an empty temporary directory, run with the installed
 * command only: no checkout, no TypeScript sources, nothing of this repository on PATH but the
 * Node 26 binary that `npm ci` put here (standing in for a Node 26 the user installed).
 *
 * The tarball holds the bundle in build/cli/ as `npm test` (pretest) built it; packing skips the
 * `prepare` rebuild so that no bundle is replaced under tests running in parallel.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { examplePath, pollUntil, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";
import { type SyncNode, syncNodeTracker } from "../helpers/sync-node.ts";

/** Packing and an install from the npm cache take a few seconds; a cold registry fetch longer. */
const INSTALL_TIMEOUT_MS = 120_000;
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string })
  .version;

const root = tempDir("nx-installed-");
const project = join(root.path, "project");
/** PATH of a machine with Node 26 installed and no Numax checkout. */
const USER_PATH = `${dirname(process.execPath)}:/usr/bin:/bin`;
const userEnv = { PATH: USER_PATH };
const numax = join(project, "node_modules/.bin/numax");
const nodes = syncNodeTracker();

/** Runs `file` in the project directory as its user would (their PATH, `env` on top). */
function inProject(file: string, args: readonly string[], env: Record<string, string> = userEnv) {
  return spawnSync(file, args, {
    cwd: project,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: INSTALL_TIMEOUT_MS,
  });
}

/**
 * `npm install` from the local npm cache alone (`--offline`) when it holds every package
 * document; else `--prefer-offline`: tarballs from the cache, package documents the cache lacks
 * from the registry (after which `--offline` works).
 */
function npmInstall(tarball: string): string {
  const install = (mode: string) => inProject("npm", ["install", mode, "--no-audit", "--no-fund", tarball]);
  const offline = install("--offline");
  if (offline.status === 0) return "--offline";
  assert.match(offline.stderr, /ENOTCACHED/, `npm install --offline failed:\n${offline.stderr}`);
  const preferOffline = install("--prefer-offline");
  assert.equal(preferOffline.status, 0, `npm install --prefer-offline failed:\n${preferOffline.stderr}`);
  return "--prefer-offline";
}

before(() => {
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", root.path], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: INSTALL_TIMEOUT_MS,
    }),
  ) as { filename: string }[];
  assert.equal(packed[0]!.filename, `numax-${VERSION}.tgz`);
  mkdirSync(project);
  const mode = npmInstall(`../numax-${VERSION}.tgz`);
  process.stdout.write(`# installed with npm install ${mode}\n`);
  for (const name of ["hello", "distributed_counter"]) {
    copyFileSync(examplePath(name), join(project, `${name}.wasm`));
  }
});

after(async () => {
  await nodes.stopAll();
  root.remove();
});

describe("the packed runtime installed into an empty directory", { timeout: 180_000 }, () => {
  test("ships the bundle, not the sources, and both command names", () => {
    const installed = join(project, "node_modules/numax");
    assert.ok(existsSync(join(installed, "build/cli/main.js")));
    assert.ok(existsSync(join(installed, "build/cli/lmdb-commit-worker.js")));
    assert.equal(existsSync(join(installed, "src")), false);
    for (const name of ["numax", "nx"]) {
      const version = inProject("npx", [name, "--version"]);
      assert.equal(version.stdout, `${VERSION}\n`, `npx ${name} --version: ${version.stderr}`);
    }
  });

  test("npx numax run hello.wasm runs the guest", () => {
    const run = inProject("npx", ["numax", "run", "--management-listen", "off", "hello.wasm"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /INFO {2}guest\.hello: hello from hello\n/);
  });

  test("two installed nodes sync a counter (LMDB store and commit worker from the package)", async () => {
    const installed = { command: numax, cwd: project };
    const a = await nodes.node({
      datastore: join(root.path, "a"),
      guest: "distributed_counter.wasm",
      env: { ...userEnv, NX_VISITS: "1" },
      installed,
    });
    const b = await nodes.node({
      datastore: join(root.path, "b"),
      guest: "distributed_counter.wasm",
      peers: [a.port],
      env: { ...userEnv, NX_VISITS: "2" },
      installed,
    });
    for (const n of [a, b] satisfies SyncNode[]) {
      const visits = await pollUntil(
        () => n.gcounter("visits"),
        (v) => v === 3n,
        15_000,
      );
      assert.equal(visits, 3n, `node ${n.nodeId}`);
    }
    for (const n of [a, b]) assert.equal((await nodes.stop(n)).code, 0);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} to the installed command shuts the node down gracefully`, async () => {
      const n = await nodes.node({
        datastore: join(root.path, signal),
        guest: "distributed_counter.wasm",
        env: { ...userEnv, NX_VISITS: "1" },
        args: ["--log-level", "debug"],
        installed: { command: numax, cwd: project },
      });
      await pollUntil(
        () => n.gcounter("visits"),
        (v) => v === 1n,
        15_000,
      );
      // The spawned process is the node itself: the command's shebang runs Node, no npm between.
      n.nx.child.kill(signal);
      const exit = await n.nx.exited;
      nodes.forget(n);
      assert.deepEqual(exit, { code: 0, signal: null }, n.nx.stderr());
      assert.match(n.nx.stderr(), new RegExp(`INFO {2}shutting down signal=${signal} `));
      assert.ok(
        n.nx.stderr().includes(` DEBUG store: store closed path=${join(root.path, signal)}\n`),
        n.nx.stderr(),
      );
    });
  }

  test("on a Node older than 26 the installed command says so in one line", {
    skip: !existsSync("/usr/bin/node") && "no /usr/bin/node",
  }, (t) => {
    const version = execFileSync("/usr/bin/node", ["--version"], { encoding: "utf8" }).trim();
    if (Number(version.slice(1).split(".")[0]) >= 26) return t.skip(`/usr/bin/node is ${version}`);
    const run = inProject(numax, ["run", "hello.wasm"], { PATH: "/usr/bin:/bin" });
    assert.equal(run.status, 2);
    assert.equal(
      run.stderr,
      `nx: error: Numax needs Node.js 26 or newer, this is ${version}; install Node.js 26 or newer (https://nodejs.org) and put it first on PATH\n`,
    );
  });
});
