/**
 * The runtime as a user gets it: `npm pack` of this repository, installed with
 * `npm install ./numax-<version>.tgz` into an empty temporary directory, run with the installed
 * command only: no checkout, no TypeScript sources, nothing of this repository on PATH but the
 * Node 26 binary that `npm ci` put here (standing in for a Node 26 the user installed).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { installPackedRuntime, NPM_TIMEOUT_MS, packRuntime } from "../../scripts/packed-runtime.ts";
import { examplePath, pollUntil, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";
import { type SyncNode, syncNodeTracker } from "../helpers/sync-node.ts";

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
    timeout: NPM_TIMEOUT_MS,
  });
}

before(() => {
  const tarball = packRuntime(root.path);
  assert.equal(tarball, join(root.path, `numax-${VERSION}.tgz`));
  const mode = installPackedRuntime(project, tarball, { ...process.env, ...userEnv });
  process.stdout.write(`# installed with npm install ${mode}\n`);
  // A module with its policy beside it (docs/design/policies.md), as a user ships it.
  for (const name of ["hello", "distributed_counter"]) {
    copyFileSync(examplePath(name), join(project, `${name}.wasm`));
    copyFileSync(examplePath(name).replace(/\.wasm$/, ".policy.toml"), join(project, `${name}.policy.toml`));
  }
});

after(async () => {
  await nodes.stopAll();
  root.remove();
});

/** A way the user runs Numax: the command, and the environment it runs in. */
interface Installed {
  readonly label: string;
  readonly command: string;
  readonly env: Record<string, string>;
}

const npmInstalled: Installed = { label: "npm", command: numax, env: userEnv };

async function syncsTwoNodes(installed: Installed): Promise<void> {
  const launch = { command: installed.command, cwd: project };
  const a = await nodes.node({
    datastore: join(root.path, `${installed.label}-a`),
    guest: "distributed_counter.wasm",
    env: { ...installed.env, NX_VISITS: "1" },
    installed: launch,
  });
  const b = await nodes.node({
    datastore: join(root.path, `${installed.label}-b`),
    guest: "distributed_counter.wasm",
    peers: [a.port],
    env: { ...installed.env, NX_VISITS: "2" },
    installed: launch,
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
}

async function shutsDownGracefully(installed: Installed, signal: "SIGTERM" | "SIGINT"): Promise<void> {
  const datastore = join(root.path, `${installed.label}-${signal}`);
  const n = await nodes.node({
    datastore,
    guest: "distributed_counter.wasm",
    env: { ...installed.env, NX_VISITS: "1" },
    args: ["--log-level", "debug"],
    installed: { command: installed.command, cwd: project },
  });
  await pollUntil(
    () => n.gcounter("visits"),
    (v) => v === 1n,
    15_000,
  );
  // The spawned process is the node itself (a shebang or the executable): no npm in between.
  n.nx.child.kill(signal);
  const exit = await n.nx.exited;
  nodes.forget(n);
  assert.deepEqual(exit, { code: 0, signal: null }, n.nx.stderr());
  assert.match(n.nx.stderr(), new RegExp(`INFO {2}shutting down signal=${signal} `));
  assert.ok(n.nx.stderr().includes(` DEBUG store: store closed path=${datastore}\n`), n.nx.stderr());
}

describe("the packed runtime installed into an empty directory", { timeout: 180_000 }, () => {
  test("ships the bundle, not the sources, and both command names", () => {
    const installed = join(project, "node_modules/numax");
    assert.ok(existsSync(join(installed, "build/cli/main.cjs")));
    assert.ok(existsSync(join(installed, "build/cli/rest.cjs")));
    assert.ok(existsSync(join(installed, "build/cli/lmdb-commit-worker.js")));
    assert.equal(existsSync(join(installed, "src")), false);
    for (const name of ["numax", "nx"]) {
      const version = inProject("npx", [name, "--version"]);
      assert.equal(version.stdout, `${VERSION}\n`, `npx ${name} --version: ${version.stderr}`);
    }
  });

  test("ships the SDK package: exactly its own files, and numax new writes a project that depends on it and builds", () => {
    const sdkPack = JSON.parse(
      execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
        cwd: join(REPO_ROOT, "sdk"),
        encoding: "utf8",
        timeout: NPM_TIMEOUT_MS,
      }),
    ) as { name: string; files: { path: string }[] }[];
    assert.equal(sdkPack[0]!.name, "numax-sdk");
    const installedSdk = join(project, "node_modules/numax/sdk");
    const shipped = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((entry) => entry.isFile())
        .map((entry) => relative(installedSdk, join(entry.parentPath, entry.name)))
        .sort();
    assert.deepEqual(shipped(installedSdk), sdkPack[0]!.files.map((file) => file.path).sort());
    const parent = join(root.path, "guest-projects");
    mkdirSync(parent);
    const created = spawnSync(numax, ["new", "app"], {
      cwd: parent,
      env: { ...process.env, ...userEnv },
      encoding: "utf8",
    });
    assert.equal(created.status, 0, created.stderr);
    const app = join(parent, "app");
    const manifest = JSON.parse(readFileSync(join(app, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    assert.equal(manifest.devDependencies["numax-sdk"], `file:${installedSdk}`);
    const npm = (args: readonly string[]) =>
      spawnSync("npm", args, {
        cwd: app,
        env: { ...process.env, ...userEnv },
        encoding: "utf8",
        timeout: NPM_TIMEOUT_MS,
      });
    const install = npm(["install", "--prefer-offline", "--no-audit", "--no-fund"]);
    assert.equal(install.status, 0, install.stderr);
    const build = npm(["run", "build"]);
    assert.equal(build.status, 0, build.stdout + build.stderr);
    assert.ok(existsSync(join(app, "build/app.wasm")));
  });

  test("a global install gives the numax command", () => {
    const prefix = join(root.path, "global");
    installPackedRuntime(
      prefix,
      join(root.path, `numax-${VERSION}.tgz`),
      { ...process.env, ...userEnv },
      {
        global: true,
      },
    );
    const run = inProject(join(prefix, "bin/numax"), ["run", "--management-listen", "off", "hello.wasm"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /INFO {2}guest\.hello: hello from hello\n/);
  });

  test("npx numax run hello.wasm runs the guest", () => {
    const run = inProject("npx", ["numax", "run", "--management-listen", "off", "hello.wasm"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /INFO {2}guest\.hello: hello from hello\n/);
  });

  test("two installed nodes sync a counter (LMDB store and commit worker from the package)", () =>
    syncsTwoNodes(npmInstalled));

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} to the installed command shuts the node down gracefully`, () =>
      shutsDownGracefully(npmInstalled, signal));
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

describe("the standalone executable", {
  timeout: 180_000,
  skip: `${process.platform}-${process.arch}` !== "linux-x64" && "built and tested on Linux x64 only",
}, () => {
  const executable = join(root.path, "numax-linux-x64");
  /** No node on PATH at all, and a cache of its own to unpack into. */
  const noNode = join(root.path, "no-node-bin");
  const standalone: Installed = {
    label: "executable",
    command: executable,
    env: { PATH: noNode, XDG_CACHE_HOME: join(root.path, "cache") },
  };

  before(() => {
    mkdirSync(noNode);
    execFileSync(process.execPath, ["scripts/build-executable.ts", "--out", executable], {
      cwd: REPO_ROOT,
      timeout: NPM_TIMEOUT_MS,
    });
  });

  test("runs a guest with no node on PATH", () => {
    assert.notEqual(inProject("/bin/sh", ["-c", "command -v node"], standalone.env).status, 0);
    const run = inProject(executable, ["run", "--management-listen", "off", "hello.wasm"], standalone.env);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /INFO {2}guest\.hello: hello from hello\n/);
    assert.equal(inProject(executable, ["--version"], standalone.env).stdout, `${VERSION}\n`);
  });

  test("a cache it cannot unpack into is one line and exit 2", () => {
    const file = join(root.path, "not-a-directory");
    writeFileSync(file, "");
    const run = inProject(executable, ["--version"], { ...standalone.env, XDG_CACHE_HOME: file });
    assert.equal(run.status, 2);
    assert.match(
      run.stderr,
      /^nx: error: cannot unpack the runtime into \S+\/numax\/\S+: ENOTDIR: .*; set XDG_CACHE_HOME to a writable directory\n$/,
    );
  });

  test("two executable nodes sync a counter", () => syncsTwoNodes(standalone));

  test("SIGTERM to the executable shuts the node down gracefully", () =>
    shutsDownGracefully(standalone, "SIGTERM"));
});
