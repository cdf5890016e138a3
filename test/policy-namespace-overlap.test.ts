/**
 * A shared glob may not reach into another module's namespace unless that module shares the
 * keys itself (docs/design/key-namespaces.md#shared-globs-and-other-namespaces), with real `nx`
 * child processes: refused at start with one line, refused at `POST /modules` whichever of the
 * two modules comes second and at a reload whose policy now reaches another's keys, and started
 * when the owner names the keys with a shared glob too.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { EXIT_OK, EXIT_USAGE } from "../src/cli/exit-codes.ts";
import { runNx } from "./fixtures/wasm/nx-process.ts";
import { writeFixture } from "./fixtures/wasm/wat-fixtures.ts";
import { managedNodeTracker } from "./helpers/management-node.ts";
import { tempDir } from "./helpers/nx-process.ts";
import { versionedGuest } from "./reload/versioned-guest.ts";

const DENY = { NX_POLICY_DEFAULT: "deny" };
const WASM = "application/wasm";
const dir = tempDir("nx-namespace-overlap-");
const nodes = managedNodeTracker();
after(async () => {
  await nodes.stopAll();
  dir.remove();
});

function errorOf(body: unknown): { code: string; message: string } {
  return (body as { error: { code: string; message: string } }).error;
}

describe("shared globs and other modules' namespaces", () => {
  test("a shared glob reaching a module's private keys is refused at start; shared by its owner, it runs", async () => {
    const code = join(dir.path, "start");
    mkdirSync(code);
    await writeFixture(code, "db-write");
    await writeFixture(code, "db-read");
    const config = (todoWrites: string) =>
      [
        "[[modules]]",
        'path = "db-write.wasm"',
        'id = "todo"',
        `policy = { capabilities = { db = { write = ${todoWrites} } } }`,
        "",
        "[[modules]]",
        'path = "db-read.wasm"',
        'id = "spy"',
        'policy = { capabilities = { db = { read = ["/todo/*"] } } }',
        "",
      ].join("\n");
    writeFileSync(join(code, "numax.toml"), config('["*"]'));
    const args = ["run", "--config", join(code, "numax.toml"), "--datastore-path", join(code, "data")];
    const refused = await runNx(args, { cwd: code, env: DENY, timeoutMs: 60_000 });
    assert.equal(refused.code, EXIT_USAGE, refused.stderr);
    assert.equal(
      refused.stderr,
      `nx: error: ${join(code, "numax.toml")} [modules[1].policy]: db.read "/todo/*" of module spy reaches the private store keys of module todo (its namespace todo/); name keys outside todo/, or share them in todo's policy too (${join(code, "numax.toml")} [modules[0].policy]) with a shared glob such as "/todo/*"\n`,
    );
    // todo shares its keys itself: both run, and spy reads what todo wrote.
    writeFileSync(join(code, "numax.toml"), config('["*", "/todo/*"]'));
    const shared = await runNx(args, { cwd: code, env: DENY, timeoutMs: 60_000 });
    assert.equal(shared.code, EXIT_OK, shared.stderr);
  });

  test("a module with a policy named __nx (the runtime's namespace) is refused at start with the fix", async () => {
    const code = join(dir.path, "reserved");
    mkdirSync(code);
    await writeFixture(code, "db-write");
    const config = ["[[modules]]", 'path = "db-write.wasm"', 'id = "__nx"', ""].join("\n");
    // An [[modules]] id is checked for its characters already; a file name is not.
    writeFileSync(join(code, "numax.toml"), config);
    const named = await runNx(["run", "--config", join(code, "numax.toml")], {
      cwd: code,
      env: DENY,
      timeoutMs: 60_000,
    });
    assert.equal(named.code, EXIT_USAGE, named.stderr);
    assert.match(named.stderr, /modules\[0\]\.id/);
    rmSync(join(code, "numax.toml"));
    writeFileSync(join(code, "__nx.wasm"), readFileSync(join(code, "db-write.wasm")));
    writeFileSync(join(code, "__nx.policy.toml"), 'capabilities = { db = { write = ["*"] } }\n');
    const refused = await runNx(["run", join(code, "__nx.wasm"), "--datastore-path", join(code, "data")], {
      cwd: code,
      env: DENY,
      timeoutMs: 60_000,
    });
    assert.equal(refused.code, EXIT_USAGE, refused.stderr);
    assert.equal(
      refused.stderr,
      `nx: error: ${join(code, "__nx.policy.toml")}: module __nx would keep its keys under __nx/, the runtime's own namespace (every key refused); rename its .wasm file or give it another id in numax.toml [[modules]] id = "..."\n`,
    );
  });

  test("POST /modules refuses a module whose shared glob reaches a running one, and one whose namespace a running one's reaches", async () => {
    const code = join(dir.path, "api");
    mkdirSync(code);
    writeFileSync(join(code, "todo.wasm"), await versionedGuest({ version: "t1" }));
    writeFileSync(join(code, "watcher.wasm"), await versionedGuest({ version: "w1" }));
    writeFileSync(
      join(code, "numax.toml"),
      [
        "[modules.todo]",
        'policy = { capabilities = { db = { write = ["*"] } } }',
        "",
        "[modules.spy]",
        'policy = { capabilities = { db = { write = ["*"], read = ["/todo/*"] } } }',
        "",
        "[modules.later]",
        'policy = { capabilities = { db = { write = ["*"] }, crdt = { gcounter = ["*"] } } }',
        "",
      ].join("\n"),
    );
    // Beside watcher.wasm: read again at each load, so a reload brings its changes.
    const watcherPolicy = '[capabilities]\ndb.write = ["*"]\ncrdt.gcounter = ["/later/*"]\n';
    writeFileSync(join(code, "watcher.policy.toml"), watcherPolicy);
    const node = await nodes.node({
      datastore: join(dir.path, "api-data"),
      modules: [join(code, "todo.wasm"), join(code, "watcher.wasm")],
      sync: false,
      args: ["--config", join(code, "numax.toml")],
      env: DENY,
    });
    const spy = await node.api("POST", "/modules?id=spy", {
      body: await versionedGuest({ version: "s1" }),
      contentType: WASM,
    });
    assert.equal(spy.status, 422, JSON.stringify(spy.body));
    assert.equal(errorOf(spy.body).code, "MODULE_INVALID");
    assert.match(
      errorOf(spy.body).message,
      /db\.read "\/todo\/\*" of module spy reaches the private store keys of module todo \(its namespace todo\/\)/,
    );
    const later = await node.api("POST", "/modules?id=later", {
      body: await versionedGuest({ version: "l1" }),
      contentType: WASM,
    });
    assert.equal(later.status, 422, JSON.stringify(later.body));
    assert.match(
      errorOf(later.body).message,
      /crdt\.gcounter "\/later\/\*" of module watcher reaches the private CRDT keys of module later \(its namespace later\/\)/,
    );
    // A reload whose policy now reaches todo's keys is refused; the running code goes on.
    writeFileSync(join(code, "watcher.policy.toml"), `${watcherPolicy}db.read = ["/todo/*"]\n`);
    const reload = await node.api("POST", "/modules/watcher/reload");
    assert.equal(reload.status, 422, JSON.stringify(reload.body));
    assert.match(
      errorOf(reload.body).message,
      /db\.read "\/todo\/\*" of module watcher reaches the private store keys of module todo/,
    );
    const running = (await node.api("GET", "/modules")).body as { id: string; reloads: number }[];
    assert.deepEqual(running.map((module) => module.id).sort(), ["todo", "watcher"]);
    assert.equal(running.find((module) => module.id === "watcher")?.reloads, 0);
  });
});
