/**
 * Hot reload in the module host, in process against a real node (LMDB on disk, sync on a real
 * socket, HTTP on a real socket): add, reload and remove (docs/hot-reload.md).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ModuleHostComponent } from "../../src/node/module-host.ts";
import type { NumaxNode } from "../../src/node/numax-node.ts";
import { compileWat, type LogRecord } from "../abi/harness.ts";
import { startReloadNode } from "./reload-node.ts";
import { versionedGuest } from "./versioned-guest.ts";

const utf8 = new TextEncoder();

describe("hot reload on a running node", () => {
  let dir: string;
  let node: NumaxNode;
  let host: ModuleHostComponent;
  let base: string;
  let appPath: string;
  const records: LogRecord[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "nx-reload-"));
    appPath = join(dir, "app.wasm");
    writeFileSync(appPath, await versionedGuest({ version: "v1", tickMs: 20, countTicks: true }));
    mkdirSync(join(dir, "web"));
    writeFileSync(join(dir, "web", "index.html"), "app ui");
    node = await startReloadNode({
      dir,
      appPath,
      records,
      flags: { "network.listen": "127.0.0.1:0", "tls.insecure": true },
      // [modules.app] static: app's own directory, beside app.wasm.
      moduleStaticMounts: new Map([["app", [{ path: "/ui/*", directory: "web" }]]]),
    });
    host = node.modules!;
    base = node.serve!.listeners[0]!.url;
    await until(() => stored("init-v1"));
  });

  after(async () => {
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = (key: string): boolean => node.guestStore!.exists(utf8.encode(key));
  const ticks = (version: string): bigint => node.crdt!.gcounterValue(`ticks-${version}`);
  const get = async (path: string): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, text: await response.text() };
  };
  const warnings = (): string[] => records.filter((r) => r.level === "warn").map((r) => r.message);

  test("the new code serves new requests at once, in-flight ones finish on the old, shutdown then init", async () => {
    assert.deepEqual(await get("/version"), { status: 200, text: "v1" });
    await until(() => ticks("v1") > 0n);
    // A request in flight on v1 while the module is reloaded.
    const slow = get("/slow");
    await until(() => stored("slow-v1"));
    const { reloadMs } = await host.reload(
      "app",
      await versionedGuest({ version: "v2", tickMs: 20, countTicks: true }),
    );
    assert.ok(reloadMs < 1000, `the reload took ${reloadMs} ms`);
    assert.deepEqual(await get("/version"), { status: 200, text: "v2" });
    assert.deepEqual(
      await slow,
      { status: 200, text: "v1" },
      "the request in flight finished on the old code",
    );
    // The old code's shutdown ran, then the new code's init; the routes are the new code's.
    assert.ok(stored("shutdown-v1") && stored("init-v2"));
    assert.equal((await get("/only-v1")).status, 404);
    assert.deepEqual(await get("/only-v2"), { status: 200, text: "v2" });
    // The store and the CRDTs are untouched: v1's ticks stay, v2 ticks on its own.
    const v1Ticks = ticks("v1");
    await until(() => ticks("v2") > 0n);
    assert.equal(ticks("v1"), v1Ticks, "no tick of the old code after the reload");
    const [app] = host.loaded();
    assert.equal(app!.reloads, 1);
    assert.equal(app!.events?.state, "running");
  });

  test("code that fails to load or validate is refused with one line; the old code goes on", async () => {
    const refusals: [Uint8Array, string][] = [
      [utf8.encode("not a module"), "MODULE_NOT_WASM"],
      [await versionedGuest({ version: "v9", fault: "mistyped-callback" }), "MODULE_BAD_CALLBACK"],
      [await versionedGuest({ version: "v9", fault: "missing-import" }), "MODULE_UNKNOWN_IMPORT"],
    ];
    for (const [bytes, code] of refusals) {
      const before = warnings().length;
      await assert.rejects(host.reload("app", bytes), { code });
      const lines = warnings().slice(before);
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0]!, /^reload of module app refused: module \S+app\.wasm /);
      assert.deepEqual(await get("/version"), { status: 200, text: "v2" });
    }
    await assert.rejects(
      host.reload("app", await compileWat('(module (memory (export "memory") 1) (func (export "run")))')),
      {
        code: "MODULE_KIND_CHANGED",
      },
    );
    await assert.rejects(host.reload("nope"), { code: "MODULE_NOT_FOUND" });
    assert.equal(host.loaded()[0]!.reloads, 1, "a refused reload is no reload");
    assert.equal(host.loaded()[0]!.events?.state, "running");
  });

  test("a reload without bytes reads the module's file again", async () => {
    writeFileSync(appPath, await versionedGuest({ version: "v3" }));
    await host.reload("app");
    assert.deepEqual(await get("/version"), { status: 200, text: "v3" });
    assert.ok(stored("shutdown-v2") && stored("init-v3"));
  });

  test("add starts a module with its routes; one whose routes clash is refused; remove runs shutdown", async () => {
    // Same routes as app: refused by serving, nothing added.
    await assert.rejects(host.add({ id: "other", bytes: await versionedGuest({ version: "o1" }) }), {
      code: "SERVE_DUPLICATE_ROUTE",
    });
    assert.deepEqual(
      host.loaded().map((module) => module.id),
      ["app"],
    );
    const added = await host.add({
      id: "other",
      bytes: await versionedGuest({ version: "o1", prefix: "/other" }),
    });
    assert.equal(added.id, "other");
    assert.equal(added.events?.state, "running");
    assert.ok(stored("init-o1"));
    assert.deepEqual(await get("/other/version"), { status: 200, text: "o1" });
    await assert.rejects(host.add({ id: "other", bytes: await versionedGuest({ version: "o2" }) }), {
      code: "MODULE_EXISTS",
    });
    // A reload whose routes clash with app's is refused; the old routes stay.
    await assert.rejects(host.reload("other", await versionedGuest({ version: "o2" })), {
      code: "SERVE_DUPLICATE_ROUTE",
    });
    assert.deepEqual(await get("/other/version"), { status: 200, text: "o1" });
    await host.remove("other");
    assert.ok(stored("shutdown-o1"));
    assert.equal((await get("/other/version")).status, 404);
    assert.deepEqual(await get("/version"), { status: 200, text: "v3" });
    assert.deepEqual(
      host.loaded().map((module) => module.id),
      ["app"],
    );
  });

  test("a module given up after crashes is started again by a reload", async () => {
    await host.add({
      id: "crashy",
      bytes: await versionedGuest({ version: "k1", prefix: "/k", fault: "trap-in-init" }),
    });
    const crashy = () => host.loaded().find((module) => module.id === "crashy")!;
    await until(() => crashy().events?.state === "crashed");
    await host.reload(
      "crashy",
      await versionedGuest({ version: "k2", prefix: "/k", tickMs: 20, countTicks: true }),
    );
    assert.equal(crashy().events?.state, "running");
    assert.ok(stored("init-k2"));
    await until(() => ticks("k2") > 0n);
    assert.deepEqual(await get("/k/version"), { status: 200, text: "k2" });
    await host.remove("crashy");
  });

  test("a module added while a --serve listener serves gets its events and host-call counts", async () => {
    // Serving runs the added module's `routes` before the host holds it: the environment that
    // run builds is the one its processes keep.
    await host.add({
      id: "ticker",
      bytes: await versionedGuest({ version: "t1", prefix: "/t", tickMs: 20, countTicks: true }),
    });
    await until(() => ticks("t1") > 0n);
    assert.deepEqual(await get("/t/version"), { status: 200, text: "t1" });
    const ticker = host.loaded().find((module) => module.id === "ticker")!;
    assert.ok(ticker.hostCalls.total() > 0);
    await host.remove("ticker");
  });

  test("a module that only serves (no run, no callbacks) is added, reloaded and removed", async () => {
    const serveOnly = (version: string) =>
      compileWat(`(module
        (import "nx" "route_add" (func $route_add (param i32 i32 i32 i32 i32 i32) (result i32)))
        (import "nx" "resp_write" (func $resp_write (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "GET/so/versionversion${version}")
        (func (export "routes") (drop (call $route_add (i32.const 16) (i32.const 3) (i32.const 19) (i32.const 11) (i32.const 30) (i32.const 7))))
        (func (export "version") (drop (call $resp_write (i32.const 37) (i32.const 2)))))`);
    const added = await host.add({ id: "serve-only", bytes: await serveOnly("s1") });
    assert.equal(added.events?.reactive, false);
    assert.deepEqual(await get("/so/version"), { status: 200, text: "s1" });
    await host.reload("serve-only", await serveOnly("s2"));
    assert.deepEqual(await get("/so/version"), { status: 200, text: "s2" });
    await host.remove("serve-only");
    assert.equal((await get("/so/version")).status, 404);
    assert.ok(!host.loaded().some((module) => module.id === "serve-only"));
  });

  test("removing the last module does not end the node: it runs until interrupted", async () => {
    assert.deepEqual(await get("/ui/"), { status: 200, text: "app ui" });
    await host.remove("app");
    // Its own static directory goes with it, like its routes.
    assert.equal((await get("/ui/")).status, 404);
    // Added again under its id, it gets its directory back; removed, it loses it again.
    await host.add({ id: "app", bytes: await versionedGuest({ version: "v4" }) });
    assert.deepEqual(await get("/ui/"), { status: 200, text: "app ui" });
    await host.remove("app");
    assert.equal((await get("/ui/")).status, 404);
    assert.deepEqual(host.loaded(), []);
    const ended = host.ended.then((outcome) => outcome);
    // Were it to end, it would by the time a timer fires: every run has ended already.
    const early = await Promise.race([
      ended,
      new Promise((resolve) => setTimeout(() => resolve("running"), 100)),
    ]);
    assert.equal(early, "running");
    assert.equal((await get("/version")).status, 404);
    host.interrupt("the test");
    const outcome = await ended;
    assert.ok(outcome.ok && outcome.results.every((result) => result.removed === true));
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
